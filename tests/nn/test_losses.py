import math

import pytest
import torch
import torch.nn.functional as F

from glai.nn.losses import nt_xent


def reference_nt_xent(a, b, temperature):
    """SimCLR's formulation with two (batch, dim) views, written out directly."""
    z = F.normalize(torch.cat([a, b]), dim=1)
    n = len(a)
    similarity = z @ z.T / temperature
    similarity.fill_diagonal_(float("-inf"))
    targets = torch.cat([torch.arange(n, 2 * n), torch.arange(n)])
    return F.cross_entropy(similarity, targets)


def test_two_views_equal_simclr():
    a, b = torch.randn(8, 5), torch.randn(8, 5)
    torch.testing.assert_close(
        nt_xent(torch.stack([a, b], 1), temperature=0.3), reference_nt_xent(a, b, 0.3)
    )


def test_identical_well_separated_views_have_low_loss():
    z = torch.eye(4) * 10
    separated = nt_xent(torch.stack([z, z], 1), temperature=0.1)
    shuffled = nt_xent(torch.stack([z, z.roll(1, 0)], 1), temperature=0.1)
    assert separated < 0.01 < shuffled


def test_more_views_average_over_positive_pairs():
    output = torch.randn(6, 3, 4)
    loss = nt_xent(output)
    assert math.isfinite(float(loss)) and loss > 0


def test_a_single_view_is_refused():
    with pytest.raises(ValueError, match="views >= 2"):
        nt_xent(torch.randn(4, 1, 3))
