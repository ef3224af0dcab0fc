"""Small synthetic problems shared by several test modules."""

import torch


def small_problem(n=200, features=6, classes=3):
    """``(x, y)``: Gaussian inputs, the class is the largest of the first features."""
    x = torch.randn(n, features)
    y = (x[:, :classes] + 0.1 * torch.randn(n, classes)).argmax(1)
    return x, y
