"""Few-shot episodes: balanced sampling, the prototype baseline, the reported interval."""

import pytest
import torch

from glai_bench.fewshot import WAYS, _interval, protonet_accuracy, sample_episode


def test_episodes_are_balanced_and_relabelled():
    features = torch.randn(300, 4)
    labels = torch.arange(300) % 10
    support, support_y, query, query_y = sample_episode(
        features, labels, 3, torch.Generator().manual_seed(0)
    )
    assert support.shape == (WAYS * 3, 4) and query.shape == (WAYS * 15, 4)
    assert torch.bincount(support_y).tolist() == [3] * WAYS
    assert torch.bincount(query_y).tolist() == [15] * WAYS


def test_protonet_is_perfect_on_separated_classes():
    centres = torch.eye(WAYS) * 10
    support_y = torch.arange(WAYS).repeat(2)
    query_y = torch.arange(WAYS).repeat(3)
    episode = (centres[support_y], support_y, centres[query_y] + 0.1, query_y)
    assert protonet_accuracy(episode) == 1.0


def test_few_shot_interval_is_the_t_interval():
    mean, half = _interval([0.0, 1.0])
    # t(0.975, 1 degree of freedom) = 12.706; standard error 0.5
    assert mean == 0.5
    assert half == pytest.approx(12.706 * 0.5, rel=1e-4)
    assert _interval([0.8]) == (0.8, 0.0)
