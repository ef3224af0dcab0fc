"""Train GLAI and its equal-parameter MLP on scikit-learn's digits and compare them."""

import time

import torch
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

import glai

features, labels = load_digits(return_X_y=True)
x = torch.tensor(features / 16.0, dtype=torch.float32)
y = torch.tensor(labels)
x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=0.25, random_state=0)
x_train, x_val, y_train, y_val = train_test_split(x_train, y_train, test_size=0.2, random_state=0)

mlp_width = 128
for name, model in [
    ("MLP", glai.MLP(64, mlp_width, 10)),
    ("GLAI", glai.GLAI(64, glai.matched_width(64, mlp_width, 10), 10)),
]:
    start = time.perf_counter()
    history = glai.fit(model, (x_train, y_train), (x_val, y_val), seed=0)
    seconds = time.perf_counter() - start
    accuracy = (model(x_test).argmax(1) == y_test).float().mean().item()
    print(
        f"{name:5s} parameters={glai.count_parameters(model):6d} "
        f"test accuracy={accuracy:.3f} epochs={len(history)} "
        f"switch epoch={history.switch_epoch} seconds={seconds:.2f}"
    )
