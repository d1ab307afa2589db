"""The ``kdtutor`` command line (also ``python -m kdtutor``).

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
- ``kdtutor --version``.

Exit codes: 0 success; 1 a notebook failed or a claim of its prose did not hold
(``run``, see :mod:`kdtutor.series.claims`), a check failed (``doctor``) or a
notebook's exercises do not match its solutions (``handout``); 2 bad arguments, refused
before anything runs or is written; 130 interrupted.
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
import time
from pathlib import Path

from kdtutor.data import DATASET_NAMES, offline_sources
from kdtutor.series import claims, failures, machine, notebooks, overhead, progress, results, runner
from kdtutor.series.profiles import PROFILES


def _datasets(_args) -> int:
    sources = offline_sources()
    width = max(len(name) for name in DATASET_NAMES)
    for name in DATASET_NAMES:
        where = sources[name]
        status = f"offline: {where}" if where else "needs a download (see README, data section)"
        print(f"{name:<{width}}  {status}")
    return 0


# --- kdtutor run -----------------------------------------------------------------------------


def _error(command: str, message: str) -> int:
    print(f"kdtutor {command}: error: {message}", file=sys.stderr)
    return 2


def _run(args) -> int:
    from kdtutor.series import report

    # As a command, the wall time counts from this process's start (its imports are overhead
    # too); called as a function (tests, a notebook) it counts from here.
    since_start = overhead.process_seconds() if args.as_command else None
    started = time.perf_counter() - (since_start or 0.0)
    try:
        plan = runner.plan_run(
            profile=args.profile,
            dataset=args.dataset,
            only=args.only,
            out=args.out,
            artifacts=args.artifacts,
            parameters=args.parameter or (),
            allow_download=args.allow_download,
            force=args.force,
            notebooks_dir=args.notebooks or notebooks.NOTEBOOKS_DIR,
        )
    except notebooks.UsageError as error:
        return _error("run", str(error))

    dataset = plan.dataset + ("" if plan.dataset_given else f" (the {plan.profile} profile's)")
    source = plan.dataset_source or "not offline: it will be downloaded"
    estimate = plan.estimate_seconds()
    print(
        f"kdtutor run: {len(plan.notebooks)} notebook(s), profile {plan.profile}, dataset "
        f"{dataset} [{source}], estimated {progress.format_seconds(estimate)}"
    )
    print(f"  output:    {plan.out_dir}")
    print(f"  artifacts: {plan.artifacts_dir} (trained models shared between runs)")
    for name, value in plan.parameters.items():
        takers = [nb.number for nb in plan.notebooks if name in plan.injected[nb.stem]]
        print(f"  -p {name}={value!r} -> notebook(s) {', '.join(takers)}")
    sys.stdout.flush()

    outcome = runner.execute(plan, started=started)
    claim_outcomes = _check_claims(plan, outcome)
    report_start = time.perf_counter()
    reports = None
    try:
        reports = report.write_report(plan.out_dir, notebooks.discover(plan.notebooks_dir))
    except Exception as error:  # the run's own outcome matters more than its report
        print(f"WARNING: the report could not be written: {type(error).__name__}: {error}")
    record = overhead.finish_record(
        plan.out_dir,
        outcome.run,
        started=started,
        report_seconds=time.perf_counter() - report_start,
        startup_seconds=since_start,
    )
    _print_summary(plan, record, reports)
    if outcome.failure:
        print(failures.describe_failure(outcome.failure), file=sys.stderr)
        return 130 if outcome.failure["error"] == "KeyboardInterrupt" else 1
    if claim_outcomes and not all(item.holds for item in claim_outcomes):
        return 1
    if args.open and reports:
        import webbrowser

        webbrowser.open(reports[1].as_uri())
    return 0


def _check_claims(plan, outcome) -> list:
    """Check the prose's claims (notebooks/claims.json) for the notebooks that ran; print them.

    Claims are made for a profile as it stands: a run with ``-p`` overrides or another
    dataset is not what the prose describes, so its claims are listed as not checked.
    The outcome is stored in ``results.json["_run"]["claims"]`` for the report.
    """
    ran = [stem for stem, timing in outcome.run["notebooks"].items() if timing["status"] == "ok"]
    if plan.parameters or plan.dataset != PROFILES[plan.profile]["dataset"]:
        why = "-p overrides" if plan.parameters else f"dataset {plan.dataset}"
        print(f"Claims:   not checked (the run has {why}; the prose describes the profile)")
        _store_claims(plan, outcome, {"checked": False, "why": why})
        return []
    try:
        outcomes = claims.check(results.load(plan.out_dir), plan.profile, notebooks=ran)
    except (claims.ClaimsFileError, results.ResultsFileError) as error:
        print(f"Claims:   could not be checked: {error}")
        _store_claims(plan, outcome, {"checked": False, "why": str(error)})
        return []
    failed = [item for item in outcomes if not item.holds]
    if not outcomes:
        why = "no notebook completed" if not ran else "the notebooks that ran make none"
        print(f"Claims:   none checked ({why})")
    else:
        print(f"Claims:   {len(outcomes) - len(failed)} of {len(outcomes)} hold")
    for item in failed:
        print(f"  FAILS   {item.claim.notebook}: {item.claim.text} ({item.detail})")
    _store_claims(plan, outcome, {
        "checked": True,
        "total": len(outcomes),
        "failed": [{"notebook": item.claim.notebook, "claim": item.claim.text,
                    "detail": item.detail} for item in failed],
    })  # fmt: skip
    return outcomes


def _store_claims(plan, outcome, value: dict) -> None:
    outcome.run["claims"] = value
    results.write_run_record(plan.out_dir, outcome.run)


def _print_summary(plan, record: dict, reports) -> None:
    timings = record["notebooks"]
    done = sum(t["status"] == "ok" for t in timings.values())
    wall, own_total = record["wall_seconds"], record["notebook_seconds_total"]
    print()
    print(
        f"{'Finished' if record['status'] == 'ok' else 'Stopped'}: {done} of "
        f"{len(plan.notebooks)} notebook(s) completed, wall time {progress.format_seconds(wall)} "
        f"({wall:.1f} s)."
    )
    width = max(len(stem) for stem in [*timings, *record.get("not_run", []), "notebook"])

    def seconds(value):
        return f"{value:.1f} s" if value is not None else "—"

    print(f"  {'notebook':<{width}}  {'status':<6}  {'runner':>8}  {'kernel':>7}  {'own':>8}")
    for stem, timing in timings.items():
        print(
            f"  {stem:<{width}}  {timing['status']:<6}  {seconds(timing['wall_seconds']):>8}  "
            f"{seconds(timing.get('kernel_start_seconds')):>7}  "
            f"{seconds(timing.get('notebook_seconds')):>8}"
        )
    for stem in record.get("not_run", []):
        print(f"  {stem:<{width}}  not run")
    print(
        "  runner = wall time of the notebook in papermill; kernel = kernel start-up; "
        "own = the notebook's recorded `seconds` (imports included)"
    )
    if record["status"] == "ok":
        ratio = record.get("overhead_ratio")
        share = f" = {100 * ratio:.1f} % of the notebooks' own time" if ratio is not None else ""
        parts = record["overhead_parts"]
        print(
            f"  overhead: {record['overhead_seconds']:.1f} s (wall {wall:.1f} s - notebooks' own "
            f"{own_total:.1f} s){share}:\n"
            f"    kernel start-ups {parts['kernel_start']:.1f} s, this command's "
            f"start-up {parts['command_start']:.1f} s, papermill and other "
            f"{parts['papermill_and_other']:.1f} s, the HTML copies {parts['html']:.1f} s, "
            f"the report {parts['report']:.1f} s"
        )
    print(f"Results:  {plan.out_dir / 'results.json'}")
    if reports:
        print(f"Report:   {reports[1]}  (and {reports[0].name})")


# --- kdtutor list ----------------------------------------------------------------------------


def _list(args) -> int:
    try:
        found = notebooks.discover(args.notebooks or notebooks.NOTEBOOKS_DIR)
    except notebooks.UsageError as error:
        return _error("list", str(error))
    if not found:
        print("No numbered notebooks (NN_name.ipynb) found.")
        return 0
    width = max(len(nb.stem) for nb in found)
    print(f"{'notebook':<{width}}  {'quick':>6}  {'full':>7}  title")
    for nb in found:
        estimates = (runner.estimate_seconds([nb], profile) for profile in ("quick", "full"))
        title = nb.title if not nb.problem else f"(cannot be read: {nb.problem})"
        quick, full = (f"~{progress.format_seconds(s)}" if s else "?" for s in estimates)
        print(f"{nb.stem:<{width}}  {quick:>6}  {full:>7}  {title}")
        if args.parameters:
            for name, info in nb.parameters.items():
                declared = f"{name}: {info['type']}" if info["type"] else name
                comment = f"  # {info['help']}" if info["help"] else ""
                print(f"    {declared} = {info['default']}{comment}")
    totals = (runner.estimate_seconds(found, profile) for profile in ("quick", "full"))
    quick, full = (f"~{progress.format_seconds(s)}" if s else "?" for s in totals)
    print(f"{'all':<{width}}  {quick:>6}  {full:>7}  (2-core CPU, trained teacher reused)")
    print(
        "Times are estimates: measured on a 2-core CPU (full: docs/results/full/). "
        "`kdtutor run` measures the real ones."
    )
    return 0


# --- kdtutor report --------------------------------------------------------------------------


def _report(args) -> int:
    from kdtutor.series import report, results

    try:
        markdown, page = report.write_report(Path(args.dir).expanduser())
    except (FileNotFoundError, results.ResultsFileError) as error:
        return _error("report", str(error))
    print(f"Report: {page}  (and {markdown.name})")
    return 0


# --- kdtutor handout -------------------------------------------------------------------------


def _handout(args) -> int:
    from kdtutor.series import handout

    try:
        written = handout.write_handout(
            args.dir,
            only=args.only,
            artifacts=args.artifacts,
            cache_dir=args.cache,
            nbgrader=args.nbgrader,
            force=args.force,
            notebooks_dir=args.notebooks or notebooks.NOTEBOOKS_DIR,
        )
    except notebooks.UsageError as error:
        return _error("handout", str(error))
    except ValueError as error:  # the series itself: an exercise without its solution
        print(f"kdtutor handout: error: {error}", file=sys.stderr)
        return 1
    out = Path(args.dir).expanduser().resolve()
    copies = [path for path in written if path.suffix == ".ipynb"]
    teachers = [path for path in written if path.suffix == ".keras"]
    kind = "nbgrader source version" if args.nbgrader else "handout"
    print(f"kdtutor handout: {len(copies)} notebook(s), {kind}, in {out}")
    for path in written:
        print(f"  {path.relative_to(out)}")
    if not teachers:
        print("No trained teacher included (--no-artifacts): each notebook trains its own.")
    if args.nbgrader:
        first = copies[0].parent.name
        print(f"Next: cd {out} && nbgrader validate source/{first}/{first}.ipynb  (README.md)")
    else:
        print(
            f"Students, in {out}: python3 -m venv .venv, activate it, "
            "pip install -r requirements.txt, then jupyter lab .  (README.md, offline too)"
        )
    return 0


# --- kdtutor doctor --------------------------------------------------------------------------


def _doctor_checks():
    """Yield ``(level, what, fix)`` with level ``OK``, ``WARN`` or ``FAIL``."""
    import kdtutor
    from kdtutor import _quiet

    tensorflow_works = False
    try:
        _quiet.import_tensorflow()  # the command line starts the series: its noise stays out
        summary = kdtutor.check_versions()  # the check the notebooks' Setup cells make
    except RuntimeError as error:  # its message says how to fix it
        yield "FAIL", str(error), None
    except ImportError as error:
        yield (
            "FAIL",
            f"TensorFlow or Keras cannot be imported: {error}",
            "create a fresh virtual environment and run: pip install -r requirements.txt",
        )
    else:
        tensorflow_works = True
        yield "OK", f"{summary}; Python at {sys.executable}", None
        import keras

        if keras.backend.backend() != "tensorflow":
            yield (
                "WARN",
                f"Keras backend is {keras.backend.backend()!r} (KERAS_BACKEND); notebook 04's "
                "LiteRT conversion needs TensorFlow",
                "unset KERAS_BACKEND (or set it to tensorflow)",
            )

    import importlib.util

    legacy = os.environ.get("TF_USE_LEGACY_KERAS", "")
    legacy_on = legacy.lower() in ("1", "true", "yes")
    if importlib.util.find_spec("tf_keras") is None:
        state = f"set to {legacy!r}" if legacy else "unset"
        yield "OK", f"tf_keras (Keras 2) not installed; TF_USE_LEGACY_KERAS {state}", None
    elif legacy_on:
        yield (
            "FAIL",
            f"tf_keras is installed and TF_USE_LEGACY_KERAS={legacy}: tf.keras is Keras 2, "
            "not Keras 3",
            "unset TF_USE_LEGACY_KERAS and pip uninstall tf_keras",
        )
    else:
        yield (
            "WARN",
            "tf_keras (Keras 2) is installed; unused unless TF_USE_LEGACY_KERAS is set",
            "pip uninstall tf_keras",
        )

    yield from _kernel_check()

    if notebooks.NOTEBOOKS_DIR.is_dir():
        found = notebooks.discover()
        yield "OK", f"kdtutor from {notebooks.REPO_ROOT} ({len(found)} notebooks)", None
        for nb in found:
            if nb.problem:
                yield "WARN", f"{nb.path.name} cannot be run: {nb.problem}", None
    else:
        # Installed from a wheel (a handout's): the notebooks are the handout's own files.
        yield (
            "OK",
            "kdtutor installed as a package (a handout's wheel): open the notebooks of your "
            "handout folder; `kdtutor run` needs a clone of the repository",
            None,
        )

    sources = offline_sources()
    for name in DATASET_NAMES:
        if sources[name]:
            yield "OK", f"dataset {name}: offline, {sources[name]}", None
        else:
            level = "FAIL" if name == "mnist-5k" else "WARN"
            yield level, f"dataset {name}: not available offline", runner.dataset_ways(name)

    root = notebooks.REPO_ROOT
    free = shutil.disk_usage(root).free / 1e9
    if free >= 2:
        yield "OK", f"free disk {free:.1f} GB at {root}", None
    else:
        yield (
            "WARN",
            f"free disk {free:.1f} GB at {root}; runs and trained models need ~1-2 GB",
            "free some space, or delete old runs/ folders and artifacts/",
        )

    usable = machine.usable_cpus()
    threads = f"{usable} CPU threads usable ({os.cpu_count()} in the machine)"
    if usable >= 2:
        yield "OK", f"{threads}; the quick profile is sized for 2", None
    else:
        yield "WARN", f"{threads}; the quick profile is sized for 2", "expect about twice the time"

    if not tensorflow_works:
        return
    gpus = machine.gpu_names()
    if gpus:
        yield "OK", f"GPU visible: {', '.join(gpus)}", None
    else:
        yield "OK", "no GPU visible: fine, the series is sized for a CPU", None


def _kernel_check():
    """The ``python3`` Jupyter kernel that papermill and JupyterLab start must be this Python."""
    import importlib.util

    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        yield "FAIL", "jupyter_client is not installed", "pip install -r requirements.txt"
        return
    fix = f"{sys.executable} -m ipykernel install --sys-prefix --name python3"
    try:
        spec = KernelSpecManager().get_kernel_spec(runner.KERNEL_NAME)
    except NoSuchKernel:
        yield "FAIL", "no Jupyter kernel named 'python3'", fix
        return
    if not Path(spec.resource_dir).resolve().is_relative_to(Path(sys.prefix).resolve()):
        # Jupyter takes the first 'python3' it finds; replace that one (user or system level).
        fix = f"{sys.executable} -m ipykernel install --user --name python3"
    program = spec.argv[0] if spec.argv else ""
    where = f"kernel 'python3' ({spec.resource_dir})"
    if importlib.util.find_spec("ipykernel") is None:
        yield (
            "FAIL",
            "ipykernel is not installed in this environment",
            "pip install -r requirements.txt",
        )
    elif program in ("python", "python3", "{python}"):
        yield (
            "OK",
            f"{where} runs {program!r}, which Jupyter replaces by the Python that starts it: "
            f"{sys.executable}",
            None,
        )
    elif _same_file(program, sys.executable):
        yield "OK", f"{where} runs this environment's Python {program}", None
    else:
        yield (
            "FAIL",
            f"{where} runs {program}, not this environment's Python {sys.executable}: the "
            "notebooks would import another TensorFlow/kdtutor",
            f"{fix}   (or remove {spec.resource_dir})",
        )


def _same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second) or Path(first).resolve() == Path(second).resolve()
    except OSError:
        return False


def _doctor(_args) -> int:
    print("kdtutor doctor: the environment the notebooks and `kdtutor run` need")
    counts = {"OK": 0, "WARN": 0, "FAIL": 0}
    for level, what, fix in _doctor_checks():
        counts[level] += 1
        print(f"{level:<4}  {what}")
        if fix and level != "OK":
            print(f"      fix: {fix}")
    print(f"{counts['OK']} OK, {counts['WARN']} WARN, {counts['FAIL']} FAIL")
    return 1 if counts["FAIL"] else 0


# --- the parser ------------------------------------------------------------------------------


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
    run.set_defaults(handler=_run)

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
    listing.set_defaults(handler=_list)

    doctor = commands.add_parser(
        "doctor",
        help="check Python, TensorFlow, Keras 3, the Jupyter kernel, datasets, disk, CPU, GPU",
        description="Check the environment a newcomer may get wrong and say how to fix each "
        "problem. Exit code 1 if any check FAILs.",
    )
    doctor.set_defaults(handler=_doctor)

    report = commands.add_parser(
        "report",
        help="(re)write report.html and report.md from a folder's results.json",
        description="Write report.html and report.md into DIR from DIR/results.json, e.g. "
        "after running notebooks by hand: kdtutor report runs/latest",
    )
    report.add_argument("dir", metavar="DIR", help="a folder holding results.json")
    report.set_defaults(handler=_report)

    datasets = commands.add_parser(
        "datasets",
        help="list the datasets and whether each loads offline here",
        description="List the datasets and whether each loads offline here, and from where.",
    )
    datasets.set_defaults(handler=_datasets)

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
    handout.set_defaults(handler=_handout)
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
