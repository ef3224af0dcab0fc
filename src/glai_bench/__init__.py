"""The experiment harness: demo, benchmark settings, plots and their data sets.

It sits beside the library, outside its import graph, and needs the ``bench`` extra
(scikit-learn, scipy, matplotlib, EfficientNet-Lite0).
"""
