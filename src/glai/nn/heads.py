"""Projection heads of self-supervised learning, built as GLAI blocks.

Constructor arguments and layer layouts follow lightly's heads (``lightly.models.modules``)
so a GLAI head stands where one of those stands; lightly itself is not needed.
"""

from __future__ import annotations

from torch import nn

from glai.guards import check_positive_int
from glai.nn.block import GLAI


class SimCLRProjectionHead(GLAI):
    """SimCLR's projection head as a GLAI block: ``num_layers`` linear layers, each hidden
    one followed by BatchNorm1d (if ``batch_norm``) and ReLU, no norm on the output.

    Before the switch it is that MLP; :meth:`freeze_structure` folds the norms into the
    paths. Its ``state_dict`` keys are those of any :class:`glai.GLAI` of its shape, the
    same before and after the switch; :func:`glai.save` stores it as a GLAI.

    Args:
        input_dim: size of each input sample.
        hidden_dim: width of each hidden layer.
        output_dim: size of each output sample.
        num_layers: linear layers, at least 2 (``num_layers - 1`` hidden layers).
        batch_norm: whether each hidden layer has a BatchNorm1d.

    Shape:
        input ``(batch, input_dim)``, output ``(batch, output_dim)``.
    """

    def __init__(
        self,
        input_dim: int = 2048,
        hidden_dim: int = 2048,
        output_dim: int = 128,
        num_layers: int = 2,
        batch_norm: bool = True,
    ) -> None:
        check_positive_int(num_layers, "num_layers")
        if num_layers < 2:
            raise ValueError(
                f"num_layers must be at least 2 (a hidden layer and the output), got {num_layers}"
            )
        norm_layer = nn.BatchNorm1d if batch_norm else None
        super().__init__(
            input_dim, [hidden_dim] * (num_layers - 1), output_dim, norm_layer=norm_layer
        )


class BYOLProjectionHead(GLAI):
    """BYOL's projection (and prediction) head as a GLAI block: ``Linear, BatchNorm1d,
    ReLU, Linear`` (see :class:`SimCLRProjectionHead` for the switch and the keys).

    Args:
        input_dim: size of each input sample.
        hidden_dim: width of the hidden layer.
        output_dim: size of each output sample.

    Shape:
        input ``(batch, input_dim)``, output ``(batch, output_dim)``.
    """

    def __init__(
        self, input_dim: int = 2048, hidden_dim: int = 4096, output_dim: int = 256
    ) -> None:
        super().__init__(input_dim, hidden_dim, output_dim, norm_layer=nn.BatchNorm1d)
