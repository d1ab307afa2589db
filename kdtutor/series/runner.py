"""Run the notebook series with papermill: find, check, execute, time.

``kdtutor run`` is built from three steps, usable on their own:

- :func:`discover` finds the numbered notebooks (``NN_snake_case.ipynb``) in
  ``notebooks/`` and reads each one's title and ``parameters`` cell (with papermill's
  own reader, so what it declares is what papermill injects into).
- :func:`plan_run` checks every argument (profile, dataset and whether it loads
  offline, ``--only`` numbers, ``-p NAME=VALUE`` pairs against the names and types
  the selected notebooks declare and the ranges they can use, folders that must be
  writable) and returns a :class:`Plan`. It creates nothing, so a bad argument is
  refused before any kernel starts.
- :func:`execute` runs the plan notebook by notebook in a fresh ``python3``
  kernel each, with ``cwd=notebooks/``, shows which notebook and cell is running
  and for how long, stops at the first failure, and stores the runner's own
  timings in ``results.json`` under the top-level key ``"_run"`` (the
  notebooks' entries are left as they wrote them). Next to each executed notebook
  it writes a readable copy, ``<stem>.html`` (:func:`write_html`), also for the one
  that failed.

Bad arguments raise :class:`UsageError`; a notebook that fails is reported in
the returned :class:`RunOutcome` (notebook, cell, error, path of the partly
executed notebook), not raised.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime
import html
import json
import logging
import os
import platform
import re
import shutil
import sys
import threading
import time
from pathlib import Path

from kdtutor.series import results
from kdtutor.series.results import RUN_KEY

__all__ = [
    "REPO_ROOT",
    "NOTEBOOKS_DIR",
    "RUNS_DIR",
    "ARTIFACTS_DIR",
    "ESTIMATED_SECONDS",
    "RUN_KEY",
    "Notebook",
    "Plan",
    "estimate_seconds",
    "RunOutcome",
    "UsageError",
    "KERNEL_NAME",
    "discover",
    "select",
    "declared_parameters",
    "dataset_ways",
    "parse_parameter",
    "plan_run",
    "execute",
    "finish_record",
    "describe_failure",
    "write_html",
    "format_seconds",
    "process_seconds",
    "usable_cpus",
    "gpu_names",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
RUNS_DIR = REPO_ROOT / "runs"  # git-ignored
ARTIFACTS_DIR = REPO_ROOT / "artifacts"  # git-ignored; the notebooks' own default, shared by runs
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

# Set by the runner, not by -p: each has its own command-line option.
_RUNNER_PARAMETERS = {
    "PROFILE": "--profile",
    "DATASET": "--dataset",
    "RESULTS_DIR": "--out",
    "ARTIFACTS_DIR": "--artifacts",
}


class UsageError(ValueError):
    """A bad ``kdtutor run`` argument; the message lists what is valid. Nothing has run."""


@dataclasses.dataclass(frozen=True)
class Notebook:
    """One numbered notebook: ``number`` ("03"), ``stem``, ``path``, ``title`` (its H1 heading
    without the "NN ·" prefix) and ``parameters`` (name -> ``{"type", "default", "help"}``,
    see :func:`declared_parameters`). ``problem`` says why the notebook could not be read."""

    number: str
    stem: str
    path: Path
    title: str
    parameters: dict
    problem: str | None = None


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


def format_seconds(seconds) -> str:
    """``75.3`` -> ``"1:15"``; ``None`` -> ``"?"``. For estimates and elapsed times."""
    if seconds is None:
        return "?"
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def process_seconds() -> float | None:
    """Seconds since this Python process started (imports included), or ``None`` if unknown."""
    try:
        import psutil

        return time.time() - psutil.Process().create_time()
    except Exception:  # psutil missing or no access: the caller measures from its own start
        return None


# --- discovery -------------------------------------------------------------------------------


def _title(nb) -> str:
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("# "):
                    title = line[2:].strip()
                    # "01 · Training the teacher" -> "Training the teacher"
                    return re.sub(r"^\d+\s*[·.:\-–—]\s*", "", title)
    return "(no title)"


def discover(notebooks_dir=NOTEBOOKS_DIR) -> list[Notebook]:
    """Return the numbered notebooks in ``notebooks_dir``, in file-name order.

    Only files named ``NN_snake_case.ipynb`` count (``Untitled.ipynb`` and
    checkpoints do not). A notebook that cannot be read (e.g. saved half-way)
    is returned with ``problem`` set, so ``kdtutor list`` can show it and
    ``kdtutor run`` can refuse it.
    """
    from papermill.iorw import load_notebook_node

    directory = Path(notebooks_dir).expanduser()
    if not directory.is_dir():
        raise UsageError(
            f"No notebooks folder at {directory}. kdtutor run works from a checkout of the "
            "repository (pip install -r requirements.txt installs kdtutor in editable mode); "
            "or pass --notebooks DIR."
        )
    found = []
    for path in sorted(directory.glob("*.ipynb")):
        match = results.NOTEBOOK_STEM.match(path.stem)
        if not match:
            continue
        try:
            nb = load_notebook_node(str(path))  # as papermill will read it
            parameters = _parameters(nb, path)
            found.append(Notebook(match[1], path.stem, path, _title(nb), parameters))
        except Exception as error:  # unreadable JSON, no parameters cell, ...
            problem = f"{type(error).__name__}: {error}".splitlines()[0]
            found.append(Notebook(match[1], path.stem, path, "(unreadable)", {}, problem))
    return found


def _parameters(nb, path: Path) -> dict:
    cells = [cell for cell in nb.cells if "parameters" in cell.metadata.get("tags", [])]
    if len(cells) != 1:
        raise ValueError(f"expected one cell tagged 'parameters', found {len(cells)}")
    return declared_parameters(path)


class _Collect(logging.Handler):
    def __init__(self):
        super().__init__(logging.WARNING)
        self.messages = []

    def emit(self, record):
        self.messages.append(record.getMessage())


def declared_parameters(path) -> dict:
    """Return ``{name: {"type", "default", "help"}}`` for the ``parameters`` cell of the
    notebook at ``path``, in order, as papermill reads it (``papermill.inspect_notebook``).

    ``type`` is the annotation (``EPOCHS: int = None`` gives ``"int"``) or ``None``,
    ``default`` the source text of the value, ``help`` the comment after it. Raises
    ``ValueError`` when papermill skips a line of the cell: it then cannot tell that name
    is a parameter (its parser skips any line holding two ``=``, e.g. one in a comment).
    """
    import papermill

    logger, collect = logging.getLogger("papermill"), _Collect()
    saved = logger.level, logger.propagate
    logger.addHandler(collect)
    logger.setLevel(logging.WARNING)
    logger.propagate = False  # its warnings become this function's error, not stray output
    try:
        found = papermill.inspect_notebook(str(path))
    finally:
        logger.removeHandler(collect)
        logger.setLevel(saved[0])
        logger.propagate = saved[1]
    if collect.messages:
        raise ValueError(
            f"papermill cannot read its parameters cell: {collect.messages[0]} Reword that "
            "line so it holds one '=' (none in its comment)."
        )
    return {
        name: {
            "type": None if info["inferred_type_name"] == "None" else info["inferred_type_name"],
            "default": info["default"],
            "help": info["help"],
        }
        for name, info in found.items()
    }


# --- arguments -------------------------------------------------------------------------------


def parse_parameter(text: str) -> tuple[str, object]:
    """Parse ``"NAME=VALUE"`` into ``(NAME, value)``.

    The value is read as a Python literal (``3``, ``0.5``, ``[1.0, 4.0]``,
    ``True``, ``None``, ``'quoted'``), else as JSON (``true``, ``null``), else
    kept as a plain string; tuples become lists (papermill would inject a
    tuple as its string). Raises :class:`UsageError` for a malformed pair.
    """
    name, equals, raw = text.partition("=")
    name = name.strip()
    if not equals or not name.isidentifier():
        raise UsageError(
            f"-p {text!r} is not NAME=VALUE. Examples: -p EPOCHS=3, -p SEEDS=5, "
            "-p SWEEP_TEMPERATURES=[2.0,8.0], -p TEACHER='\"hinton\"'."
        )
    raw = raw.strip()
    try:
        value = ast.literal_eval(raw)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        try:
            value = json.loads(raw)
        except ValueError:
            value = raw
    return name, _lists(value)


def _lists(value):
    if isinstance(value, tuple | list):
        return [_lists(item) for item in value]
    if isinstance(value, dict):
        return {key: _lists(item) for key, item in value.items()}
    if isinstance(value, set | frozenset | bytes | complex):
        raise UsageError(f"-p values are numbers, strings, lists or dicts; got {value!r}.")
    return value


def _is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


# The -p values each declared type takes (`EPOCHS: int = None`), and an example of one.
_TYPES = {
    "int": ("an int", _is_int, "3"),
    "float": ("a number", lambda value: _is_int(value) or isinstance(value, float), "0.5"),
    "bool": ("True or False", lambda value: isinstance(value, bool), "False"),
    "str": ("text", lambda value: isinstance(value, str), "text"),
    "list": ("a list", lambda value: isinstance(value, list), "[2.0,8.0]"),
}


def _described(value) -> str:
    if value is None:
        return "None"
    kinds = {bool: "a bool", int: "an int", float: "a float", str: "text", list: "a list"}
    return f"{value!r} ({kinds.get(type(value), type(value).__name__)})"


def _check_type(notebook: Notebook, name: str, value, text: str) -> None:
    """Refuse a ``-p`` value that does not fit the type ``notebook`` declares for ``name``;
    ``None`` fits every parameter whose default is ``None`` (the profile's value)."""
    declared = notebook.parameters[name]
    kind = (declared["type"] or "").split("[")[0]  # list[float] -> list
    if kind not in _TYPES:  # no annotation: papermill injects what it is given
        return
    expected, fits, example = _TYPES[kind]
    nullable = declared["default"] == "None"
    example = example if nullable else declared["default"]
    if fits(value) or (value is None and nullable):
        return
    raise UsageError(
        f"-p {text.strip()}: {name} takes {expected}{' or None' if nullable else ''} (notebook "
        f"{notebook.number} declares {name}: {declared['type']} = {declared['default']}); got "
        f"{_described(value)}. For example: -p {name}={example}."
    )


def select(notebooks: list[Notebook], only: str | None) -> list[Notebook]:
    """The notebooks that ``--only`` names (``"01,03"``, numbers or stems), in series order.

    ``None`` selects them all. Raises :class:`UsageError` naming the valid choices for an
    empty selection or an unknown notebook (``kdtutor run`` and ``kdtutor handout``).
    """
    if not notebooks:
        raise UsageError("No numbered notebooks (NN_name.ipynb) found.")
    valid = ", ".join(f"{nb.number} ({nb.stem})" for nb in notebooks)
    if only is None:
        return notebooks
    if not only.replace(",", "").strip():
        raise UsageError(
            f"--only {only!r} names no notebook; give numbers or names separated by commas "
            f"(--only 01,03), or leave --only out to run them all. Valid: {valid}."
        )
    wanted = []
    for part in only.split(","):
        part = part.strip()
        token = part.removesuffix(".ipynb")
        key = f"{int(token):02d}" if token.isdigit() else token
        matches = [nb for nb in notebooks if key in (nb.number, nb.stem)]
        if not part or not matches:
            raise UsageError(f"--only: no notebook {part!r}. Valid: {valid}.")
        wanted.extend(nb for nb in matches if nb not in wanted)
    return sorted(wanted, key=lambda nb: nb.stem)  # always in series order


def dataset_ways(name: str) -> str:
    """How to make dataset ``name`` load offline (for messages)."""
    from kdtutor import data

    ways = {
        "mnist": "be online once (add --allow-download; Keras caches mnist.npz in "
        "~/.keras/datasets, or $KERAS_HOME/datasets), or copy mnist.npz there by hand",
        "fashion_mnist": "sudo apt-get install dataset-fashion-mnist (files in "
        f"{data.DEBIAN_FASHION_MNIST_DIR}), or set ${data.DATA_DIR_ENV_VAR} to a folder with "
        "the four IDX .gz files, or be online once (add --allow-download; Keras caches them)",
    }
    return ways.get(name, "see README, 'Where the data comes from'")


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
    from kdtutor.series.profiles import PROFILES, check_value

    if profile not in PROFILES:
        raise UsageError(f"Unknown profile {profile!r}; valid profiles: {', '.join(PROFILES)}.")
    if dataset is not None and dataset not in DATASET_NAMES:
        raise UsageError(
            f"Unknown dataset {dataset!r}; valid datasets: {', '.join(DATASET_NAMES)}."
        )
    parsed, texts = {}, {}
    for text in parameters:
        name, value = parse_parameter(text)
        if name in _RUNNER_PARAMETERS:
            raise UsageError(f"Set {name} with {_RUNNER_PARAMETERS[name]}, not with -p.")
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
        settable = sorted(declared - set(_RUNNER_PARAMETERS))
        raise UsageError(
            f"Unknown parameter(s) {', '.join(unknown)} for notebook(s) "
            f"{', '.join(nb.number for nb in selected)}. Valid -p names: {', '.join(settable)} "
            "(see kdtutor list --parameters)."
        )
    used = dataset or PROFILES[profile]["dataset"]
    for name, value in parsed.items():
        for nb in selected:
            if name in nb.parameters:
                _check_type(nb, name, value, texts[name])
        try:  # the ranges setup.start checks too, so the notebook would refuse it anyway
            check_value(name, value, dataset=used)
        except ValueError as error:
            raise UsageError(f"-p {texts[name].strip()}: {error}") from None

    source = offline_sources().get(used)
    if source is None and not allow_download:
        given = "--dataset" if dataset else f"profile {profile!r}'s dataset"
        raise UsageError(
            f"Dataset {used!r} ({given}) is not available offline here. To get it: "
            f"{dataset_ways(used)}. Or choose --dataset mnist-5k (always offline). "
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


# --- progress --------------------------------------------------------------------------------


class _Progress:
    """Which notebook, which cell, how long: one live line on a terminal; on a log (CI, a
    pipe) a line per notebook plus a heartbeat at most every ``heartbeat`` seconds."""

    def __init__(self, stream, total: int, *, live: bool, heartbeat: float = 15.0):
        self.stream, self.total, self.live, self.heartbeat = stream, total, live, heartbeat
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.current = None  # (position, stem)
        self.cell = (0, 0, "")
        self.started = self.last_line = 0.0
        self.kernel_ready = self.cells_done = None
        self.thread = None
        self.drawn = False

    def notebook_start(self, position: int, notebook: Notebook, estimate) -> None:
        self.current = (position, notebook.stem)
        self.cell = (0, 0, "")
        self.started = self.last_line = time.perf_counter()
        self.kernel_ready = self.cells_done = None
        self._print(
            f"[{position}/{self.total}] {notebook.stem}: {notebook.title} "
            f"(estimated {format_seconds(estimate)})"
        )
        if self.live:
            self.stop.clear()
            self.thread = threading.Thread(target=self._tick, daemon=True)
            self.thread.start()

    def cell_start(self, index: int, count: int, heading: str) -> None:
        now = time.perf_counter()
        if self.kernel_ready is None:
            self.kernel_ready = now
        self.cell = (index + 1, count, heading)
        if not self.live and now - self.last_line >= self.heartbeat:
            self._print(f"    {self._status(now)}")

    def notebook_end(self, ok: bool, detail: str) -> None:
        if self.thread is not None:
            self.stop.set()
            self.thread.join()
            self.thread = None
        elapsed = time.perf_counter() - self.started
        mark = "ok" if ok else "FAILED"
        self._print(f"    {mark} in {format_seconds(elapsed)} ({elapsed:.1f} s){detail}")

    def warn(self, text: str) -> None:
        self._print(f"    WARNING: {text}")

    def _status(self, now) -> str:
        index, count, heading = self.cell
        where = f"cell {index}/{count}" if count else "kernel starting"
        heading = f"  {heading}" if heading else ""
        return f"{where}  {format_seconds(now - self.started)}{heading}"

    def _tick(self) -> None:
        while not self.stop.wait(1.0):
            with self.lock:
                width = shutil.get_terminal_size().columns - 1  # one line, or \r cannot redraw it
                line = f"    {self._status(time.perf_counter())}"
                self.stream.write("\r" + line[:width].ljust(width))
                self.stream.flush()
                self.drawn = True

    def _print(self, line: str) -> None:
        with self.lock:
            if self.drawn:  # wipe the live status line first
                self.stream.write("\r" + " " * (shutil.get_terminal_size().columns - 1) + "\r")
                self.drawn = False
            self.stream.write(line + "\n")
            self.stream.flush()
            self.last_line = time.perf_counter()


def _headings(nb) -> list[str]:
    """For every cell, the last markdown heading at or before it (what section is running)."""
    headings, current = [], ""
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            for line in cell.source.splitlines():
                if line.startswith("#"):
                    current = line.lstrip("#").strip()
                    break
        headings.append(current)
    return headings


def _register_engine() -> str:
    """Register a papermill engine that reports each cell to a ``_Progress`` and sends the
    kernel process's own stderr (C++ logs, crash messages) to a log file, not the terminal."""
    from jupyter_client import AsyncKernelManager
    from papermill.engines import NBClientEngine, papermill_engines

    class ProgressEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(cls, nb_man, kernel_name, **kwargs):
            progress = kwargs.pop("kdtutor_progress")
            kernel_log = kwargs.pop("kdtutor_kernel_log")
            headings = _headings(nb_man.nb)
            count = len(nb_man.nb.cells)
            started, completed = nb_man.cell_start, nb_man.cell_complete

            def cell_start(cell, cell_index=None, **more):
                progress.cell_start(cell_index, count, headings[cell_index])
                return started(cell, cell_index, **more)

            def cell_complete(cell, cell_index=None, **more):
                progress.cells_done = time.perf_counter()
                return completed(cell, cell_index, **more)

            class LoggingKernelManager(AsyncKernelManager):
                async def start_kernel(self, **options):
                    options.setdefault("stderr", kernel_log)
                    return await super().start_kernel(**options)

            nb_man.cell_start, nb_man.cell_complete = cell_start, cell_complete
            return super().execute_managed_notebook(
                nb_man, kernel_name, kernel_manager_class=LoggingKernelManager, **kwargs
            )

    papermill_engines.register("kdtutor", ProgressEngine)
    return "kdtutor"


# --- execution -------------------------------------------------------------------------------


def usable_cpus() -> int:
    """CPU threads this process may run on (its affinity: a container's or a job's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def gpu_names() -> list[str]:
    """The GPUs TensorFlow sees, e.g. ``["/physical_device:GPU:0"]``; imports TensorFlow.

    Without TensorFlow's known start-up messages, such as the "failed call to cuInit" of a
    CUDA build on a machine without a GPU.
    """
    from kdtutor import _quiet

    _quiet.import_tensorflow()
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def _versions() -> dict:
    from kdtutor import _quiet

    _quiet.import_tensorflow()  # before Keras: without TensorFlow's known start-up messages
    import keras
    import papermill
    import tensorflow as tf

    from kdtutor import __version__

    return {
        "kdtutor": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "papermill": papermill.__version__,
    }


def _machine() -> dict:
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable_cpus(),
        "gpus": gpu_names(),
    }


def write_run_record(out_dir: Path, record: dict) -> None:
    everything = results.load(out_dir)
    everything[RUN_KEY] = record
    results.write_json_atomically(out_dir / results.RESULTS_FILE, everything)


def _clear_previous_run(out_dir: Path) -> None:
    shutil.rmtree(out_dir / "logs", ignore_errors=True)
    for path in out_dir.iterdir():
        if (
            path.name in (results.RESULTS_FILE, "report.md", "report.html")
            or (path.suffix in (".ipynb", ".html") and results.NOTEBOOK_STEM.match(path.stem))
            or (path.name.startswith("report_") and path.suffix == ".png")
        ):
            path.unlink()


def _failure(notebook: Notebook, output: Path, error, progress: _Progress) -> dict:
    """Describe a failed notebook: which cell, which error, where the partial notebook is."""
    from papermill.exceptions import PapermillExecutionError

    index, count, heading = progress.cell
    failure = {
        "notebook": notebook.stem,
        "cell": index or None,  # 1-based position in the executed notebook
        "cells": count or None,
        "section": heading or None,
        "execution_count": None,
        "error": type(error).__name__,
        "message": str(error).strip().splitlines()[-1] if str(error).strip() else "",
        "source": None,
        "executed_notebook": str(output),
    }
    if isinstance(error, PapermillExecutionError):
        failure.update(
            cell=error.cell_index + 1,
            execution_count=error.exec_count,
            error=error.ename,
            message=str(error.evalue),
            source=error.source,
        )
    return failure


def _tail(path: Path, lines: int = 8) -> str:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return ""
    return "\n".join(text.strip().splitlines()[-lines:])


def describe_failure(failure: dict) -> str:
    """A few lines naming the notebook, the cell, the error and the partial notebook's path."""
    where = f"cell {failure['cell']}" if failure.get("cell") else "before its first cell"
    if failure.get("cells"):
        where += f" of {failure['cells']}"
    if failure.get("execution_count") is not None:
        where += f" (In [{failure['execution_count']}])"
    if failure.get("section"):
        where += f", section '{failure['section']}'"
    lines = [
        f"FAILED: notebook {failure['notebook']}, {where}:",
        f"  {failure['error']}: {failure['message']}",
    ]
    if failure.get("source"):
        first = next((ln for ln in failure["source"].splitlines() if ln.strip()), "")
        lines.append(f"  the cell starts with: {first.strip()[:90]}")
    lines.append(
        f"  partly executed notebook (the error and its traceback are in it): "
        f"{failure['executed_notebook']}"
    )
    if failure.get("execution_count") is None and failure.get("kernel_log_tail"):
        # No Python traceback (the kernel died, a timeout): the kernel's own stderr may say why.
        lines.append(f"  the kernel's stderr ({failure['kernel_log']}) ends with:")
        lines += [f"    {line}" for line in failure["kernel_log_tail"].splitlines()]
    return "\n".join(lines)


# --- readable copies ---------------------------------------------------------------------------

# nbconvert's JupyterLab look without the blocks that load scripts from a CDN (require.js,
# MathJax, Mermaid, widgets): a CI artifact is often opened offline, where each would fail.
# The page keeps its CSS inline and its output images as data: URLs, so it stands alone.
_OFFLINE_TEMPLATE = """{%- extends 'index.html.j2' -%}
{%- block html_head_js_requirejs -%}{%- endblock html_head_js_requirejs -%}
{%- block jupyter_widgets -%}{%- endblock jupyter_widgets -%}
{%- block html_head_js_mathjax -%}{%- endblock html_head_js_mathjax -%}
{%- block html_head_js_mermaidjs -%}{%- endblock html_head_js_mermaidjs -%}
{%- block extra_css -%}
<style>math { font-size: 1.15em; } math[display="block"] { margin: 0.8em 0; }</style>
{%- endblock extra_css -%}
"""


def _mathml(tex: str, display: str) -> str:
    """TeX math as MathML, which browsers render without a script (MathJax would need one),
    or, when latex2mathml cannot read it, the TeX source itself, escaped and still legible."""
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display=display)
    except Exception:  # latex2mathml raises its own errors for TeX it does not know
        delimiter = "$$" if display == "block" else "$"
        return f"<code>{html.escape(delimiter + tex + delimiter)}</code>"


def _offline_exporter(image_dir: Path):
    """An nbconvert ``HTMLExporter`` whose pages need no network (see :func:`write_html`)."""
    import jinja2
    from nbconvert import HTMLExporter
    from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath

    class MathMLRenderer(IPythonRenderer):
        def block_math(self, body):
            return _mathml(body, "block")

        def inline_math(self, body):
            return _mathml(body, "inline")

        def latex_environment(self, name, body):
            return _mathml(f"\\begin{{{name}}}{body}\\end{{{name}}}", "block")

    class OfflineHTMLExporter(HTMLExporter):
        # HTMLExporter.markdown2html with the MathML renderer and images always embedded.
        @jinja2.pass_context
        def markdown2html(self, context, source):
            cell = context.get("cell", {})
            renderer = MathMLRenderer(
                escape=False,
                attachments=cell.get("attachments", {}),
                embed_images=True,
                path=str(image_dir),
                anchor_link_text=self.anchor_link_text,
                exclude_anchor_links=self.exclude_anchor_links,
                **self.lexer_options,
            )
            return MarkdownWithMath(renderer=renderer).render(source)

    return OfflineHTMLExporter(
        template_name="lab",
        template_file="kdtutor_offline.html.j2",
        extra_loaders=[jinja2.DictLoader({"kdtutor_offline.html.j2": _OFFLINE_TEMPLATE})],
        embed_images=True,
    )


def write_html(executed, *, notebooks_dir=NOTEBOOKS_DIR) -> Path:
    """Write a readable copy of the executed notebook ``executed`` next to it, as ``.html``.

    The page looks like JupyterLab (nbconvert's ``lab`` template) and stands alone: CSS
    inline, images embedded, no script, so it reads the same offline and attached to a CI
    run. LaTeX math in Markdown cells becomes MathML, which browsers render natively.
    ``notebooks_dir`` is where the notebook's Markdown image links are resolved (the
    series' folder, not the run's). Returns the path of the page.
    """
    import nbformat

    executed = Path(executed)
    nb = nbformat.read(executed, as_version=4)
    resources = {"metadata": {"name": executed.stem, "path": str(notebooks_dir)}}
    page, _ = _offline_exporter(Path(notebooks_dir)).from_notebook_node(nb, resources)
    target = executed.with_suffix(".html")
    target.write_text(page, encoding="utf-8")
    return target


def _write_html_quietly(output: Path, notebooks_dir: Path, progress: _Progress) -> float | None:
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
    engine = _register_engine()
    progress = _Progress(stream, len(plan.notebooks), live=stream.isatty())
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
        "versions": _versions(),
        "machine": _machine(),
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
                    engine_name=engine,
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
        failure = _failure(notebook, output, error, progress)
        if isinstance(error, KeyboardInterrupt):
            failure.update(error="KeyboardInterrupt", message="interrupted (Ctrl-C)")
        failure["kernel_log"] = str(kernel_log)
        failure["kernel_log_tail"] = _tail(kernel_log)
        break

    wall = time.perf_counter() - started
    own = [t["notebook_seconds"] for t in record["notebooks"].values() if t["notebook_seconds"]]
    record.update(
        status="ok" if failure is None else "failed",
        failure=failure,
        wall_seconds=round(wall, 3),
        notebook_seconds_total=round(sum(own), 3),
        **_overhead(wall, sum(own)),
        not_run=[nb.stem for nb in plan.notebooks if nb.stem not in record["notebooks"]],
    )
    write_run_record(plan.out_dir, record)
    return RunOutcome(ok=failure is None, out_dir=plan.out_dir, run=record, failure=failure)


def _overhead(wall: float, notebooks: float) -> dict:
    # Overhead = everything that is not the notebooks' own measured time (which starts at the
    # top of their Setup cell): this process's imports, kernel start-ups, papermill's saving
    # after each cell, the report.
    overhead = wall - notebooks
    return {
        "overhead_seconds": round(overhead, 3),
        "overhead_ratio": round(overhead / notebooks, 4) if notebooks > 0 else None,
    }


def finish_record(
    out_dir: Path,
    record: dict,
    *,
    started: float,
    report_seconds: float,
    startup_seconds: float | None = None,
) -> dict:
    """Update ``"_run"`` with the final wall time and where the overhead went; return it.

    ``started`` is the ``time.perf_counter()`` value the wall time counts from,
    ``startup_seconds`` how long the command took to start (its imports) before
    it planned the run, ``report_seconds`` how long writing the report took.
    """
    wall = time.perf_counter() - started
    overhead = _overhead(wall, record["notebook_seconds_total"])
    timings = record["notebooks"].values()
    parts = {
        "kernel_start": sum(t["kernel_start_seconds"] or 0 for t in timings),
        "command_start": startup_seconds or 0.0,
        "html": sum(t.get("html_seconds") or 0 for t in timings),
        "report": report_seconds,
    }
    # The rest: planning, papermill reading, saving after each cell, kernel shutdown.
    parts["papermill_and_other"] = overhead["overhead_seconds"] - sum(parts.values())
    record.update(
        wall_seconds=round(wall, 3),
        report_seconds=round(report_seconds, 3),
        overhead_parts={name: round(value, 3) for name, value in parts.items()},
        **overhead,
    )
    write_run_record(out_dir, record)
    return record
