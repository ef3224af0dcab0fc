"""Files: models, cached features, and the one atomic writer behind every file kind."""

from glai.io.features import extract_features, load_features
from glai.io.models import load, read_info, save

__all__ = ["extract_features", "load", "load_features", "read_info", "save"]
