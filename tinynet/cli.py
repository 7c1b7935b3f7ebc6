"""The ``tinynet`` command line."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

import tinynet


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``tinynet`` command and its subcommands."""
    parser = argparse.ArgumentParser(
        prog="tinynet", description="A small, readable neural-network library in NumPy."
    )
    parser.add_argument("--version", action="version", version=f"tinynet {tinynet.__version__}")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command with ``argv`` (default: ``sys.argv[1:]``); return the exit status."""
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0
