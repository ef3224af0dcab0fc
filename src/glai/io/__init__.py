"""Files: models, cached features, and the one atomic writer behind every file kind."""

from glai.io.features import extract_features, load_features
from glai.io.fingerprint import fingerprint
from glai.io.masks import load_masks, save_masks
from glai.io.models import load, read_info, save

__all__ = [
    "extract_features",
    "fingerprint",
    "load",
    "load_features",
    "load_masks",
    "read_info",
    "save",
    "save_masks",
]
