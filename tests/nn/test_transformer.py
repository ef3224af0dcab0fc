"""GLAI as a Transformer feed-forward block: shapes, the MLP twin, the switch, training."""

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import glai
from glai.nn.switching import freeze_structures, glai_blocks
from glai.nn.transformer import (
    GLAIFeedForward,
    GLAITransformerEncoderLayer,
    MLPFeedForward,
    MLPTransformerEncoderLayer,
)

D_MODEL, NHEAD, WIDTH = 8, 2, 16
LAYERS = [GLAITransformerEncoderLayer, MLPTransformerEncoderLayer]
NORM_FIRST = [False, True]


def layer(layer_type, norm_first=False, dropout=0.0, batch_first=True):
    return layer_type(
        D_MODEL, NHEAD, WIDTH, dropout, batch_first=batch_first, norm_first=norm_first
    )


def padding_mask(batch=3, seq=5):
    mask = torch.zeros(batch, seq, dtype=torch.bool)
    mask[0, 3:] = True
    return mask


def copy_weights(source: nn.Module, target: nn.Module) -> None:
    """``source``'s attention and norms into ``target``, and its feed-forward MLP (or a
    GLAI's structure) into ``target``'s MLP."""
    state = {k: v for k, v in source.state_dict().items() if not k.startswith("feed_forward")}
    target.load_state_dict(state, strict=False)
    block = source.feed_forward.block
    mlp = block.structure if isinstance(block, glai.GLAI) else block
    target.feed_forward.block.load_state_dict(mlp.state_dict())


@pytest.mark.parametrize("feed_forward", [GLAIFeedForward, MLPFeedForward], ids=["glai", "mlp"])
def test_feed_forward_maps_every_token(feed_forward):
    block = feed_forward(D_MODEL, WIDTH)
    x = torch.randn(3, 5, D_MODEL)
    out = block(x)
    assert out.shape == x.shape
    torch.testing.assert_close(out[1, 2], block(x[1, 2].unsqueeze(0))[0])  # per token


@pytest.mark.parametrize("layer_type", LAYERS, ids=["glai", "mlp"])
@pytest.mark.parametrize("batch_first", [True, False], ids=["batch-first", "seq-first"])
@pytest.mark.parametrize("norm_first", NORM_FIRST, ids=["post-norm", "pre-norm"])
def test_layer_keeps_the_shape(layer_type, batch_first, norm_first):
    model = layer(layer_type, norm_first, dropout=0.1, batch_first=batch_first)
    src = torch.randn(3, 5, D_MODEL) if batch_first else torch.randn(5, 3, D_MODEL)
    assert model(src).shape == src.shape
    assert model(src, src_key_padding_mask=padding_mask()).shape == src.shape


@pytest.mark.parametrize("norm_first", NORM_FIRST, ids=["post-norm", "pre-norm"])
@pytest.mark.parametrize("causal", [False, True], ids=["padding-mask", "causal-mask"])
def test_mlp_twin_is_torchs_encoder_layer(norm_first, causal):
    ours = layer(MLPTransformerEncoderLayer, norm_first, dropout=0.1).eval()
    theirs = nn.TransformerEncoderLayer(
        D_MODEL, NHEAD, WIDTH, 0.1, batch_first=True, norm_first=norm_first
    ).eval()
    first, _, second = ours.feed_forward.block
    state = {k: v for k, v in ours.state_dict().items() if not k.startswith("feed_forward")}
    state |= {"linear1.weight": first.weight, "linear1.bias": first.bias}
    state |= {"linear2.weight": second.weight, "linear2.bias": second.bias}
    theirs.load_state_dict(state)
    src = torch.randn(3, 5, D_MODEL)
    mask = nn.Transformer.generate_square_subsequent_mask(5) if causal else None
    padding = None if causal else padding_mask()
    options = {"src_mask": mask, "src_key_padding_mask": padding, "is_causal": causal}
    torch.testing.assert_close(ours(src, **options), theirs(src, **options))


@pytest.mark.parametrize("norm_first", NORM_FIRST, ids=["post-norm", "pre-norm"])
@pytest.mark.parametrize("training", [False, True], ids=["eval", "train"])
def test_before_the_switch_the_glai_layer_is_its_mlp_twin(norm_first, training):
    ours = layer(GLAITransformerEncoderLayer, norm_first).train(training)
    twin = layer(MLPTransformerEncoderLayer, norm_first).train(training)
    copy_weights(ours, twin)
    src = torch.randn(3, 5, D_MODEL)
    padding = padding_mask()
    out = ours(src, src_key_padding_mask=padding)
    torch.testing.assert_close(out, twin(src, src_key_padding_mask=padding))
    twin.feed_forward.block[0].bias.data += 1.0  # the comparison can fail
    assert not torch.allclose(out, twin(src, src_key_padding_mask=padding))


def test_freeze_structures_switches_every_layer_and_keeps_the_output():
    encoder = nn.TransformerEncoder(
        layer(GLAITransformerEncoderLayer, dropout=0.1), 3, enable_nested_tensor=False
    ).eval()
    src = torch.randn(4, 6, D_MODEL)
    with torch.no_grad():
        before = encoder(src, src_key_padding_mask=padding_mask(4, 6))
    blocks = glai_blocks(encoder)
    assert len(blocks) == 3 and not any(block.frozen for block in blocks.values())
    freeze_structures(encoder)
    assert all(block.frozen for block in blocks.values())
    with torch.no_grad():
        after = encoder(src, src_key_padding_mask=padding_mask(4, 6))
    torch.testing.assert_close(after, before)


class Tagger(nn.Module):
    """Tokens (batch, seq) -> (batch, seq, vocabulary) logits: each token's predecessor."""

    def __init__(self, vocabulary: int, seq: int) -> None:
        super().__init__()
        self.embedding = nn.Embedding(vocabulary, D_MODEL)
        self.position = nn.Parameter(torch.randn(seq, D_MODEL))
        self.layers = nn.ModuleList(
            layer(GLAITransformerEncoderLayer, norm_first=True) for _ in range(2)
        )
        self.head = nn.Linear(D_MODEL, vocabulary)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.embedding(tokens) + self.position
        for encoder_layer in self.layers:
            x = encoder_layer(x)
        return self.head(x)


def token_loss(output: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    return F.cross_entropy(output.flatten(0, 1), target.flatten())


class AtSwitch(glai.Callback):
    """Copies of the model's weights when the structure is frozen."""

    def on_switch(self, model: nn.Module, epoch: int) -> None:
        self.state = {k: v.clone() for k, v in model.state_dict().items()}


def test_fit_trains_a_token_model_and_switches_every_layer():
    vocabulary, seq = 4, 4
    tokens = torch.randint(vocabulary, (576, seq))
    targets = torch.cat([tokens[:, :1], tokens[:, :-1]], dim=1)  # the previous token
    model = Tagger(vocabulary, seq)
    at_switch = AtSwitch()
    history = glai.fit(
        model,
        (tokens[:512], targets[:512]),
        (tokens[512:], targets[512:]),
        loss=token_loss,
        callbacks=[at_switch],
        structural_lr=1e-2,
        max_structural_epochs=3,
        min_structural_steps=1,
        epochs=6,
        batch_size=32,
        seed=0,
    )
    assert history.switch_epoch is not None and history.switch_epoch <= 3
    assert all(block.frozen for block in glai_blocks(model).values())
    losses = history.column("val_loss")
    assert losses[-1] < 0.25 * losses[0]  # attention needed: the target is another token
    assert losses[-1] < losses[history.switch_epoch - 1]  # and it improves after the switch
    after = model.state_dict()
    for name, value in at_switch.state.items():
        changed = not torch.equal(value, after[name])
        if ".structure." in name:
            assert not changed, name  # frozen at the switch
        elif name.endswith("weight") and (".paths." in name or "self_attn" in name):
            assert changed, name  # the paths and the attention train on
