"""The training flags of ``glai fit``: one per :class:`FitConfig` setting, generated.

Each flat setting (the switch rule's fields inline) becomes ``--name-with-dashes`` with the
config's default and help: integers, numbers and words by the field's type (``none`` is
accepted where the setting may be ``None``), the field's ``choices`` where it has them, and
booleans as ``--flag/--no-flag``. A value is checked by building the config with it, so a
bad one is refused while the arguments are parsed, with the config's own message.
"""

from __future__ import annotations

import argparse
import dataclasses
import typing
from collections.abc import Callable
from typing import Any

from glai.training.config import FitConfig, flat_defaults, flat_fields

OLD_SPELLINGS: dict[str, tuple[str, ...]] = {"progress": ("--verbose",)}
"""Earlier flags that still set a setting."""

_KINDS = (bool, int, float, str)  # bool first: it is also an int


def flag(name: str) -> str:
    """The flag of the setting ``name``: ``batch_size`` -> ``--batch-size``."""
    return "--" + name.replace("_", "-")


def setting_types() -> dict[str, Any]:
    """Every flat setting's annotated type, nested dataclasses (the switch rule) inline."""
    hints = typing.get_type_hints(FitConfig)
    for hint in list(hints.values()):
        if dataclasses.is_dataclass(hint):
            hints.update(typing.get_type_hints(hint))
    return hints


def add_setting_flags(parser: argparse.ArgumentParser) -> None:
    """Add one flag per training setting to ``parser``; the destination is the setting."""
    types, defaults = setting_types(), flat_defaults()
    for item in flat_fields():
        name, default = item.name, defaults[item.name]
        kind, nullable = _kind_of(name, types[name])
        text = item.metadata.get("help", "")
        if "default" not in text:
            text += f" (default: {_shown(default)})"
        text = text.replace("%", "%%")  # argparse formats the help with %
        names = (flag(name), *OLD_SPELLINGS.get(name, ()))
        if kind is bool:
            parser.add_argument(*names, dest=name, action=argparse.BooleanOptionalAction, help=text)
            continue
        choices = item.metadata.get("choices")
        parser.add_argument(
            *names,
            dest=name,
            type=_parser_of(name, kind, nullable),
            choices=(*choices, *((None,) if nullable else ())) if choices else None,
            metavar=_metavar(name, kind, choices) + ("|none" if nullable else ""),
            help=text,
        )
    # the defaults go in afterwards: given to BooleanOptionalAction, Python 3.10 would add
    # them to the help a second time
    parser.set_defaults(**defaults)


def settings_from_args(args: argparse.Namespace) -> dict[str, Any]:
    """The training settings (flat config names) that parsed arguments hold."""
    return {item.name: getattr(args, item.name) for item in flat_fields()}


def _kind_of(name: str, hint: Any) -> tuple[type, bool]:
    """The command-line type of a setting annotated ``hint``, and whether it may be None."""
    members = typing.get_args(hint) if typing.get_origin(hint) is not None else (hint,)
    nullable = type(None) in members
    for kind in _KINDS:
        if kind in members:
            return kind, nullable
    raise TypeError(
        f"training setting {name!r} of type {hint} has no command-line form: "
        "give it one in glai/cli/settings.py"
    )


def _parser_of(name: str, kind: type, nullable: bool) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        if nullable and text.strip().lower() == "none":
            value = None
        else:
            try:
                value = kind(text)
            except ValueError:
                expected = kind.__name__ + (" or none" if nullable else "")
                raise argparse.ArgumentTypeError(f"expected {expected}, got {text!r}") from None
        try:
            FitConfig().replace(**{name: value})
        except (TypeError, ValueError) as error:
            raise argparse.ArgumentTypeError(str(error)) from None
        return value

    parse.__name__ = kind.__name__
    return parse


def _metavar(name: str, kind: type, choices: tuple | None) -> str:
    if choices:
        return "{" + ",".join(choices) + "}"
    return {int: "N", float: "X"}.get(kind, name.upper())


def _shown(value: Any) -> str:
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "on" if value else "off"
    return str(value)
