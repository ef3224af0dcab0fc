"""The GLAI block: a frozen ReLU structure that gates a trainable network of paths."""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from glai.guards import check_features
from glai.nn.mlp import MLP


class GLAI(nn.Module):
    """GreenLightningAI block, a drop-in replacement for a ReLU MLP (arXiv 2510.00883).

    The block holds two networks of the same shapes:

    - ``structure``, a ReLU :class:`glai.MLP`. Before the switch the block *is* this MLP.
    - ``paths``, linear layers ``W'_l, b'_l`` whose hidden outputs are gated by the
      structure's activation patterns ``a_l(x) = 1[z_l(x) > 0]``:
      ``u_l = a_l(x) * (W'_l u_{l-1} + b'_l)``, ``y = W'_{L+1} u_L + b'_{L+1}``.

    :meth:`freeze_structure` is the switch: it copies the structure's weights into
    ``paths`` (so the output is unchanged at that moment) and freezes the structure,
    which from then on only produces masks.

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
        super().__init__()
        self.structure = MLP(in_features, hidden_features, out_features, bias, device, dtype)
        self.paths = nn.ModuleList(
            nn.Linear(linear.in_features, linear.out_features, bias, device, dtype)
            for linear in self.structure.linears
        )
        self.register_buffer("switched", torch.zeros((), dtype=torch.bool, device=device))
        self._frozen = False
        self.paths.requires_grad_(False)
        self.register_load_state_dict_post_hook(_follow_loaded_switch)

    @property
    def in_features(self) -> int:
        return self.structure.in_features

    @property
    def hidden_features(self) -> list[int]:
        return self.structure.hidden_features

    @property
    def out_features(self) -> int:
        return self.structure.out_features

    @property
    def bias(self) -> bool:
        return self.structure.bias

    @property
    def frozen(self) -> bool:
        """Whether :meth:`freeze_structure` has been called (the structure is fixed)."""
        return self._frozen

    @torch.no_grad()
    def masks(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Activation patterns of the structure.

        Args:
            x: (batch, in_features), or (batch, ..., in_features) like ``nn.Linear``.

        Returns:
            One boolean tensor per hidden layer, each (batch, ..., width_l).
        """
        return tuple(z > 0 for z in self.structure.pre_activations(x))

    def forward(self, x: torch.Tensor, masks: Sequence[torch.Tensor] | None = None) -> torch.Tensor:
        """Compute the block's output.

        Args:
            x: (batch, in_features), or (batch, ..., in_features) like ``nn.Linear``.
            masks: optional precomputed :meth:`masks` for ``x`` (only after the switch), so
                that training on fixed inputs never runs the structure; boolean, or 0/1 in
                the model's dtype (which saves a conversion).

        Returns:
            (batch, out_features), or (batch, ..., out_features).
        """
        if not self._frozen:
            if masks is not None:
                raise ValueError("masks can only be passed after freeze_structure()")
            return self.structure(x)
        weight = self.paths[0].weight
        check_features(x, self.in_features, weight.dtype, device=weight.device)
        if masks is None:
            if not torch.is_grad_enabled():
                return self._fused_inference(x)
            masks = self.masks(x)
        else:
            _check_masks(masks, tuple(x.shape[:-1]), self.hidden_features)
        return gated(x, self.paths, masks)

    def _fused_inference(self, x: torch.Tensor) -> torch.Tensor:
        """The switched forward without gradients: structure and paths read ``x`` in one
        matrix product, since their first layers see the same input."""
        weight, bias = self._fused_first_layer()
        width = self.paths[0].out_features
        structure_z, paths_z = F.linear(x, weight, bias).split(width, dim=-1)
        gate = structure_z > 0  # (..., width_1)
        structure_hidden = torch.relu(structure_z)
        hidden = paths_z.mul_(gate)
        for structure_layer, paths_layer in zip(self.structure.linears[1:-1], self.paths[1:-1]):
            structure_z = structure_layer(structure_hidden)
            hidden = paths_layer(hidden).mul_(structure_z > 0)
            structure_hidden = torch.relu(structure_z)
        return self.paths[-1](hidden)

    def _fused_first_layer(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """[W_1; W'_1] and [b_1; b'_1], rebuilt only when either layer has changed."""
        layers = (self.structure[0], self.paths[0])
        tensors = [t for layer in layers for t in (layer.weight, layer.bias) if t is not None]
        key = tuple((t.data_ptr(), t._version) for t in tensors)
        if getattr(self, "_fused_key", None) != key:
            weight = torch.cat([layer.weight.detach() for layer in layers])
            bias = None
            if self.bias:
                bias = torch.cat([layer.bias.detach() for layer in layers])
            self._fused, self._fused_key = (weight, bias), key
        return self._fused

    @torch.no_grad()
    def freeze_structure(self) -> GLAI:
        """Switch to the quantitative phase; returns ``self``.

        Copies the structure's weights into ``paths`` (so outputs are unchanged at this
        moment) and freezes the structure: its parameters stop requiring gradients and,
        since masks are boolean and computed under ``no_grad``, no gradient can reach it.
        Optimisers built afterwards over ``trainable parameters`` see only ``paths``.
        """
        if self._frozen:
            raise RuntimeError("the structure is already frozen; freeze_structure() runs once")
        _copy_linears(self.structure.linears, self.paths)
        self.switched.fill_(True)
        self._set_frozen(True)
        return self

    def _set_frozen(self, frozen: bool) -> None:
        self._frozen = frozen
        self.structure.requires_grad_(not frozen)
        self.paths.requires_grad_(frozen)

    @classmethod
    def from_mlp(cls, mlp: nn.Module) -> GLAI:
        """Build a switched GLAI whose structure is a copy of a trained ReLU MLP.

        Args:
            mlp: an ``nn.Sequential`` of ``Linear`` and ``ReLU`` layers (``Dropout`` is
                ignored), such as :class:`glai.MLP`.

        Returns:
            A frozen GLAI whose output equals ``mlp``'s (in eval mode).
        """
        linears = _linears_of_relu_mlp(mlp)
        first = linears[0]
        model = cls(
            first.in_features,
            [linear.out_features for linear in linears[:-1]],
            linears[-1].out_features,
            bias=first.bias is not None,
            device=first.weight.device,
            dtype=first.weight.dtype,
        )
        with torch.no_grad():
            _copy_linears(linears, model.structure.linears)
        return model.freeze_structure()

    def extra_repr(self) -> str:
        return f"frozen={self._frozen}"


def gated(
    x: torch.Tensor, linears: Sequence[nn.Module], masks: Sequence[torch.Tensor]
) -> torch.Tensor:
    """``linears`` applied in turn to ``x``, each hidden output multiplied by its mask."""
    hidden = x
    for linear, mask in zip(linears[:-1], masks):
        hidden = linear(hidden).mul_(mask)  # (batch, width_l), in place: one tensor less
    return linears[-1](hidden)  # (batch, out_features)


def _copy_linears(sources: Sequence[nn.Linear], targets: Sequence[nn.Linear]) -> None:
    """Copy weights and biases layer by layer (call under ``torch.no_grad()``)."""
    for source, target in zip(sources, targets):
        target.weight.copy_(source.weight)
        if source.bias is not None:
            target.bias.copy_(source.bias)


def _follow_loaded_switch(module: GLAI, incompatible_keys: object) -> None:
    """Keep the Python-side switch flag in step with a loaded ``switched`` buffer."""
    frozen = bool(module.switched)
    if frozen != module._frozen:
        module._set_frozen(frozen)


def _check_masks(masks: Sequence[torch.Tensor], leading: tuple, widths: list[int]) -> None:
    if len(masks) != len(widths):
        raise ValueError(f"expected {len(widths)} masks (one per hidden layer), got {len(masks)}")
    for layer, (mask, width) in enumerate(zip(masks, widths)):
        if tuple(mask.shape) != (*leading, width):
            raise ValueError(
                f"mask {layer} must have shape {(*leading, width)}, got {tuple(mask.shape)}"
            )


def _linears_of_relu_mlp(mlp: nn.Module) -> list[nn.Linear]:
    """The Linear layers of a ``Linear, ReLU, ..., Linear`` Sequential, or a clear error."""
    if not isinstance(mlp, nn.Sequential):
        raise TypeError(
            f"from_mlp expects an nn.Sequential of Linear and ReLU layers, got {type(mlp).__name__}"
        )
    for position, module in enumerate(mlp):
        if not isinstance(module, (nn.Linear, nn.ReLU, nn.Dropout)):
            raise TypeError(
                f"from_mlp accepts only Linear, ReLU and Dropout layers; found "
                f"{type(module).__name__} at position {position}"
            )
    layers = [module for module in mlp if not isinstance(module, nn.Dropout)]
    kinds = ["Linear" if isinstance(module, nn.Linear) else "ReLU" for module in layers]
    expected = ["Linear", "ReLU"] * (len(layers) // 2) + ["Linear"]
    if len(layers) < 3 or kinds != expected:
        raise ValueError(
            "from_mlp expects Linear, ReLU, ..., Linear with at least one hidden layer; found "
            + ", ".join(kinds)
        )
    linears = [module for module in layers if isinstance(module, nn.Linear)]
    for before, after in zip(linears, linears[1:]):
        if before.out_features != after.in_features:
            raise ValueError(
                f"layer widths do not chain: {before.out_features} outputs feed "
                f"{after.in_features} inputs"
            )
    if len({linear.bias is None for linear in linears}) > 1:
        raise ValueError("from_mlp needs all Linear layers with a bias, or all without")
    return linears
