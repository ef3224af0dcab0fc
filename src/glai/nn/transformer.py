"""GLAI as a Transformer's feed-forward block, and the encoder layer that holds it.

A Transformer encoder layer is self-attention followed by a position-wise feed-forward
network, a ReLU MLP ``d_model -> dim_feedforward -> d_model`` applied to every token: the
block GLAI replaces. :class:`GLAITransformerEncoderLayer` takes the constructor and
``forward`` of ``torch.nn.TransformerEncoderLayer`` with a GLAI as its feed-forward;
:class:`MLPTransformerEncoderLayer` is the same layer with a :class:`glai.MLP`, its twin
for comparisons: same attention, norms, widths, dropout and norm placement, the feed-forward
block the only difference. Both stack in ``torch.nn.TransformerEncoder`` (with
``enable_nested_tensor=False``, its fast path being for its own layer only), and
:func:`glai.fit` trains a model holding GLAI layers in two phases: at the switch
:func:`glai.nn.switching.freeze_structures` freezes every layer's structure, and from then on
the paths train with the attention, the norms and the rest of the model.
"""

from __future__ import annotations

from typing import ClassVar

import torch
from torch import nn

from glai.nn.block import GLAI
from glai.nn.mlp import MLP


class FeedForward(nn.Module):
    """Position-wise feed-forward sublayer: a block ``d_model -> dim_feedforward -> d_model``
    applied to every token, then dropout (a subclass names the block).

    Unlike ``torch.nn.TransformerEncoderLayer``'s feed-forward there is no dropout between
    the hidden activation and the second layer: a GLAI block has none inside, and the MLP
    twin leaves it out too, so that the two differ only in the block. With ``dropout=0``
    (or in eval mode) the MLP twin computes what torch's layer computes with the same weights.

    Args:
        d_model: size of each token's features.
        dim_feedforward: hidden width of the block.
        dropout: dropout probability on the block's output.
        bias: whether the linear layers learn an additive bias.
        device: device of the parameters.
        dtype: dtype of the parameters.

    Shape:
        input ``(..., d_model)``, output ``(..., d_model)``.
    """

    block_type: ClassVar[type[GLAI] | type[MLP]]

    def __init__(
        self,
        d_model: int,
        dim_feedforward: int,
        dropout: float = 0.0,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        self.block = self.block_type(d_model, dim_feedforward, d_model, bias, device, dtype)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """x: (..., d_model) -> (..., d_model)."""
        return self.dropout(self.block(x))


class GLAIFeedForward(FeedForward):
    """The feed-forward sublayer with a :class:`glai.GLAI` block (see :class:`FeedForward`)."""

    block_type = GLAI


class MLPFeedForward(FeedForward):
    """The feed-forward sublayer with a ReLU :class:`glai.MLP` block (see
    :class:`FeedForward`): GLAI's structure, and its twin for comparisons."""

    block_type = MLP


class EncoderLayer(nn.Module):
    """Self-attention and a feed-forward sublayer, each in a residual connection with a
    layer norm; the arguments and ``forward`` of ``torch.nn.TransformerEncoderLayer``
    (ReLU activation only). A subclass names the feed-forward type.

    Args:
        d_model: size of each token's features.
        nhead: attention heads.
        dim_feedforward: hidden width of the feed-forward block.
        dropout: dropout probability in the attention, after it, and on the feed-forward
            block's output.
        layer_norm_eps: epsilon of the layer norms.
        batch_first: inputs are ``(batch, seq, d_model)``; else ``(seq, batch, d_model)``.
        norm_first: layer norm before each sublayer (pre-norm); else after each residual
            sum (post-norm, the original Transformer).
        bias: whether the linear and layer-norm layers learn an additive bias.
        device: device of the parameters.
        dtype: dtype of the parameters.

    Shape:
        ``src``: ``(batch, seq, d_model)`` (``(seq, batch, d_model)`` unless
        ``batch_first``); the output has the same shape.
    """

    feed_forward_type: ClassVar[type[FeedForward]]

    def __init__(
        self,
        d_model: int,
        nhead: int,
        dim_feedforward: int = 2048,
        dropout: float = 0.1,
        layer_norm_eps: float = 1e-5,
        batch_first: bool = False,
        norm_first: bool = False,
        bias: bool = True,
        device: torch.device | str | None = None,
        dtype: torch.dtype | None = None,
    ) -> None:
        super().__init__()
        factory = {"device": device, "dtype": dtype}
        self.self_attn = nn.MultiheadAttention(
            d_model, nhead, dropout=dropout, bias=bias, batch_first=batch_first, **factory
        )
        self.feed_forward = self.feed_forward_type(
            d_model, dim_feedforward, dropout, bias, **factory
        )
        self.norm1 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.norm2 = nn.LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **factory)
        self.dropout1 = nn.Dropout(dropout)
        self.norm_first = norm_first

    def forward(
        self,
        src: torch.Tensor,
        src_mask: torch.Tensor | None = None,
        src_key_padding_mask: torch.Tensor | None = None,
        is_causal: bool = False,
    ) -> torch.Tensor:
        """Pass the tokens through the layer.

        Args:
            src: (batch, seq, d_model), or (seq, batch, d_model) unless ``batch_first``.
            src_mask: (seq, seq) or (batch * nhead, seq, seq) attention mask, boolean
                (``True``: not allowed to attend) or additive float.
            src_key_padding_mask: (batch, seq), ``True`` (or ``-inf``) at padding tokens,
                which no token attends to.
            is_causal: a hint that ``src_mask`` is the causal mask, as in torch's layer.

        Returns:
            Tensor of the shape of ``src``.
        """
        x = src
        if self.norm_first:
            x = x + self._attention(self.norm1(x), src_mask, src_key_padding_mask, is_causal)
            return x + self.feed_forward(self.norm2(x))
        x = self.norm1(x + self._attention(x, src_mask, src_key_padding_mask, is_causal))
        return self.norm2(x + self.feed_forward(x))

    def _attention(
        self,
        x: torch.Tensor,
        mask: torch.Tensor | None,
        padding: torch.Tensor | None,
        is_causal: bool,
    ) -> torch.Tensor:
        attended = self.self_attn(
            x,
            x,
            x,
            attn_mask=mask,
            key_padding_mask=padding,
            need_weights=False,
            is_causal=is_causal,
        )[0]
        return self.dropout1(attended)


class GLAITransformerEncoderLayer(EncoderLayer):
    """A Transformer encoder layer whose feed-forward block is a :class:`glai.GLAI`.

    Before the switch it computes what :class:`MLPTransformerEncoderLayer` computes with
    the same weights; ``freeze_structures(model)`` (or :func:`glai.fit`'s switch) freezes
    its structure, leaving the output unchanged at that moment. Arguments and shapes as
    :class:`EncoderLayer`.
    """

    feed_forward_type = GLAIFeedForward


class MLPTransformerEncoderLayer(EncoderLayer):
    """The same encoder layer with a ReLU :class:`glai.MLP` feed-forward block: the twin of
    :class:`GLAITransformerEncoderLayer` at the same widths, dropout and norm placement.
    In eval mode it equals ``torch.nn.TransformerEncoderLayer(activation="relu")`` with
    the same weights and the same arguments (``batch_first`` included: False by default in
    both). Arguments and shapes as :class:`EncoderLayer`."""

    feed_forward_type = MLPFeedForward
