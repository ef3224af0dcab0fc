"""The ``glai`` command."""

from glai.cli.main import main

__all__ = ["main"]
