"""Plan and execute a ``kdtutor run``: check every argument, then run the notebooks in papermill.

- :func:`plan_run` checks every argument (profile, dataset and whether it loads offline,
  ``--only`` numbers, ``-p NAME=VALUE`` pairs against the names and types the selected
  notebooks declare (:mod:`kdtutor.series.notebooks`) and the ranges they can use, folders
  that must be writable) and returns a :class:`Plan`. It creates nothing, so a bad argument
  is refused before any kernel starts.
- :func:`execute` runs the plan notebook by notebook in a fresh ``python3`` kernel each,
  with ``cwd=notebooks/``, shows which notebook and cell is running and for how long
  (:mod:`kdtutor.series.progress`), stops at the first failure, and stores the runner's own
  record in ``results.json`` under the top-level key ``"_run"`` (the notebooks' entries are
  left as they wrote them). Next to each executed notebook it writes a readable copy,
  ``<stem>.html`` (:mod:`kdtutor.series.html_export`), also for the one that failed.

Bad arguments raise :class:`UsageError`; a notebook that fails is reported in the returned
:class:`RunOutcome` (notebook, cell, error, path of the partly executed notebook), not raised.
"""

from __future__ import annotations

import dataclasses
import datetime
import shutil
import sys
import time
from pathlib import Path

from kdtutor.series import engine, failures, machine, overhead, results
from kdtutor.series.html_export import write_html
from kdtutor.series.notebooks import (
    ARTIFACTS_DIR,
    NOTEBOOKS_DIR,
    REPO_ROOT,
    Notebook,
    UsageError,
    check_type,
    discover,
    parse_parameter,
    select,
)
from kdtutor.series.profiles import RUN_PARAMETERS
from kdtutor.series.progress import Progress

__all__ = [
    "RUNS_DIR",
    "KERNEL_NAME",
    "ESTIMATED_SECONDS",
    "UsageError",
    "Plan",
    "estimate_seconds",
    "RunOutcome",
    "dataset_ways",
    "plan_run",
    "execute",
]

RUNS_DIR = REPO_ROOT / "runs"  # git-ignored
KERNEL_NAME = "python3"

#: Estimated run time in seconds of each notebook on a 2-core CPU as (quick, full), with a warm
#: artifact cache (the teacher trained by 01 is reused by 02-05), kernel start-up included.
#: Quick: the committed notebooks' run of 2026-12-07. Full: the committed run in docs/results/full/
#: (03-05 re-run on 2026-12-07, see its README), rounded up.
ESTIMATED_SECONDS: dict[str, tuple[float | None, float | None]] = {
    "01_teacher_training": (30, 200),
    "02_soft_targets_and_temperature": (15, 25),
    "03_distilling_the_student": (125, 840),
    "04_compression_tradeoffs": (30, 80),
    "05_when_distillation_helps": (160, 1200),
}


# The run's own parameters that have a command-line option of their own, not -p.
_OPTIONS = {name: option for name, option in RUN_PARAMETERS.items() if option}


@dataclasses.dataclass
class Plan:
    """A checked ``kdtutor run``: what runs, with which parameters, into which folder."""

    notebooks: list[Notebook]
    profile: str
    dataset: str  # the dataset that will be used: --dataset, else the profile's
    dataset_given: bool
    dataset_source: str | None  # where it loads from offline; None = it will be downloaded
    out_dir: Path
    artifacts_dir: Path
    parameters: dict  # the -p values, parsed
    injected: dict  # stem -> the exact parameters injected into that notebook
    notebooks_dir: Path
    force: bool = False

    def estimate_seconds(self) -> float | None:
        """Sum of the estimated run times, or ``None`` if a notebook has no estimate."""
        return estimate_seconds(self.notebooks, self.profile)


def estimate_seconds(notebooks, profile: str) -> float | None:
    """Estimated run time of ``notebooks`` under ``profile`` ("quick" or "full") on a 2-core
    CPU (:data:`ESTIMATED_SECONDS`), or ``None`` if one of them has no estimate."""
    column = 0 if profile == "quick" else 1
    times = [ESTIMATED_SECONDS.get(nb.stem, (None, None))[column] for nb in notebooks]
    return None if None in times else float(sum(times))


@dataclasses.dataclass
class RunOutcome:
    """What happened: ``ok``, per-notebook timings, and the failure (or ``None``)."""

    ok: bool
    out_dir: Path
    run: dict  # what was stored under results.json's "_run"
    failure: dict | None = None


def dataset_ways(name: str) -> str:
    """How to make dataset ``name`` load offline (for messages): the ways
    :func:`kdtutor.data.ways_to_get` lists, numbered on one line."""
    from kdtutor.data import ways_to_get

    ways = ways_to_get(name, download="add --allow-download")
    if not ways:
        return "see README, 'Where the data comes from'."
    return " ".join(f"({number}) {way}" for number, way in enumerate(ways, start=1))


def plan_run(
    *,
    profile: str = "quick",
    dataset: str | None = None,
    only: str | None = None,
    out=None,
    artifacts=None,
    parameters=(),
    allow_download: bool = False,
    force: bool = False,
    notebooks_dir=NOTEBOOKS_DIR,
) -> Plan:
    """Check the arguments of ``kdtutor run`` and return the :class:`Plan`; create nothing.

    ``parameters`` are ``"NAME=VALUE"`` strings; each name must be declared in
    the ``parameters`` cell of at least one selected notebook and is injected
    only into the notebooks that declare it. Raises :class:`UsageError` with
    the valid choices for an unknown profile, dataset, notebook or parameter,
    a malformed ``-p`` or one whose value does not fit the type the parameters
    cell declares (``EPOCHS: int = None``), an ``only`` that names no notebook,
    a dataset that needs a download (unless ``allow_download``), a ``-p`` value outside
    the range its notebook can use (:data:`kdtutor.series.profiles.RULES`, e.g. ``SEEDS=1``),
    an ``out`` or ``artifacts`` folder that cannot be written (tested by creating and removing
    an empty folder: nothing is left behind), or an ``out`` folder that already holds a run
    (unless ``force``). ``~`` in the folders is the home folder, as in a shell.
    """
    from kdtutor._checks import check_output_folder
    from kdtutor.data import DATASET_NAMES, offline_sources
    from kdtutor.series.profiles import PROFILES, check_together, check_value

    if profile not in PROFILES:
        raise UsageError(f"Unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}.")
    if dataset is not None and dataset not in DATASET_NAMES:
        raise UsageError(
            f"Unknown dataset {dataset!r}; valid datasets: {', '.join(DATASET_NAMES)}."
        )
    parsed, texts = {}, {}
    for text in parameters:
        name, value = parse_parameter(text)
        if name in _OPTIONS:
            raise UsageError(f"Set {name} with {_OPTIONS[name]}, not with -p.")
        parsed[name], texts[name] = value, text

    notebooks_dir = Path(notebooks_dir).expanduser().resolve()
    selected = select(discover(notebooks_dir), only)
    broken = [nb for nb in selected if nb.problem]
    if broken:
        raise UsageError(
            "Cannot read "
            + "; ".join(f"{nb.path}: {nb.problem}" for nb in broken)
            + ". Is it being saved right now? Fix it, or leave it out with --only."
        )
    declared = set().union(*(nb.parameters for nb in selected))
    unknown = sorted(set(parsed) - declared)
    if unknown:
        settable = sorted(declared - set(_OPTIONS))
        raise UsageError(
            f"Unknown parameter(s) {', '.join(unknown)} for notebook(s) "
            f"{', '.join(nb.number for nb in selected)}. Valid -p names: {', '.join(settable)} "
            "(see kdtutor list --parameters)."
        )
    used = dataset or PROFILES[profile]["dataset"]
    for name, value in parsed.items():
        for nb in selected:
            if name in nb.parameters:
                check_type(nb, name, value, texts[name])
        try:  # the ranges setup.start checks too, so the notebook would refuse it anyway
            check_value(name, value, dataset=used)
        except ValueError as error:
            raise UsageError(f"-p {texts[name].strip()}: {error}") from None
    if any(nb.stem.startswith("03") for nb in selected):
        overrides = {name.lower(): value for name, value in parsed.items() if value is not None}
        settings = {**PROFILES[profile], **overrides}
        try:
            check_together(settings, dataset=used)
        except ValueError as error:
            raise UsageError(str(error)) from None

    source = offline_sources().get(used)
    if source is None and not allow_download:
        given = "--dataset" if dataset else f"profile {profile!r}'s dataset"
        raise UsageError(
            f"Dataset {used!r} ({given}) is not available offline here. To get it: "
            f"{dataset_ways(used)} Or choose --dataset mnist-5k (always offline). "
            "`kdtutor datasets` shows what loads offline."
        )

    # Both folders must be writable now, not when the first notebook saves into them.
    try:
        out_dir = check_output_folder(out if out else _new_run_dir(profile), "--out")
        artifacts_dir = check_output_folder(artifacts or ARTIFACTS_DIR, "--artifacts")
    except ValueError as error:
        raise UsageError(str(error)) from None
    if out_dir.is_dir() and any(out_dir.iterdir()) and not force:
        raise UsageError(
            f"--out {out_dir} is not empty (an earlier run?). Choose another folder, or add "
            "--force to replace its results, report and executed notebooks."
        )

    injected = {}
    for nb in selected:
        values = {
            "PROFILE": profile,
            "RESULTS_DIR": str(out_dir),
            "ARTIFACTS_DIR": str(artifacts_dir),
        }
        if dataset is not None:
            values["DATASET"] = dataset
        values.update(parsed)
        injected[nb.stem] = {name: value for name, value in values.items() if name in nb.parameters}
    return Plan(
        notebooks=selected,
        profile=profile,
        dataset=used,
        dataset_given=dataset is not None,
        dataset_source=source,
        out_dir=out_dir,
        artifacts_dir=artifacts_dir,
        parameters=parsed,
        injected=injected,
        notebooks_dir=notebooks_dir,
        force=force,
    )


def _new_run_dir(profile: str) -> Path:
    stamp = datetime.datetime.now().strftime("%Y-%m-%d_%H%M%S")
    candidate = RUNS_DIR / f"{stamp}_{profile}"
    counter = 2
    while candidate.exists():
        candidate = RUNS_DIR / f"{stamp}_{profile}-{counter}"
        counter += 1
    return candidate


def _clear_previous_run(out_dir: Path) -> None:
    shutil.rmtree(out_dir / "logs", ignore_errors=True)
    for path in out_dir.iterdir():
        if (
            path.name in (results.RESULTS_FILE, "report.md", "report.html")
            or (path.suffix in (".ipynb", ".html") and results.NOTEBOOK_STEM.match(path.stem))
            or (path.name.startswith("report_") and path.suffix == ".png")
        ):
            path.unlink()


def _write_html_quietly(output: Path, notebooks_dir: Path, progress: Progress) -> float | None:
    """:func:`write_html` for the runner: seconds taken, or ``None`` (and a warning line) when
    the copy could not be written; the executed notebook matters more than its copy."""
    if not output.exists():  # papermill failed before it wrote anything
        return None
    begin = time.perf_counter()
    try:
        write_html(output, notebooks_dir=notebooks_dir)
    except Exception as error:
        progress.warn(f"no HTML copy of {output.name}: {type(error).__name__}: {error}")
        return None
    return time.perf_counter() - begin


def execute(plan: Plan, *, stream=None, started: float | None = None) -> RunOutcome:
    """Run ``plan``'s notebooks in order; stop at the first failure; return the outcome.

    Each notebook runs in a fresh ``python3`` kernel with ``cwd`` = the
    notebooks folder and is saved (with its outputs, also when it fails) as
    ``<out_dir>/<stem>.ipynb``, with a readable copy ``<out_dir>/<stem>.html``
    (:func:`write_html`). ``started`` is the ``time.perf_counter()``
    value the run's wall time counts from (default: now); the runner's record
    in ``results.json["_run"]`` holds that wall time, each notebook's wall
    time as the runner saw it (kernel start-up included), the notebooks' own
    ``seconds``, the overhead, versions and machine.
    """
    import papermill

    stream = stream or sys.stdout
    started = time.perf_counter() if started is None else started
    plan.out_dir.mkdir(parents=True, exist_ok=True)
    if plan.force:
        _clear_previous_run(plan.out_dir)
    engine_name = engine.register()
    progress = Progress(stream, len(plan.notebooks), live=stream.isatty())
    record = {
        "status": "running",
        "started": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "profile": plan.profile,
        "dataset": plan.dataset,
        "dataset_source": plan.dataset_source or "download",
        "parameters": plan.parameters,
        "selected": [nb.stem for nb in plan.notebooks],
        "artifacts_dir": str(plan.artifacts_dir),
        "notebooks": {},
        "versions": machine.versions(),
        "machine": machine.machine(),
    }
    failure = None
    for position, notebook in enumerate(plan.notebooks, start=1):
        output = plan.out_dir / notebook.path.name
        kernel_log = plan.out_dir / "logs" / f"{notebook.stem}.kernel.log"
        kernel_log.parent.mkdir(exist_ok=True)
        progress.notebook_start(position, notebook, estimate_seconds([notebook], plan.profile))
        begin = time.perf_counter()
        error = None
        try:
            with kernel_log.open("wb") as log:
                papermill.execute_notebook(
                    str(notebook.path),
                    str(output),
                    parameters=plan.injected[notebook.stem],
                    engine_name=engine_name,
                    kernel_name=KERNEL_NAME,
                    cwd=str(plan.notebooks_dir),
                    progress_bar=False,
                    log_output=False,
                    # Every cell has finished and its output arrived: stopping the kernel
                    # at once saves the ~3 s a graceful TensorFlow kernel shutdown takes.
                    shutdown_kernel="immediate",
                    kdtutor_progress=progress,
                    kdtutor_kernel_log=log,
                )
        except KeyboardInterrupt as interrupt:
            error = interrupt
        except Exception as exception:  # a cell raised, the kernel died, ...: report, stop
            error = exception
        end = time.perf_counter()
        # Written for a failed notebook too: that is the page a CI reader opens first.
        html_seconds = _write_html_quietly(output, plan.notebooks_dir, progress)
        entry = results.load(plan.out_dir).get(notebook.stem, {})
        ready, done = progress.kernel_ready, progress.cells_done
        record["notebooks"][notebook.stem] = {
            "status": "ok" if error is None else "failed",
            "wall_seconds": round(end - begin, 3),  # papermill + kernel start-up and shutdown
            "kernel_start_seconds": round(ready - begin, 3) if ready else None,
            "cells_seconds": round(done - ready, 3) if ready and done else None,
            "notebook_seconds": entry.get("seconds"),  # measured by the notebook itself
            "html_seconds": round(html_seconds, 3) if html_seconds is not None else None,
        }
        if error is None:
            own = entry.get("seconds")
            detail = f"; the notebook's own time {own:.1f} s" if own is not None else ""
            if not entry:
                detail += f"; WARNING: it recorded nothing in {plan.out_dir / 'results.json'}"
            progress.notebook_end(True, detail)
            continue
        progress.notebook_end(False, "")
        failure = failures.failure(notebook, output, error, progress.cell, kernel_log)
        break

    wall = time.perf_counter() - started
    own = [t["notebook_seconds"] for t in record["notebooks"].values() if t["notebook_seconds"]]
    record.update(
        status="ok" if failure is None else "failed",
        failure=failure,
        wall_seconds=round(wall, 3),
        notebook_seconds_total=round(sum(own), 3),
        **overhead.overhead(wall, sum(own)),
        not_run=[nb.stem for nb in plan.notebooks if nb.stem not in record["notebooks"]],
    )
    results.write_run_record(plan.out_dir, record)
    return RunOutcome(ok=failure is None, out_dir=plan.out_dir, run=record, failure=failure)
