"""``glai bench``: the paper's use cases measured against strong baselines on real data."""
