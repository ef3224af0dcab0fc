"""``glai prune``: a model file without its weakest hidden units, written to another file."""

from __future__ import annotations

import argparse

import numpy as np
import torch

from glai.nn.block import GLAI
from glai.nn.mlp import MLP
from glai.nn.parameters import count_parameters
from glai.nn.pruning import SCOPES, SCORES, prune


def share_of_units(text: str) -> float:
    """``--fraction``: a number in [0, 1), or an argparse error saying what came."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number in [0, 1), got {text!r}") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(
            f"must be the share of hidden units to remove, in [0, 1), got {value}"
        )
    return value


def add_prune(commands: argparse._SubParsersAction) -> None:
    """The ``glai prune`` sub-command's arguments."""
    command = commands.add_parser(
        "prune",
        help="remove the hidden units that carry the least from a model file",
        description="Remove the hidden units that score lowest from a model file of glai fit "
        "or glai.save (a GLAI, frozen or not, or an MLP) and write the smaller model, with "
        "the file's scaling, feature names and estimator (its hidden_features set to the new "
        "widths), so that glai predict runs it. A frozen GLAI trains only its paths: "
        "glai.fit on the pruned model retrains them with the structure kept.",
    )
    command.add_argument("model", help="model file")
    command.add_argument(
        "--fraction",
        type=share_of_units,
        required=True,
        help="share of the hidden units to remove, in [0, 1)",
    )
    command.add_argument("--out", required=True, help="model file to write (.safetensors)")
    command.add_argument(
        "--by",
        choices=SCORES,
        default="path_norm",
        help="what ranks the units: the data-free L1 path norm (default), the path mass on "
        "--data (data_path_norm), or the L1 norm of each unit's weights (weight)",
    )
    command.add_argument(
        "--scope",
        choices=SCOPES,
        default="layer",
        help="remove the share from each hidden layer (default), or from all units together",
    )
    command.add_argument(
        "--data", default=None, help="inputs for --by data_path_norm: .npz with X, or .csv"
    )
    command.add_argument("--label", default="label", help="CSV column to ignore if present")


def run_prune(args: argparse.Namespace) -> None:
    """Prune ``args.model`` as the arguments say and write ``args.out``."""
    from glai.cli.destination import check_destination, writing
    from glai.cli.tables import load_table
    from glai.io.models import load, read_info, save

    if (args.by == "data_path_norm") != (args.data is not None):
        raise ValueError("--by data_path_norm reads --data FILE, and only it does")
    check_destination(args.out)
    info = read_info(args.model)["info"]
    model = load(args.model)
    inputs = None
    if args.data is not None:
        table = load_table(
            args.data, args.label, require_label=False, columns=info.get("feature_names")
        )
        inputs = _model_inputs(table.features, args, "scaler" in info, model)
    pruned = prune(model, args.fraction, by=args.by, inputs=inputs, scope=args.scope)
    with writing(args.out):
        save(pruned, args.out, info=_pruned_info(info, model, pruned, args))
    print(
        f"{type(model).__name__}: hidden widths {model.hidden_features} -> "
        f"{pruned.hidden_features}, parameters {count_parameters(model):,} -> "
        f"{count_parameters(pruned):,}; model written to {args.out}"
    )


def _model_inputs(
    features: np.ndarray, args: argparse.Namespace, scaled: bool, model: GLAI | MLP
) -> torch.Tensor:
    """The table's features as the model sees them: through the scaler saved with it (if
    ``scaled``), in its dtype."""
    if features.shape[1] != model.in_features:
        raise ValueError(
            f"{args.data} has {features.shape[1]} feature columns; the model was trained on "
            f"{model.in_features}"
        )
    if scaled:
        from glai.sklearn.persistence import load_estimator

        features = load_estimator(args.model)[0].transform(features)
    weight = next(model.parameters())
    return torch.as_tensor(features, dtype=weight.dtype, device=weight.device)


def _pruned_info(
    info: dict, model: GLAI | MLP, pruned: GLAI | MLP, args: argparse.Namespace
) -> dict:
    """The file's info for the pruned model: an estimator's ``hidden_features`` follow the
    new widths, and what was removed is recorded."""
    updated = dict(info)
    if "params" in info:
        updated["params"] = {**info["params"], "hidden_features": pruned.hidden_features}
    updated["pruned"] = {
        "hidden_features_before": model.hidden_features,
        "fraction": args.fraction,
        "by": args.by,
        "scope": args.scope,
    }
    return updated
