"""The ``kdtutor`` command line (also ``python -m kdtutor``).

``kdtutor datasets`` says which datasets load offline on this machine and from
where; ``kdtutor --version`` prints the package version. Running the notebook
series (``kdtutor run``) is tracked as a separate piece of work.
"""

from __future__ import annotations

import argparse
import sys

from kdtutor.data import DATASET_NAMES, offline_sources


def _datasets(_args) -> int:
    sources = offline_sources()
    width = max(len(name) for name in DATASET_NAMES)
    for name in DATASET_NAMES:
        where = sources[name]
        status = f"offline: {where}" if where else "needs a download (see README, data section)"
        print(f"{name:<{width}}  {status}")
    return 0


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the sub-command, return its exit code."""
    from kdtutor import __version__

    parser = argparse.ArgumentParser(
        prog="kdtutor", description="Knowledge distillation notebook series: helper commands."
    )
    parser.add_argument("--version", action="version", version=f"kdtutor {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    datasets = commands.add_parser(
        "datasets", help="list the datasets and whether each loads offline here"
    )
    datasets.set_defaults(handler=_datasets)
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return 2
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
