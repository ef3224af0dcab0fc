"""The ReLU MLP: GLAI's structure network and the baseline it is compared with."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import torch
from torch import nn

from glai.guards import as_widths, check_features, check_positive_int


class MLP(nn.Sequential):
    """A plain ReLU multilayer perceptron: ``Linear, ReLU, ..., Linear``.

    It is both the baseline GLAI is measured against and the ``structure`` inside a
    :class:`glai.GLAI`, so tests, benchmarks and users share one definition.

    Args:
        in_features: size of each input sample.
        hidden_features: width of the hidden layer, or a list of widths (depth >= 1).
        out_features: size of each output sample.
        bias: whether the linear layers learn an additive bias.
        device: device of the parameters.
        dtype: dtype of the parameters.

    Shape:
        input ``(batch, in_features)``, output ``(batch, out_features)``.
    """

    def __init__(
        self,
        in_features: int,
        hidden_features: int | Sequence[int],
        out_features: int,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        check_positive_int(in_features, "in_features")
        check_positive_int(out_features, "out_features")
        widths = as_widths(hidden_features)
        layers: list[nn.Module] = []
        previous = in_features
        for width in widths:
            layers += [nn.Linear(previous, width, bias, device, dtype), nn.ReLU()]
            previous = width
        layers.append(nn.Linear(previous, out_features, bias, device, dtype))
        super().__init__(*layers)

    @property
    def linears(self) -> list[nn.Linear]:
        """The linear layers in order, the output layer last."""
        return [module for module in self if isinstance(module, nn.Linear)]

    @property
    def in_features(self) -> int:
        return self.linears[0].in_features

    @property
    def hidden_features(self) -> list[int]:
        return [linear.out_features for linear in self.linears[:-1]]

    @property
    def out_features(self) -> int:
        return self.linears[-1].out_features

    @property
    def bias(self) -> bool:
        return self.linears[0].bias is not None

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, in_features) -> (batch, out_features)."""
        first = self[0]
        check_features(x, first.in_features, first.weight.dtype, device=first.weight.device)
        return super().forward(x)

    def pre_activations(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """Yield each hidden layer's pre-activation ``z_l``, each ``(batch, width_l)``."""
        first = self[0]
        check_features(x, first.in_features, first.weight.dtype, device=first.weight.device)
        return self.pre_activations_from(first(x))

    def pre_activations_from(self, first: torch.Tensor) -> Iterator[torch.Tensor]:
        """Yield ``first``, the first hidden layer's pre-activation ``z_1`` computed
        elsewhere, then those of the later hidden layers."""
        pre_activation = first
        yield pre_activation
        for linear in self.linears[1:-1]:
            pre_activation = linear(torch.relu(pre_activation))
            yield pre_activation

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, hidden_features={self.hidden_features}, "
            f"out_features={self.out_features}"
        )
