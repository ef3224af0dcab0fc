"""The GLAI block: a frozen ReLU structure that gates a trainable network of paths."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

import torch
from torch import nn

from glai.guards import check_features
from glai.nn.mlp import MLP, NormFactory, batch_norm_like, batch_norm_settings, sliced_chain


class GLAI(nn.Module):
    """GreenLightningAI block, a drop-in replacement for a ReLU MLP (arXiv 2510.00883).

    The block holds two networks of the same shapes:

    - ``structure``, a ReLU :class:`glai.MLP`. Before the switch the block *is* this MLP.
    - ``paths``, linear layers ``W'_l, b'_l`` whose hidden outputs are gated by the
      structure's activation patterns ``a_l(x) = 1[z_l(x) > 0]``:
      ``u_l = a_l(x) * (W'_l u_{l-1} + b'_l)``, ``y = W'_{L+1} u_L + b'_{L+1}``.

    :meth:`freeze_structure` is the switch: it copies the structure's weights into
    ``paths`` (so the output is unchanged at that moment) and freezes the structure,
    which from then on only produces masks. The paths require gradients from the start:
    they take no part in the forward pass before the switch, so they get no gradient and
    optimisers skip them; an optimiser over ``model.parameters()``, built at any time,
    trains the structure before the switch and the paths after it. The block installs
    no hook anywhere: :func:`glai.freeze_structures` checks an optimiser handed to it and
    returns the paths that begin to train, for optimisers that do not hold them.

    Under ``torch.autocast`` the block takes what ``nn.Linear`` takes (float32, float16
    and bfloat16 inputs when those are autocast's, whatever the parameters' dtype among
    them); outside it, the input's dtype must be the parameters'.

    With ``norm_layer`` each hidden layer of the structure is ``Linear, BatchNorm1d,
    ReLU`` and the masks are taken after the norm. Before the switch BatchNorm trains as
    usual, with batch statistics in train mode. The switch folds its running statistics
    into the paths (``W'_l = diag(s) W_l``, ``b'_l = s (b_l - mean) + beta``,
    ``s = gamma / sqrt(var + eps)``), so the block's output equals the structure's in eval
    mode; from then on the structure stays in eval mode whatever ``train()`` says: its
    statistics are never updated and the masks are a function of the input alone (so
    they can be cached). :meth:`masks` always uses the running statistics.

    Args:
        in_features: size of each input sample.
        hidden_features: width of the hidden layer, or a list of widths (depth >= 1).
        out_features: size of each output sample.
        bias: whether the linear layers learn an additive bias (hidden path layers have
            one anyway with a norm layer: the folded norm's shift).
        device: device of the parameters.
        dtype: dtype of the parameters.
        norm_layer: ``nn.BatchNorm1d`` or a ``functools.partial`` of it, as in
            torchvision's ``ops.MLP``; ``None`` for no normalisation. Other norms do not
            fold into the paths and are refused with a ValueError.

    Shape:
        input ``(batch, in_features)``, output ``(batch, out_features)``; leading
        dimensions ``(batch, ..., in_features)`` work as with ``nn.Linear``.
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
        super().__init__()
        self.structure = MLP(
            in_features, hidden_features, out_features, bias, device, dtype, norm_layer=norm_layer
        )
        linears = self.structure.linears
        self.paths = nn.ModuleList(
            nn.Linear(
                linear.in_features,
                linear.out_features,
                bias or (norm_layer is not None and layer < len(linears) - 1),
                device,
                dtype,
            )
            for layer, linear in enumerate(linears)
        )
        self.register_buffer("switched", torch.zeros((), dtype=torch.bool, device=device))
        self._frozen = False
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
    def norm_layer(self) -> NormFactory | None:
        """The factory of the structure's norm layers, ``None`` without them."""
        return self.structure.norm_layer

    @property
    def frozen(self) -> bool:
        """Whether :meth:`freeze_structure` has been called (the structure is fixed)."""
        return self._frozen

    def train(self, mode: bool = True) -> GLAI:
        """Set train or eval mode; after the switch the structure stays in eval mode."""
        super().train(mode)
        if self._frozen:
            self.structure.eval()
        return self

    @torch.no_grad()
    def masks(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Activation patterns of the structure (norm layers with running statistics).

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
            masks = self._masks_as_used(x)
        else:
            _check_masks(masks, tuple(x.shape[:-1]), self.hidden_features)
        return gated(x, self.paths, masks)

    def _masks_as_used(self, x: torch.Tensor) -> Iterator[torch.Tensor]:
        """Yield the masks of :meth:`masks`, each made (without gradients) only when its
        layer needs it: structure and paths advance together, with or without gradients
        (one computation, so ``torch.jit.trace`` records the same graph in either mode)."""
        with torch.no_grad():
            pre_activations = self.structure.pre_activations(x)
        for _ in self.hidden_features:
            with torch.no_grad():
                pre_activation = next(pre_activations)
            yield pre_activation > 0

    @torch.no_grad()
    def freeze_structure(self) -> GLAI:
        """Switch to the quantitative phase; returns ``self``.

        Copies the structure's weights into ``paths``, norm layers folded in (so outputs
        are unchanged at this moment, in eval mode), and freezes the structure for good:
        its parameters stop requiring gradients and lose their ``.grad``, so an optimiser
        that still holds them cannot move them, and since masks are boolean and computed
        under ``no_grad``, no gradient can reach it.
        """
        if self._frozen:
            raise RuntimeError("the structure is already frozen; freeze_structure() runs once")
        for (weight, bias), path in zip(self.structure.affine_layers(), self.paths):
            path.weight.copy_(weight)
            if path.bias is not None:
                path.bias.copy_(bias)
        self.switched.fill_(True)
        self._set_frozen(True)
        return self

    @torch.no_grad()
    def remove_units(self, keep: Sequence[torch.Tensor]) -> None:
        """Keep only the hidden units in ``keep``, in place, in the structure and the paths
        alike (see :meth:`glai.MLP.remove_units`: the layers are replaced by copies of their
        kept rows and columns, bit for bit, frozen or trainable as before).

        The output is the original's with the removed units switched off in both networks;
        in a block deeper than one hidden layer a removed structure unit that fired no
        longer feeds the later structure layers, so their gates can change. The block stays
        frozen or not, as it was.

        Args:
            keep: one 1-D integer tensor per hidden layer, the indices of the units kept,
                distinct and ascending, at least one per layer.
        """
        self.structure.remove_units(keep)  # checks keep first
        for layer, linear in enumerate(sliced_chain(self.paths, keep)):
            self.paths[layer] = linear

    def reset_parameters(self) -> None:
        """Initialise the block anew, as its constructor does: the structure's and the
        paths' layers reset in the constructor's order (the same draws under the same
        seed), norm statistics cleared, and the block back before its switch (the
        structure trains again). Built on the meta device, a block is made real by
        ``to_empty(device=...)`` then this.
        """
        self.structure.reset_parameters()
        for path in self.paths:
            path.reset_parameters()
        self.switched.fill_(False)
        self._set_frozen(False)

    def _set_frozen(self, frozen: bool) -> None:
        self._frozen = frozen
        self.structure.requires_grad_(not frozen)
        if frozen:
            for parameter in self.structure.parameters():
                parameter.grad = None
            self.structure.eval()
        else:
            self.structure.train(self.training)

    @classmethod
    def from_mlp(cls, mlp: nn.Module) -> GLAI:
        """Build a switched block whose structure is a copy of a trained ReLU MLP.

        Args:
            mlp: an ``nn.Sequential`` of ``Linear, ReLU, ..., Linear`` or ``Linear,
                BatchNorm1d, ReLU, ..., Linear`` (``Dropout`` is ignored), such as
                :class:`glai.MLP`.

        Returns:
            A frozen block of class ``cls`` (called with GLAI's constructor arguments: a
            subclass whose constructor differs overrides this) whose output equals
            ``mlp``'s (in eval mode).
        """
        linears, norms = _layers_of_relu_mlp(mlp)
        first = linears[0]
        model = cls(
            first.in_features,
            [linear.out_features for linear in linears[:-1]],
            linears[-1].out_features,
            bias=first.bias is not None,
            device=first.weight.device,
            dtype=first.weight.dtype,
            norm_layer=batch_norm_like(norms[0]) if norms else None,
        )
        with torch.no_grad():
            for source, target in zip(linears, model.structure.linears):
                target.weight.copy_(source.weight)
                if source.bias is not None:
                    target.bias.copy_(source.bias)
        for source, target in zip(norms, model.structure.norms):
            target.load_state_dict(source.state_dict())
        return model.freeze_structure()

    def extra_repr(self) -> str:
        return (
            f"in_features={self.in_features}, hidden_features={self.hidden_features}, "
            f"out_features={self.out_features}, frozen={self._frozen}"
        )


def gated(
    x: torch.Tensor, linears: Sequence[nn.Module], masks: Iterable[torch.Tensor]
) -> torch.Tensor:
    """``linears`` applied in turn to ``x``, each hidden output multiplied by its mask
    (``masks`` may be a generator: each mask is then made only when its layer needs it)."""
    hidden = x
    for linear, mask in zip(linears[:-1], masks):
        hidden = linear(hidden).mul_(mask)  # (batch, width_l), in place: one tensor less
    return linears[-1](hidden)  # (batch, out_features)


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


_KINDS = {nn.Linear: "Linear", nn.BatchNorm1d: "BatchNorm1d", nn.ReLU: "ReLU"}


def _layers_of_relu_mlp(mlp: nn.Module) -> tuple[list[nn.Linear], list[nn.BatchNorm1d]]:
    """The Linear and BatchNorm1d layers of a ``Linear, [BatchNorm1d,] ReLU, ..., Linear``
    Sequential, or a clear error."""
    if not isinstance(mlp, nn.Sequential):
        raise TypeError(
            f"from_mlp expects an nn.Sequential of Linear and ReLU layers, got {type(mlp).__name__}"
        )
    layers = []
    for position, module in enumerate(mlp):
        if not isinstance(module, (*_KINDS, nn.Dropout)):
            raise TypeError(
                f"from_mlp accepts only Linear, BatchNorm1d, ReLU and Dropout layers; found "
                f"{type(module).__name__} at position {position}"
            )
        if not isinstance(module, nn.Dropout):
            layers.append(module)
    kinds = [next(k for t, k in _KINDS.items() if isinstance(m, t)) for m in layers]
    norms = [module for module in layers if isinstance(module, nn.BatchNorm1d)]
    hidden = ["Linear", "BatchNorm1d", "ReLU"] if norms else ["Linear", "ReLU"]
    depth = kinds.count("ReLU")
    if depth < 1 or kinds != hidden * depth + ["Linear"]:
        raise ValueError(
            "from_mlp expects Linear, ReLU, ..., Linear (or Linear, BatchNorm1d, ReLU, ..., "
            "Linear) with at least one hidden layer; found " + ", ".join(kinds)
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
    for linear, norm in zip(linears, norms):
        if norm.num_features != linear.out_features or not norm.track_running_stats:
            raise ValueError(
                f"from_mlp needs BatchNorm1d layers with running statistics of their layer's "
                f"width; found BatchNorm1d({norm.num_features}, track_running_stats="
                f"{norm.track_running_stats}) after a layer of width {linear.out_features}"
            )
    settings = [batch_norm_settings(norm) for norm in norms]
    if any(setting != settings[0] for setting in settings):
        raise ValueError(f"from_mlp needs BatchNorm1d layers of one setting, found {settings}")
    return linears, norms
