"""The ReLU MLP: GLAI's structure network and the baseline it is compared with."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from glai.guards import as_widths, check_features, check_kept_units, check_positive_int

NormFactory = Callable[..., nn.Module]


class MLP(nn.Sequential):
    """A plain ReLU multilayer perceptron: ``Linear, ReLU, ..., Linear``.

    It is both the baseline GLAI is measured against and the ``structure`` inside a
    :class:`glai.GLAI`, so tests, benchmarks and users share one definition. With a
    ``norm_layer`` (as in torchvision's ``ops.MLP``) each hidden layer is
    ``Linear, Norm, ReLU``; only ``nn.BatchNorm1d`` is accepted, the norm that is an
    affine map per unit in eval mode and so folds into GLAI's paths at the switch.
    Inputs with leading dimensions ``(batch, ..., features)`` are flattened to
    ``(samples, features)`` around each norm layer.

    Args:
        in_features: size of each input sample.
        hidden_features: width of the hidden layer, or a list of widths (depth >= 1).
        out_features: size of each output sample.
        bias: whether the linear layers learn an additive bias.
        device: device of the parameters.
        dtype: dtype of the parameters.
        norm_layer: ``nn.BatchNorm1d`` (or a ``functools.partial`` of it), called with a
            hidden width; ``None`` for no normalisation.

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
        *,
        norm_layer: NormFactory | None = None,
    ) -> None:
        check_positive_int(in_features, "in_features")
        check_positive_int(out_features, "out_features")
        widths = as_widths(hidden_features)
        layers: list[nn.Module] = []
        previous = in_features
        for width in widths:
            layers.append(nn.Linear(previous, width, bias, device, dtype))
            if norm_layer is not None:
                layers.append(_foldable_norm(norm_layer, width).to(device=device, dtype=dtype))
            layers.append(nn.ReLU())
            previous = width
        layers.append(nn.Linear(previous, out_features, bias, device, dtype))
        super().__init__(*layers)
        self.norm_layer = norm_layer

    @property
    def linears(self) -> list[nn.Linear]:
        """The linear layers in order, the output layer last."""
        return [module for module in self if isinstance(module, nn.Linear)]

    @property
    def norms(self) -> list[nn.BatchNorm1d | None]:
        """The norm layer of each hidden layer (``None`` for each without one)."""
        norms = [module for module in self if isinstance(module, nn.BatchNorm1d)]
        return norms or [None] * len(self.hidden_features)

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

    def reset_parameters(self) -> None:
        """Initialise every layer anew, in the constructor's order (the same draws under
        the same seed), norm statistics cleared; with ``to_empty(device=...)`` this makes
        real an MLP built on the meta device."""
        for layer in self:
            if isinstance(layer, (nn.Linear, nn.BatchNorm1d)):
                layer.reset_parameters()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (batch, in_features) or (batch, ..., in_features) -> (batch, ..., out_features).

        Norm layers follow their mode: batch statistics in train mode, running ones in eval.
        """
        first = self[0]
        check_features(x, first.in_features, first.weight.dtype, device=first.weight.device)
        for layer in self:
            x = _flat(layer, x) if isinstance(layer, nn.BatchNorm1d) else layer(x)
        return x

    def pre_activations(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """Yield each hidden layer's pre-activation ``z_l`` (what its ReLU reads: after the
        norm layer, with running statistics whatever the mode), each ``(batch, ..., width_l)``.
        """
        first = self[0]
        check_features(x, first.in_features, first.weight.dtype, device=first.weight.device)
        return self.pre_activations_from(first(x))

    def pre_activations_from(self, first: torch.Tensor) -> Iterator[torch.Tensor]:
        """Like :meth:`pre_activations`, from ``first``, the first linear layer's output
        ``x W_1^T + b_1`` computed elsewhere (it is normalised here when there is a norm)."""
        norms = self.norms
        pre_activation = _running(norms[0], first)
        yield pre_activation
        for linear, norm in zip(self.linears[1:-1], norms[1:]):
            pre_activation = _running(norm, linear(torch.relu(pre_activation)))
            yield pre_activation

    def affine_layers(self) -> list[tuple[torch.Tensor, torch.Tensor | None]]:
        """Each layer as the affine map ``z -> W z + b`` it applies in eval mode, a norm
        layer folded into the linear layer before it (``diag(s) W`` and
        ``s (b - mean) + beta`` with ``s = gamma / sqrt(var + eps)``).

        Returns:
            One ``(weight (out, in), bias (out,) or None)`` per linear layer, detached.
        """
        layers = []
        for linear, norm in zip(self.linears, [*self.norms, None]):
            weight = linear.weight.detach()
            bias = None if linear.bias is None else linear.bias.detach()
            if norm is not None:
                scale = torch.rsqrt(norm.running_var + norm.eps)
                shift = -norm.running_mean if bias is None else bias - norm.running_mean
                if norm.weight is not None:
                    scale = scale * norm.weight.detach()
                bias = scale * shift
                if norm.bias is not None:
                    bias = bias + norm.bias.detach()
                weight = scale.unsqueeze(1) * weight
            layers.append((weight, bias))
        return layers

    @torch.no_grad()
    def remove_units(self, keep: Sequence[torch.Tensor]) -> None:
        """Keep only the hidden units in ``keep``, in place.

        Each Linear layer (and BatchNorm1d) is replaced by a copy holding the rows of the
        kept units and the columns of the kept inputs (and their per-unit statistics),
        bit for bit; the output is the original's with the removed units switched off.
        The new parameters require gradients as the old ones did and each new layer is in
        its predecessor's mode; hooks on the replaced layers, and an optimiser over the
        old parameters, do not carry over.

        Args:
            keep: one 1-D integer tensor per hidden layer, the indices of the units kept,
                distinct and ascending, at least one per layer.
        """
        check_kept_units(keep, self.hidden_features)
        linears = iter(sliced_chain(self.linears, keep))
        norms = iter(sliced_norm(n, kept) for n, kept in zip(self.norms, keep) if n is not None)
        for position, layer in enumerate(self):
            if isinstance(layer, nn.Linear):
                self[position] = next(linears)
            elif isinstance(layer, nn.BatchNorm1d):
                self[position] = next(norms)

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, hidden_features={self.hidden_features}, "
            f"out_features={self.out_features}"
        )


def kept_part(
    tensor: torch.Tensor, rows: torch.Tensor | None, columns: torch.Tensor | None = None
) -> torch.Tensor:
    """The ``rows`` (units kept) and ``columns`` (inputs kept) of a layer's tensor, a copy;
    ``None`` keeps them all. A scalar (a counter) comes back as it is."""
    if tensor.ndim == 0:
        return tensor
    if rows is not None:
        tensor = tensor[rows.to(tensor.device)]
    if columns is not None:
        tensor = tensor[:, columns.to(tensor.device)]
    return tensor.clone()


def sliced_linear(
    layer: nn.Linear, rows: torch.Tensor | None, columns: torch.Tensor | None
) -> nn.Linear:
    """A new Linear holding ``layer``'s kept rows and columns (see :func:`kept_part`),
    made without drawing initial weights (the random streams are left as they are)."""
    weight = kept_part(layer.weight.detach(), rows, columns)  # (kept out, kept in)
    bias = layer.bias is not None
    new = nn.utils.skip_init(
        nn.Linear, weight.shape[1], weight.shape[0], bias, device=weight.device, dtype=weight.dtype
    )
    new.weight.copy_(weight)
    if bias:
        new.bias.copy_(kept_part(layer.bias.detach(), rows))
    return new.requires_grad_(layer.weight.requires_grad).train(layer.training)


def sliced_chain(linears: Sequence[nn.Linear], keep: Sequence[torch.Tensor]) -> list[nn.Linear]:
    """The linear layers of a network (output layer last) holding only the kept hidden
    units: layer ``l`` keeps rows ``keep[l]`` and columns ``keep[l - 1]``."""
    rows, columns = [*keep, None], [None, *keep]
    return [sliced_linear(layer, r, c) for layer, r, c in zip(linears, rows, columns)]


def sliced_norm(norm: nn.BatchNorm1d, kept: torch.Tensor) -> nn.BatchNorm1d:
    """A new BatchNorm1d of ``norm``'s settings holding the ``kept`` units' parameters and
    running statistics."""
    mean = norm.running_mean
    new = batch_norm_like(norm)(len(kept), device=mean.device, dtype=mean.dtype)
    new.load_state_dict({name: kept_part(t, kept) for name, t in norm.state_dict().items()})
    trains = any(p.requires_grad for p in norm.parameters())
    return new.requires_grad_(trains).train(norm.training)


def batch_norm_settings(norm: nn.BatchNorm1d) -> dict:
    """The keyword arguments that make a BatchNorm1d like ``norm`` (JSON-serialisable)."""
    settings = {"eps": norm.eps, "momentum": norm.momentum, "affine": norm.affine}
    if norm.affine and norm.bias is None:
        settings["bias"] = False  # a BatchNorm1d option of recent torch versions
    return settings


def batch_norm_like(norm: nn.BatchNorm1d) -> NormFactory:
    """A ``norm_layer`` factory making BatchNorm1d layers with ``norm``'s settings."""
    return functools.partial(nn.BatchNorm1d, **batch_norm_settings(norm))


def _foldable_norm(norm_layer: NormFactory, width: int) -> nn.BatchNorm1d:
    """``norm_layer(width)``, or a ValueError unless it is a BatchNorm1d that folds."""
    if not callable(norm_layer):
        raise TypeError(
            f"norm_layer must be a callable such as nn.BatchNorm1d, got {type(norm_layer).__name__}"
        )
    norm = norm_layer(width)
    if not isinstance(norm, nn.BatchNorm1d):
        raise ValueError(
            f"norm_layer must make nn.BatchNorm1d layers, the only norm that is an affine map "
            f"per unit in eval mode and so folds into the paths at the switch; it made "
            f"{type(norm).__name__}"
        )
    if not norm.track_running_stats:
        raise ValueError(
            "norm_layer must make BatchNorm1d layers with track_running_stats=True: without "
            "running statistics eval mode normalises by batch and cannot be folded"
        )
    if norm.num_features != width:
        raise ValueError(
            f"norm_layer made a BatchNorm1d of {norm.num_features} features for a hidden "
            f"layer of width {width}"
        )
    return norm


def _flat(norm: nn.BatchNorm1d, z: torch.Tensor) -> torch.Tensor:
    """``norm`` applied to (samples, ..., width) with the leading dimensions flattened."""
    return norm(z.reshape(-1, z.shape[-1])).view(z.shape)


def _running(norm: nn.BatchNorm1d | None, z: torch.Tensor) -> torch.Tensor:
    """``norm`` in eval mode (running statistics, none updated) on (..., width) ``z``."""
    if norm is None:
        return z
    flat = z.reshape(-1, z.shape[-1])
    normalised = F.batch_norm(
        flat, norm.running_mean, norm.running_var, norm.weight, norm.bias, False, 0.0, norm.eps
    )
    return normalised.view(z.shape)
