"""The ``glai`` command: parse arguments and call the library."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Sequence

import numpy as np

from glai.cli.prune import add_prune, run_prune
from glai.cli.settings import add_setting_flags, settings_from_args
from glai.training.config import DEFAULT_HIDDEN_FEATURES

EXPECTED_ERRORS = (OSError, ValueError, TypeError, KeyError)
TASKS = ("auto", "classification", "regression")


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The ``glai`` command's parser: one sub-command per job."""
    parser = argparse.ArgumentParser(
        prog="glai", description="GreenLightningAI: train ReLU heads with a frozen structure."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (
        _add_demo,
        _add_fit,
        _add_predict,
        _add_compare,
        _add_bench,
        _add_inspect,
        add_prune,
    ):
        add(commands)
    return parser


def _add_demo(commands: argparse._SubParsersAction) -> None:
    demo = commands.add_parser("demo", help="GLAI against its MLP baselines, with plots")
    demo.add_argument("--out", default="glai-demo", help="directory for report and plots")
    demo.add_argument("--seeds", type=_positive_int, default=3, help="runs per model")
    demo.add_argument("--fashion-mnist", default=None, help="Fashion-MNIST IDX directory")
    demo.add_argument("--quick", action="store_true", help="small data, few epochs")
    demo.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_fit(commands: argparse._SubParsersAction) -> None:
    fit = commands.add_parser("fit", help="train on a .npz (X, y) or .csv file")
    fit.add_argument("data", help="training data: .npz with X and y, or .csv")
    fit.add_argument("--out", required=True, help="model file to write (.safetensors)")
    fit.add_argument("--label", default="label", help="CSV column with the targets")
    fit.add_argument(
        "--task",
        choices=TASKS,
        default="auto",
        help="auto (default): classification for text or booleans, and for whole numbers with "
        "at most 20 distinct values each seen twice or more; regression otherwise",
    )
    fit.add_argument(
        "--hidden",
        type=_positive_int,
        nargs="+",
        default=[DEFAULT_HIDDEN_FEATURES],
        help="GLAI hidden widths",
    )
    fit.add_argument(
        "--standardize",
        action=argparse.BooleanOptionalAction,
        help="scale each feature by the mean and std learned here (std 0 counts as 1), kept "
        "in the model file and applied by predict (default: on)",
    )
    fit.set_defaults(standardize=True)  # not given above: Python 3.10 would repeat it in help
    add_setting_flags(fit)


def _add_predict(commands: argparse._SubParsersAction) -> None:
    predict = commands.add_parser("predict", help="predict with any glai model file")
    predict.add_argument("model", help="model file")
    predict.add_argument(
        "data",
        help=".npz with X, or .csv: columns matched by name to those of fit (others ignored)",
    )
    predict.add_argument("--label", default="label", help="CSV column to ignore if present")
    predict.add_argument("--out", default=None, help="CSV to write (default: stdout)")
    predict.add_argument(
        "--proba", action="store_true", help="class probabilities, a column proba_<class> each"
    )
    predict.add_argument(
        "--task",
        choices=TASKS,
        default="auto",
        help="for a model saved by glai.save (no estimator): auto or regression write the raw "
        "outputs (output_<i>), classification the arg-max class index",
    )


def _add_compare(commands: argparse._SubParsersAction) -> None:
    compare = commands.add_parser(
        "compare",
        help="GLAI with its defaults against the MLPs and scikit-learn's models on your data",
    )
    compare.add_argument("data", help=".npz with X and y, or .csv (text columns: categorical)")
    compare.add_argument("--label", default="label", help="CSV column with the targets")
    compare.add_argument("--task", choices=TASKS, default="auto", help="as for glai fit")
    protocol = compare.add_mutually_exclusive_group()
    protocol.add_argument(
        "--folds", type=_positive_int, default=None, help="score by K-fold cross-validation"
    )
    protocol.add_argument(
        "--seeds",
        type=_positive_int,
        default=None,
        help="score on a fixed 20%% test split, once per seed (default: 5 folds up to 3,000 "
        "samples, else 3 seeds)",
    )
    compare.add_argument("--out", default="glai-compare", help="directory for report and plot")
    compare.add_argument("--quiet", action="store_true", help="no progress bars")


def _add_bench(commands: argparse._SubParsersAction) -> None:
    bench = commands.add_parser("bench", help="the paper's use cases against baselines")
    bench.add_argument(
        "settings",
        nargs="*",
        default=["all"],
        help="panel, panel-small, panel-defaults, head, ssl, fewshot, pixels, perf, variants, "
        "transformer, faults, fuzz, structure, prune or all (default: all but panel-small)",
    )
    bench.add_argument("--out", default="results", help="results directory")
    bench.add_argument("--quick", action="store_true", help="small subsets, for tests")
    bench.add_argument("--cache", default=None, help="feature cache directory")
    bench.add_argument("--fashion-mnist", default=None, help="Fashion-MNIST IDX directory")
    bench.add_argument("--quiet", action="store_true", help="no progress bars")
    bench.add_argument(
        "--half",
        choices=("choosing", "checking", "both"),
        default="both",
        help="panel, panel-small and panel-defaults: the half of the panel's tasks to run, "
        "choosing (where "
        "defaults are chosen), checking (where they are judged) or both (default)",
    )


def _add_inspect(commands: argparse._SubParsersAction) -> None:
    inspect = commands.add_parser("inspect", help="describe a model file")
    inspect.add_argument("model", help="model file")
    inspect.add_argument("--json", action="store_true", help="print JSON")


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


def _note(args: argparse.Namespace, text: str) -> None:
    """One line on stderr about a choice the command made."""
    print(f"glai {args.command}: note: {text}", file=sys.stderr)


def _fit(args: argparse.Namespace) -> None:
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from glai.cli.destination import check_destination, writing
    from glai.cli.tables import load_table
    from glai.sklearn.persistence import save_estimator

    check_destination(args.out)
    table = load_table(args.data, args.label)
    task = _task_of(args, table.labels)
    estimator = build_estimator(args, task)
    model = make_pipeline(StandardScaler(), estimator) if args.standardize else estimator
    model.fit(table.features, table.labels)
    with writing(args.out):
        save_estimator(model, args.out, feature_names=table.columns)
    history = estimator.history_
    validation = (
        f"best validation {history.metric} {history.best_metric:.4f}"
        if history.best_metric is not None
        else "no validation split"
    )
    print(
        f"{task}: {len(table.features)} samples, {table.features.shape[1]} features; "
        f"structure frozen after epoch {history.switch_epoch}, {validation}; "
        f"model written to {args.out}"
    )


def _task_of(args: argparse.Namespace, labels: np.ndarray) -> str:
    """``--task``, or the task the targets call for (said on stderr) for ``auto``; a
    classification is checked to have two classes or more."""
    from glai.sklearn.persistence import task_and_reason

    task = args.task
    if task == "auto":
        task, reason = task_and_reason(labels)
        other = "regression" if task == "classification" else "classification"
        _note(args, f"task {task}: {reason}; to override: --task {other}")
    if task == "classification":
        _check_classes(args.data, labels)
    return task


def _check_classes(path: str, labels: np.ndarray) -> None:
    """Raise unless ``labels`` hold at least two classes."""
    classes = np.unique(labels)
    if len(classes) < 2:
        raise ValueError(
            f"{path}: every target is {classes[0].item()!r}; classification needs at least "
            "2 classes"
        )


def _predict(args: argparse.Namespace) -> None:
    from glai.cli.destination import check_destination, writing
    from glai.cli.predictor import Predictor
    from glai.cli.tables import format_predictions, load_table
    from glai.io.atomic import write_atomic

    if args.out is not None:
        check_destination(args.out)
    predictor = Predictor(args.model)
    table = load_table(args.data, args.label, require_label=False, columns=predictor.feature_names)
    if table.ignored:
        _note(args, f"ignoring column(s) the model was not trained on: {', '.join(table.ignored)}")
    features = table.features
    if features.shape[1] != predictor.in_features:
        raise ValueError(
            f"{args.data} has {features.shape[1]} feature columns; the model was trained on "
            f"{predictor.in_features}"
        )
    if predictor.task is None and args.task == "auto" and not args.proba:
        _note(
            args,
            f"{args.model} holds a bare {predictor.kind} (no estimator info): writing its raw "
            "outputs; --task classification gives class indices, --proba probabilities",
        )
    columns, values = predictor.outputs(features, args.task, args.proba)
    text = format_predictions(columns, values)
    if args.out is None:
        sys.stdout.write(text)
        return
    with writing(args.out):
        write_atomic(args.out, lambda handle: handle.write(text.encode()))
    print(f"{len(features)} predictions written to {args.out}")


def _compare(args: argparse.Namespace) -> None:
    from pathlib import Path

    from glai.cli.tables import load_table
    from glai_bench.compare import run_comparison, user_task

    table = load_table(args.data, args.label, keep_text=True)
    if table.text:
        _note(args, f"categorical column(s), one-hot encoded: {', '.join(table.text)}")
    task = _task_of(args, table.labels)
    data, budget = user_task(
        Path(args.data).name,
        table.features,
        table.labels,
        task,
        table.columns,
        table.text,
        args.folds,
        args.seeds,
    )
    result = run_comparison(data, budget, Path(args.out), not args.quiet)
    print(result["table"])
    print(f"report and plot written to {args.out}/")


def _bench(args: argparse.Namespace) -> None:
    from glai_bench.runner import ALL_SETTINGS, run_bench

    settings = list(ALL_SETTINGS) if args.settings in (["all"], []) else args.settings
    report = run_bench(
        settings,
        args.out,
        quick=args.quick,
        cache=args.cache,
        fashion_root=args.fashion_mnist,
        progress=not args.quiet,
        half=args.half,
    )
    print(report)
    print(f"results written to {args.out}/")


def _inspect(args: argparse.Namespace) -> None:
    from glai.cli.describe import describe_model_file, format_description

    description = describe_model_file(args.model)
    print(json.dumps(description, indent=2) if args.json else format_description(description))


_EXTRAS = {
    "demo": "bench",
    "bench": "bench",
    "compare": "bench",
    "fit": "sklearn",
    "predict": "sklearn",
    "prune": "sklearn",
}
"""The extra that each command's optional dependencies come with."""

_COMMANDS = {
    "demo": _demo,
    "fit": _fit,
    "predict": _predict,
    "compare": _compare,
    "inspect": _inspect,
    "bench": _bench,
    "prune": run_prune,
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
