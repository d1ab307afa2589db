"""The ``kdtutor`` command line (also ``python -m kdtutor``): its arguments, each command's handler.

- ``kdtutor run``: execute the notebook series with papermill and write the executed
  notebooks (``.ipynb`` and ``.html``), ``results.json`` and a report (``report.html``,
  ``report.md``) into a folder
  (see :mod:`kdtutor.series.runner` and :mod:`kdtutor.series.report`).
- ``kdtutor list``: the notebooks, their titles and estimated quick/full run times.
- ``kdtutor doctor``: check the environment a newcomer may get wrong, and say how to fix it.
- ``kdtutor report DIR``: (re)write the report of a folder holding a ``results.json``.
- ``kdtutor datasets``: which datasets load offline on this machine and from where.
- ``kdtutor handout DIR``: the notebooks as a class receives them, or with ``--nbgrader`` the
  instructor's nbgrader source version (see :mod:`kdtutor.series.handout`).
- ``kdtutor book``: the series as a static website, from the committed notebooks or a run's
  (see :mod:`kdtutor.series.book`).
- ``kdtutor --version``.

Exit codes: 0 success; 1 a notebook failed or a claim of its prose did not hold
(``run``, see :mod:`kdtutor.series.claims`), a check failed (``doctor``) or a
notebook's exercises do not match its solutions (``handout``); 2 bad arguments, refused
before anything runs or is written; 130 interrupted.

The handlers are in :mod:`kdtutor.series.commands` and :mod:`kdtutor.series.doctor`.
"""

from __future__ import annotations

import argparse
import sys

from kdtutor.data import DATASET_NAMES
from kdtutor.series import notebooks
from kdtutor.series.commands import (
    book_command,
    datasets_command,
    handout_command,
    list_command,
    report_command,
    run_command,
)
from kdtutor.series.doctor import doctor_command
from kdtutor.series.profiles import PROFILES


def _parser() -> argparse.ArgumentParser:
    from kdtutor import __version__

    parser = argparse.ArgumentParser(
        prog="kdtutor",
        description="Knowledge distillation notebook series: run it, check the environment.",
        epilog="Start with `kdtutor doctor`, then `kdtutor run`. `kdtutor COMMAND --help` "
        "explains each command.",
    )
    parser.add_argument("--version", action="version", version=f"kdtutor {__version__}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")
    formatter = argparse.RawDescriptionHelpFormatter

    run = commands.add_parser(
        "run",
        help="execute the notebook series and write results and a report",
        formatter_class=formatter,
        description=(
            "Execute the numbered notebooks in order with papermill (kernel python3, one fresh\n"
            "kernel each) and write into DIR: the executed notebooks (.ipynb, and .html to\n"
            "read in a browser), results.json and a report (report.html, report.md). Stops at\n"
            "the first failing notebook and names it, the cell and the error. Arguments are\n"
            "checked before anything runs."
        ),
        epilog=(
            "examples:\n"
            "  kdtutor run                              the quick profile, offline (~5 min)\n"
            "  kdtutor run --only 01,03 --out runs/x    two notebooks into runs/x\n"
            "  kdtutor run --profile full               the full profile (hours on a CPU)\n"
            "  kdtutor run --only 03 -p SEEDS=5 -p TEMPERATURE=4.0\n"
            "exit codes: 0 ok, 1 a notebook failed, 2 bad arguments, 130 interrupted"
        ),
    )
    run.add_argument(
        "--profile",
        default="quick",
        metavar="NAME",
        help=f"settings every notebook starts from: {' | '.join(PROFILES)} (default: quick)",
    )
    run.add_argument(
        "--dataset",
        metavar="NAME",
        help=f"{' | '.join(DATASET_NAMES)} (default: the profile's; see `kdtutor datasets`)",
    )
    run.add_argument(
        "--only",
        metavar="NN,NN",
        help="run only these notebooks, by number (01,03) or name; always in series order",
    )
    run.add_argument(
        "--out",
        metavar="DIR",
        help="output folder (default: a new folder runs/<date>_<time>_<profile>)",
    )
    run.add_argument(
        "-p",
        "--parameter",
        action="append",
        metavar="NAME=VALUE",
        help="set a notebook parameter (repeatable); VALUE is a Python literal (3, 0.5, [2, 8], "
        "True, None, 'text') or plain text; injected into the notebooks whose parameters cell "
        "declares NAME (`kdtutor list --parameters`)",
    )
    run.add_argument(
        "--artifacts",
        metavar="DIR",
        help=f"cache of trained models shared by runs (default: {notebooks.ARTIFACTS_DIR})",
    )
    run.add_argument(
        "--allow-download",
        action="store_true",
        help="run even if the dataset is not available offline (Keras will download it)",
    )
    run.add_argument(
        "--force",
        action="store_true",
        help="reuse a non-empty --out folder, replacing its results, report and notebooks",
    )
    run.add_argument("--open", action="store_true", help="open report.html in a browser at the end")
    run.add_argument("--notebooks", metavar="DIR", help=argparse.SUPPRESS)
    run.set_defaults(handler=run_command)

    listing = commands.add_parser(
        "list",
        help="list the notebooks with their titles and estimated run times",
        description="List the numbered notebooks, their titles and estimated quick/full run "
        "times on a 2-core CPU.",
    )
    listing.add_argument(
        "--parameters",
        action="store_true",
        help="also show each notebook's parameters (what `kdtutor run -p` can set)",
    )
    listing.add_argument("--notebooks", metavar="DIR", help=argparse.SUPPRESS)
    listing.set_defaults(handler=list_command)

    doctor = commands.add_parser(
        "doctor",
        help="check Python, TensorFlow, Keras 3, the Jupyter kernel, datasets, disk, CPU, GPU",
        description="Check the environment a newcomer may get wrong and say how to fix each "
        "problem. Exit code 1 if any check FAILs.",
    )
    doctor.set_defaults(handler=doctor_command)

    report = commands.add_parser(
        "report",
        help="(re)write report.html and report.md from a folder's results.json",
        description="Write report.html and report.md into DIR from DIR/results.json, e.g. "
        "after running notebooks by hand: kdtutor report runs/latest",
    )
    report.add_argument("dir", metavar="DIR", help="a folder holding results.json")
    report.set_defaults(handler=report_command)

    datasets = commands.add_parser(
        "datasets",
        help="list the datasets and whether each loads offline here",
        description="List the datasets and whether each loads offline here, and from where.",
    )
    datasets.set_defaults(handler=datasets_command)

    handout = commands.add_parser(
        "handout",
        help="write the notebooks as a class receives them (or the nbgrader source version)",
        formatter_class=formatter,
        description=(
            "Write into DIR the notebooks as a class receives them: outputs and execution\n"
            "counts cleared, no solutions, the exercises and their checks kept, nbval markers\n"
            "removed, kernel python3; the trained teacher from the model cache in artifacts/;\n"
            "what a student installs (the kdtutor wheel in wheels/, built here offline, and a\n"
            "requirements.txt naming it); and a README.md for students. With --nbgrader, write\n"
            "the instructor's nbgrader course instead: nbgrader_config.py (exchange folder in\n"
            "DIR) and source/NN_name/NN_name.ipynb with each solution between nbgrader's\n"
            "markers and each check as a locked, graded test cell, the teacher beside it.\n"
            "Refuses a non-empty DIR unless --force."
        ),
        epilog=(
            "examples:\n"
            "  kdtutor handout ~/class                 every notebook, the teacher, the wheel\n"
            "  kdtutor handout ~/class --no-artifacts  no teacher: each notebook trains it\n"
            "  kdtutor handout ~/class --only 01,03\n"
            "  kdtutor handout ~/course --nbgrader     then nbgrader validate ... (README.md)\n"
            "exit codes: 0 ok, 1 an exercise does not match its solution, 2 bad arguments"
        ),
    )
    handout.add_argument("dir", metavar="DIR", help="the folder to write (new or empty)")
    handout.add_argument(
        "--only",
        metavar="NN,NN",
        help="only these notebooks, by number (01,03) or name; always in series order",
    )
    handout.add_argument(
        "--artifacts",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="include the trained teacher(s) from the model cache, so that students skip "
        "training it and everyone loads the same one (the default; make it first with "
        "`kdtutor run --only 01`); --no-artifacts leaves it out",
    )
    handout.add_argument(
        "--cache",
        metavar="CACHE",
        help=f"the model cache the teacher is copied from (default: {notebooks.ARTIFACTS_DIR}, "
        "the one `kdtutor run` and the notebooks use)",
    )
    handout.add_argument(
        "--nbgrader",
        action="store_true",
        help="write the instructor's nbgrader source version (with solutions) instead",
    )
    handout.add_argument(
        "--force",
        action="store_true",
        help="write into a non-empty DIR, over files of the same names; nothing else is removed",
    )
    handout.add_argument("--notebooks", metavar="DIR", help=argparse.SUPPRESS)
    handout.set_defaults(handler=handout_command)

    book = commands.add_parser(
        "book",
        help="build the series as a website (a book) that reads offline",
        formatter_class=formatter,
        description=(
            "Build the series as a static website: a landing page, one chapter per notebook\n"
            "with its stored outputs (never executed again), the instructors' guide, the run's\n"
            "report (with --from) and the kdtutor package's API, with navigation, search and\n"
            "each notebook's .ipynb to download. The site loads nothing from the network: open\n"
            "its index.html from the folder, a USB stick or any web server."
        ),
        epilog=(
            "examples:\n"
            "  kdtutor book                         the committed notebooks -> book/_build/html\n"
            "  kdtutor book --from runs/ci          a run's notebooks and report -> runs/ci/book\n"
            "  kdtutor book --out /media/usb/kdtutor\n"
            "The site is built in a temporary folder and put in place of DIR only when\n"
            "complete; DIR is replaced only if it holds an earlier book and nothing else.\n"
            "exit codes: 0 ok, 1 the build failed, 2 bad arguments, 130 interrupted"
        ),
    )
    book.add_argument(
        "--from",
        dest="source",
        metavar="RUN_DIR",
        help="a `kdtutor run` output folder: its executed notebooks (NN_name.ipynb; others are "
        "skipped, saying so) and report (default: the committed notebooks in notebooks/)",
    )
    book.add_argument(
        "--out",
        metavar="DIR",
        help="the site's folder: new, empty, or an earlier book with nothing else in it, which "
        "is replaced (default: book/_build/html, or RUN_DIR/book with --from a run)",
    )
    book.set_defaults(handler=book_command)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Parse ``argv`` (default ``sys.argv[1:]``), run the sub-command, return its exit code."""
    parser = _parser()
    args = parser.parse_args(argv)
    args.as_command = argv is None  # the `kdtutor` script and `python -m kdtutor`
    if args.command is None:
        parser.print_help()
        return 2
    return args.handler(args)


if __name__ == "__main__":
    sys.exit(main())
