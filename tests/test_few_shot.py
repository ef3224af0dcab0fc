"""The few-shot classifier: easyfsl's protocol, accuracy on a separable episode, the
frozen backbone, determinism, and the support-set budget it trains with."""

import pytest
import torch
from torch import nn

import glai
from glai.few_shot import GLAIFewShotClassifier, fit_support_set

FEATURES, QUERIES = 16, 15
FAST = {"steps": 20}  # the protocol tests need a head, not a good one


def episode(ways=5, shots=5, labels=None, scale=4.0, seed=0):
    """Gaussian clusters, one per class: (support, support labels, query, query labels)."""
    generator = torch.Generator().manual_seed(seed)
    labels = torch.arange(ways) if labels is None else torch.tensor(labels)
    centres = scale * torch.randn(ways, FEATURES, generator=generator)
    support_index = torch.arange(ways).repeat(shots)
    query_index = torch.arange(ways).repeat(QUERIES)
    support = centres[support_index] + torch.randn(
        len(support_index), FEATURES, generator=generator
    )
    query = centres[query_index] + torch.randn(len(query_index), FEATURES, generator=generator)
    return support, labels[support_index], query, labels[query_index]


@pytest.mark.parametrize(
    "labels", [None, [7, 3, 11, 42, 5]], ids=["labels-0-to-4", "arbitrary-labels"]
)
def test_five_way_five_shot_queries_are_classified(labels):
    support, support_y, query, query_y = episode(labels=labels)
    classifier = GLAIFewShotClassifier()
    classifier.process_support_set(support, support_y)
    accuracy = (classifier.predict(query) == query_y).float().mean()
    assert accuracy > 0.9
    assert torch.equal(classifier.classes_, torch.unique(support_y))
    assert classifier.history_.switch_epoch <= 50  # at most half of the 100 steps


def test_forward_before_the_support_set_is_refused():
    with pytest.raises(RuntimeError, match="process_support_set"):
        GLAIFewShotClassifier()(torch.randn(3, FEATURES))


@pytest.mark.parametrize("ways", [2, 3, 5], ids=lambda w: f"{w}-way")
def test_n_way_comes_from_the_labels(ways):
    support, support_y, query, _ = episode(ways=ways, shots=2)
    classifier = GLAIFewShotClassifier(**FAST)
    classifier.process_support_set(support, 10 * support_y)
    assert classifier(query).shape == (len(query), ways)
    assert classifier.classes_.tolist() == [10 * c for c in range(ways)]
    assert classifier.head_.out_features == ways


def test_scores_are_probabilities_with_softmax():
    support, support_y, query, _ = episode(shots=2)
    classifier = GLAIFewShotClassifier(use_softmax=True, **FAST)
    classifier.process_support_set(support, support_y)
    torch.testing.assert_close(classifier(query).sum(1), torch.ones(len(query)))


def test_backbone_is_applied_and_not_trained():
    backbone = nn.Sequential(nn.Linear(FEATURES, 6), nn.BatchNorm1d(6), nn.Dropout(0.5))
    backbone.train()
    before = {k: v.clone() for k, v in backbone.state_dict().items()}
    support, support_y, query, _ = episode(shots=2)
    classifier = GLAIFewShotClassifier(backbone, **FAST)
    classifier.process_support_set(support, support_y)
    scores = classifier(query)
    assert classifier.head_.in_features == 6
    backbone.eval()
    with torch.no_grad():
        torch.testing.assert_close(scores, classifier.head_(backbone(query)))
    after = backbone.state_dict()
    assert all(torch.equal(before[k], after[k]) for k in before)  # running stats included
    assert all(p.grad is None for p in backbone.parameters())


def test_backbone_mode_is_restored():
    backbone = nn.Linear(FEATURES, 6).train()
    support, support_y, query, _ = episode(shots=2)
    classifier = GLAIFewShotClassifier(backbone, **FAST)
    classifier.process_support_set(support, support_y)
    classifier(query)
    assert backbone.training


@pytest.mark.parametrize("seed", [0, 1], ids=lambda s: f"seed-{s}")
def test_same_seed_same_head_and_callers_random_state_kept(seed):
    support, support_y, query, _ = episode(shots=2)
    state = torch.get_rng_state()
    scores = []
    for _ in range(2):
        classifier = GLAIFewShotClassifier(seed=seed, **FAST)
        classifier.process_support_set(support, support_y)
        scores.append(classifier(query))
    assert torch.equal(scores[0], scores[1])
    assert torch.equal(torch.get_rng_state(), state)
    other = GLAIFewShotClassifier(seed=seed + 2, **FAST)
    other.process_support_set(support, support_y)
    assert not torch.equal(other(query), scores[0])


@pytest.mark.parametrize(
    ("support_labels", "error", "match"),
    [
        (torch.zeros(10, dtype=torch.int64), ValueError, "at least 2 classes"),
        (torch.arange(10).float(), TypeError, "integers"),
        (torch.arange(9), ValueError, "9"),
        (torch.arange(10).reshape(5, 2), ValueError, "1-D"),
    ],
    ids=["one-class", "float-labels", "length-mismatch", "2-d-labels"],
)
def test_bad_support_labels_are_named(support_labels, error, match):
    with pytest.raises(error, match=match):
        GLAIFewShotClassifier(**FAST).process_support_set(torch.randn(10, FEATURES), support_labels)


@pytest.mark.parametrize(
    ("settings", "error"),
    [
        ({"epochs": 3}, TypeError),
        ({"validation_fraction": 0.2}, TypeError),
        ({"lrr": 1.0}, TypeError),
        ({"structural_lr": 1e-3}, TypeError),
        ({"steps": 1}, ValueError),
    ],
    ids=["epochs", "validation-fraction", "unknown", "structural-lr-twice", "one-step"],
)
def test_bad_settings_are_refused_at_construction(settings, error):
    with pytest.raises(error):
        GLAIFewShotClassifier(**settings)


def make_mlp():
    return glai.MLP(FEATURES, 8, 5)


def make_glai():
    return glai.GLAI(FEATURES, 8, 5)


@pytest.mark.parametrize(
    ("make", "two_phase", "switches"),
    [(make_mlp, False, False), (make_mlp, True, True), (make_glai, False, True)],
    ids=["mlp", "mlp-two-phase-schedule", "glai"],
)
@pytest.mark.parametrize("steps", [6, 11], ids=lambda s: f"{s}-steps")
def test_support_set_budget(make, two_phase, switches, steps):
    support, support_y, _, _ = episode(shots=2)
    history = fit_support_set(make(), support, support_y, steps, two_phase=two_phase, seed=0)
    assert all(record.val_metric is None for record in history)  # nothing held out
    assert len(history) == steps  # one full-batch step per epoch, both phases together
    assert {phase["solver"] for phase in history.phases()} == {"minibatch"}
    if switches:
        assert 1 <= history.switch_epoch <= steps // 2
    else:
        assert history.switch_epoch is None


def test_support_set_budget_trains_on_every_sample():
    support, support_y, _, _ = episode(ways=2, shots=1)  # two samples: none to spare
    model = glai.MLP(FEATURES, 8, 2)
    fit_support_set(model, support, support_y, 30, structural_lr=1e-2, seed=0)
    assert torch.equal(model(support).argmax(1), support_y)
