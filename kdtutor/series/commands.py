"""What ``kdtutor run / list / datasets / report / handout / book`` do with their parsed arguments.

Each ``*_command(args)`` calls the module that does the work (:mod:`kdtutor.series.runner`,
:mod:`kdtutor.series.report`, :mod:`kdtutor.series.handout`, :mod:`kdtutor.series.book`),
prints its outcome and returns the exit code (see :mod:`kdtutor.series.cli`); ``kdtutor
doctor`` is :mod:`kdtutor.series.doctor`.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from kdtutor.data import DATASET_NAMES, offline_sources
from kdtutor.series import failures, notebooks, overhead, progress, run_summary, runner


def usage_error(command: str, message: str) -> int:
    """Print ``kdtutor COMMAND: error: MESSAGE`` on stderr; return 2 (bad arguments)."""
    print(f"kdtutor {command}: error: {message}", file=sys.stderr)
    return 2


def run_command(args) -> int:
    """``kdtutor run``: check the arguments, run the notebooks, check the claims, report."""
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
        return usage_error("run", str(error))

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
    claim_outcomes = run_summary.check_claims(plan, outcome)
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
    run_summary.print_summary(plan, record, reports)
    if outcome.failure:
        print(failures.describe_failure(outcome.failure), file=sys.stderr)
        return 130 if outcome.failure["error"] == "KeyboardInterrupt" else 1
    if claim_outcomes and not all(item.holds for item in claim_outcomes):
        return 1
    if args.open and reports:
        import webbrowser

        webbrowser.open(reports[1].as_uri())
    return 0


def list_command(args) -> int:
    """``kdtutor list``: the notebooks, their titles, estimated times and (opt.) parameters."""
    try:
        found = notebooks.discover(args.notebooks or notebooks.NOTEBOOKS_DIR)
    except notebooks.UsageError as error:
        return usage_error("list", str(error))
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


def datasets_command(_args) -> int:
    """``kdtutor datasets``: which datasets load offline here, and from where."""
    sources = offline_sources()
    width = max(len(name) for name in DATASET_NAMES)
    for name in DATASET_NAMES:
        where = sources[name]
        status = f"offline: {where}" if where else "needs a download (see README, data section)"
        print(f"{name:<{width}}  {status}")
    return 0


def report_command(args) -> int:
    """``kdtutor report DIR``: (re)write the report of a folder holding a ``results.json``."""
    from kdtutor.series import report, results

    try:
        markdown, page = report.write_report(Path(args.dir).expanduser())
    except (FileNotFoundError, results.ResultsFileError) as error:
        return usage_error("report", str(error))
    print(f"Report: {page}  (and {markdown.name})")
    return 0


def handout_command(args) -> int:
    """``kdtutor handout DIR``: the class's notebooks (or nbgrader's source version)."""
    from kdtutor import _quiet
    from kdtutor.series import handout

    _quiet.import_tensorflow()  # the teacher's cache imports Keras: without its start-up noise

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
        return usage_error("handout", str(error))
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


def book_command(args) -> int:
    """``kdtutor book``: the series as a static website, from the committed notebooks or a run."""
    from kdtutor.series import book

    try:
        source, out = book.check_arguments(args.source, args.out)
    except notebooks.UsageError as error:
        return usage_error("book", str(error))
    skipped = book.skipped_notebooks(source)
    if skipped:
        print(
            f"kdtutor book: skipped {', '.join(skipped)}: a chapter's notebook is named "
            f"{book.NAMING}",
            file=sys.stderr,
        )
    print(f"kdtutor book: {source} -> {out}", flush=True)
    try:
        index = book.build_book(source, out)
    except notebooks.UsageError as error:  # --out changed while the book was built
        return usage_error("book", str(error))
    except RuntimeError as error:
        print(f"kdtutor book: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:  # the new book was in a temporary folder: --out is as it was
        print(f"kdtutor book: interrupted; {out} is unchanged", file=sys.stderr)
        return 130
    print(f"The book: {index}  (open it in a browser; the folder reads offline)")
    return 0
