"""Save and load GLAI and MLP models as one safetensors file with a JSON config."""

from __future__ import annotations

import functools
import json
import os
from pathlib import Path

import torch
from safetensors import SafetensorError, safe_open
from safetensors.torch import save as serialize
from torch import nn

from glai.io.atomic import write_atomic
from glai.nn.block import GLAI
from glai.nn.mlp import MLP, NormFactory, batch_norm_settings

FORMAT = "glai"
FORMAT_VERSION = 1
_KINDS: dict[str, type[nn.Module]] = {"GLAI": GLAI, "MLP": MLP}


def save(model: GLAI | MLP, path: str | os.PathLike, info: dict | None = None) -> None:
    """Write ``model`` to ``path``: safetensors weights, the config as JSON in its header.

    The file is written by :func:`glai.io.atomic.write_atomic`: to a temporary name,
    fsynced and renamed, so it is never half-written.

    Args:
        model: a :class:`glai.GLAI` or :class:`glai.MLP` (a subclass, such as the
            projection heads, is saved, and loaded back, as its base class).
        path: destination file (conventionally ``*.safetensors``).
        info: optional JSON-serialisable facts to keep with the model (e.g. the switch
            epoch); read back with :func:`read_info`.

    Raises:
        FileNotFoundError: the directory of ``path`` does not exist.
    """
    kind = next((name for name, base in _KINDS.items() if isinstance(model, base)), None)
    if kind is None:
        raise TypeError(f"save expects a glai.GLAI or glai.MLP, got {type(model).__name__}")
    mlp = model.structure if kind == "GLAI" else model
    norm = mlp.norms[0]
    norm_config = None if norm is None else {"type": "BatchNorm1d", **batch_norm_settings(norm)}
    config = {
        "kind": kind,
        "in_features": model.in_features,
        "hidden_features": model.hidden_features,
        "out_features": model.out_features,
        "bias": model.bias,
        "dtype": str(mlp[0].weight.dtype),
        "norm_layer": norm_config,
    }
    metadata = {
        "format": FORMAT,
        "format_version": str(FORMAT_VERSION),
        "config": json.dumps(config),
        "info": json.dumps(info or {}),
    }
    tensors = {
        name: tensor.detach().cpu().contiguous() for name, tensor in model.state_dict().items()
    }
    write_atomic(path, lambda handle: handle.write(serialize(tensors, metadata=metadata)))


def _read(
    path: str | os.PathLike, with_tensors: bool = True
) -> tuple[dict, dict, dict[str, torch.Tensor]]:
    """(config, info, tensors) of a glai file, or a ValueError saying why it is not one."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with safe_open(str(path), framework="pt") as handle:
            metadata = handle.metadata() or {}
            names = handle.keys() if with_tensors else []
            tensors = {name: handle.get_tensor(name) for name in names}
    except (SafetensorError, OSError) as error:
        raise ValueError(f"{path} is not a readable safetensors file ({error})") from error
    if metadata.get("format") != FORMAT:
        raise ValueError(
            f"{path} is a safetensors file but not a glai model: expected format tag "
            f"{FORMAT!r}, found {metadata.get('format')!r}"
        )
    if metadata.get("format_version") != str(FORMAT_VERSION):
        raise ValueError(
            f"{path} is a glai model of another format version: expected "
            f"{str(FORMAT_VERSION)!r}, found {metadata.get('format_version')!r}"
        )
    try:
        config, info = json.loads(metadata["config"]), json.loads(metadata.get("info", "{}"))
    except (KeyError, json.JSONDecodeError) as error:
        raise ValueError(f"{path} has a damaged glai config ({error})") from error
    return config, info, tensors


def load(path: str | os.PathLike, device: torch.device | str | None = None) -> GLAI | MLP:
    """Restore a model written by :func:`save`, bit-identical to the saved one.

    Args:
        path: the file.
        device: where to put the model (default CPU).

    Raises:
        FileNotFoundError: no file at ``path``.
        ValueError: the file is truncated, not safetensors, or not a glai model.
    """
    config, _, tensors = _read(path)
    try:
        kind = _KINDS[config["kind"]]
        dtype = getattr(torch, config["dtype"].removeprefix("torch."))
        model = kind(
            config["in_features"],
            config["hidden_features"],
            config["out_features"],
            config["bias"],
            device,
            dtype,
            norm_layer=_norm_layer(config.get("norm_layer")),
        )
        model.load_state_dict(tensors)
    except (KeyError, TypeError, AttributeError, RuntimeError, ValueError) as error:
        raise ValueError(f"{path} does not describe a valid glai model ({error})") from error
    return model


def _norm_layer(config: dict | None) -> NormFactory | None:
    """The ``norm_layer`` a config describes (files without the key have no norm)."""
    if config is None:
        return None
    settings = dict(config)
    if settings.pop("type", None) != "BatchNorm1d":
        raise ValueError(f"unknown norm layer {config!r}: expected a BatchNorm1d")
    return functools.partial(nn.BatchNorm1d, **settings)


def read_info(path: str | os.PathLike) -> dict:
    """The config and the ``info`` saved with a model: ``{"config": ..., "info": ...}``."""
    config, info, _ = _read(path, with_tensors=False)
    return {"config": config, "info": info}
