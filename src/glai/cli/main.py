"""The ``glai`` command: parse arguments and call the library."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

import numpy as np

from glai.cli.settings import add_setting_flags, settings_from_args

EXPECTED_ERRORS = (OSError, ValueError, TypeError, KeyError)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="glai", description="GreenLightningAI: train ReLU heads with a frozen structure."
    )
    commands = parser.add_subparsers(dest="command", required=True)

    demo = commands.add_parser("demo", help="GLAI against its MLP baselines, with plots")
    demo.add_argument("--out", default="glai-demo", help="directory for report and plots")
    demo.add_argument("--seeds", type=_positive_int, default=3, help="runs per model")
    demo.add_argument("--fashion-mnist", default=None, help="Fashion-MNIST IDX directory")
    demo.add_argument("--quick", action="store_true", help="small data, few epochs")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")

    fit = commands.add_parser("fit", help="train on a .npz (X, y) or .csv file")
    fit.add_argument("data", help="training data: .npz with X and y, or .csv")
    fit.add_argument("--out", required=True, help="model file to write (.safetensors)")
    fit.add_argument("--label", default="label", help="CSV column with the targets")
    fit.add_argument(
        "--task",
        choices=("auto", "classification", "regression"),
        default="auto",
        help="auto: regression for non-integer numeric targets",
    )
    fit.add_argument(
        "--hidden", type=_positive_int, nargs="+", default=[128], help="GLAI hidden widths"
    )
    add_setting_flags(fit)

    predict = commands.add_parser("predict", help="predict with a model written by fit")
    predict.add_argument("model", help="model file")
    predict.add_argument("data", help=".npz with X, or .csv (a label column is ignored)")
    predict.add_argument("--label", default="label", help="CSV column to ignore if present")
    predict.add_argument("--out", default=None, help="CSV to write (default: stdout)")

    bench = commands.add_parser("bench", help="the paper's use cases against baselines")
    bench.add_argument(
        "settings",
        nargs="*",
        default=["all"],
        help="head, ssl, fewshot, pixels, perf, variants or all (default: all)",
    )
    bench.add_argument("--out", default="results", help="results directory")
    bench.add_argument("--quick", action="store_true", help="small subsets, for tests")
    bench.add_argument("--cache", default=None, help="feature cache directory")
    bench.add_argument("--fashion-mnist", default=None, help="Fashion-MNIST IDX directory")
    bench.add_argument("--quiet", action="store_true", help="no progress bars")

    inspect = commands.add_parser("inspect", help="describe a model file")
    inspect.add_argument("model", help="model file")
    inspect.add_argument("--json", action="store_true", help="print JSON")
    return parser


def _demo(args: argparse.Namespace) -> None:
    from glai_bench.demo import run_demo

    report = run_demo(
        args.out,
        seeds=range(args.seeds),
        fashion_root=args.fashion_mnist,
        quick=args.quick,
        progress=not args.quiet,
    )
    print(report)
    print(f"report and plots written to {args.out}/")


def build_estimator(args: argparse.Namespace, task: str):
    """The unfitted estimator that ``glai fit`` trains: ``--hidden`` and every setting flag."""
    from glai.sklearn.estimators import GLAIClassifier, GLAIRegressor, estimator_params

    estimator_class = GLAIClassifier if task == "classification" else GLAIRegressor
    return estimator_class(args.hidden, **estimator_params(settings_from_args(args)))


def _fit(args: argparse.Namespace) -> None:
    from glai.cli.tables import load_table
    from glai.sklearn.persistence import save_estimator, task_of

    features, labels = load_table(args.data, args.label)
    task = task_of(labels) if args.task == "auto" else args.task
    estimator = build_estimator(args, task).fit(features, labels)
    save_estimator(estimator, args.out)
    history = estimator.history_
    print(
        f"{task}: {len(features)} samples, {features.shape[1]} features; "
        f"structure frozen after epoch {history.switch_epoch}, "
        f"best validation {history.metric} {history.best_metric:.4f}; model written to "
        f"{args.out}"
    )


def _predict(args: argparse.Namespace) -> None:
    from glai.cli.tables import load_table, write_predictions
    from glai.sklearn.persistence import load_estimator

    estimator = load_estimator(args.model)
    features, _ = load_table(args.data, args.label, require_label=False)
    if features.shape[1] != estimator.n_features_in_:
        raise ValueError(
            f"{args.data} has {features.shape[1]} feature columns; the model was trained on "
            f"{estimator.n_features_in_}"
        )
    text = write_predictions(np.asarray(estimator.predict(features)), args.out)
    if args.out is None:
        sys.stdout.write(text)
    else:
        print(f"{len(features)} predictions written to {args.out}")


def _bench(args: argparse.Namespace) -> None:
    from glai_bench.runner import SETTINGS, run_bench

    settings = list(SETTINGS) if args.settings in (["all"], []) else args.settings
    report = run_bench(
        settings,
        args.out,
        quick=args.quick,
        cache=args.cache,
        fashion_root=args.fashion_mnist,
        progress=not args.quiet,
    )
    print(report)
    print(f"results written to {args.out}/")


def _inspect(args: argparse.Namespace) -> None:
    from glai.cli.describe import describe_model_file, format_description

    description = describe_model_file(args.model)
    print(json.dumps(description, indent=2) if args.json else format_description(description))


_EXTRAS = {"demo": "bench", "bench": "bench", "fit": "sklearn", "predict": "sklearn"}
"""The extra that each command's optional dependencies come with."""

_COMMANDS = {
    "demo": _demo,
    "fit": _fit,
    "predict": _predict,
    "inspect": _inspect,
    "bench": _bench,
}


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``glai`` command; returns the exit code."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    try:
        _COMMANDS[args.command](args)
    except ModuleNotFoundError as error:
        extra = _EXTRAS.get(args.command, "bench")
        print(
            f"glai {args.command}: error: it needs {error.name}, which comes with the "
            f"'{extra}' extra: pip install 'greenlightningai[{extra}]'",
            file=sys.stderr,
        )
        return 1
    except EXPECTED_ERRORS as error:
        message = str(error).strip().splitlines()[0] if str(error).strip() else repr(error)
        print(f"glai {args.command}: error: {message}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
