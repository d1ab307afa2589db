"""The notebooks' bookkeeping in one call each: settings, seeds, clock, teacher, results.

A notebook's Setup cell, right after its ``parameters`` cell, is::

    from kdtutor.series import setup          # first: starts the notebook's clock
    import keras, numpy as np, kdtutor
    run = setup.start("03_distilling_the_student", globals())

:func:`start` reads the notebook's parameters (every upper-case name whose lower-case form
is a profile setting, e.g. ``STUDENT_EPOCHS`` -> ``student_epochs``; ``None`` means "the
profile's value"), resolves the profile, seeds Keras, and prints one compact line. The
returned :class:`NotebookRun` then gives the cached teacher (:meth:`NotebookRun.teacher`)
and records the notebook's key numbers with its own run time (:meth:`NotebookRun.record`).
A learner never needs to read this module: it holds no lesson.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
import time
from pathlib import Path

from kdtutor import _quiet
from kdtutor.series import profiles, results

__all__ = ["NotebookRun", "start"]

# The clock starts when the Setup cell imports this module, before TensorFlow: the
# notebook's own time includes its imports (the runner counts the rest as its overhead).
_IMPORTED_AT = time.perf_counter()

# The series starts here: TensorFlow is imported now, without its known C++ start-up
# messages, so the `import keras` that follows in the Setup cell adds none to the notebook.
_quiet.import_tensorflow()

# Scratch folders of this kernel (RESULTS_DIR None, ARTIFACTS_READ_ONLY): removed when it exits.
_SCRATCH: list[tempfile.TemporaryDirectory] = []


def _scratch_folder(prefix: str) -> Path:
    folder = tempfile.TemporaryDirectory(prefix=prefix)
    _SCRATCH.append(folder)
    return Path(folder.name)


def _scratch_copy(artifacts_dir: Path) -> Path:
    """A temporary folder holding a copy of the models in ``artifacts_dir`` (if it exists).

    nbgrader's version of a notebook reads the course's teacher from its ``artifacts/`` but
    saves what it trains here instead, so that ``nbgrader validate`` and ``autograde`` leave
    the assignment as it was and every run loads the same teacher.
    """
    scratch = _scratch_folder("kdtutor-artifacts-")
    if artifacts_dir.is_dir():
        for path in artifacts_dir.iterdir():
            if path.is_file() and path.suffix in (".keras", ".json"):
                shutil.copyfile(path, scratch / path.name)
    return scratch


@dataclasses.dataclass
class NotebookRun:
    """One execution of a notebook: its ``stem``, resolved ``settings`` and where things go.

    ``settings`` is the profile's dict with the notebook's overrides applied;
    ``results_dir`` holds ``results.json``, ``artifacts_dir`` the cached models; ``seed``
    seeds Keras (weights, shuffling, dropout). The claims a notebook's prose makes are not
    checked here but against its recorded results (:mod:`kdtutor.series.claims`).
    """

    stem: str
    settings: dict
    results_dir: Path
    artifacts_dir: Path
    seed: int = 0
    started: float = dataclasses.field(default_factory=lambda: _IMPORTED_AT)

    @property
    def seconds(self) -> float:
        """Seconds since the notebook's Setup cell began (its imports included)."""
        return time.perf_counter() - self.started

    def teacher(self, data, *, epochs: int | None = None):
        """Return ``(teacher, info)``: the teacher notebook 01 trains, from the cache or trained.

        Trained on ``data`` with the profile's recipe (:func:`kdtutor.training.train_teacher`)
        for ``epochs`` (default: the profile's ``teacher_epochs``); ``info`` says whether it
        came from the cache (see :func:`kdtutor.series.artifacts.load_or_train_teacher`).
        """
        from kdtutor.series.artifacts import load_or_train_teacher

        return load_or_train_teacher(
            data,
            cache_dir=self.artifacts_dir,
            architecture=self.settings["teacher"],
            epochs=self.settings["teacher_epochs"] if epochs is None else epochs,
            batch_size=self.settings["batch_size"],
            learning_rate=self.settings["learning_rate"],
            seed=self.seed,
        )

    def record(self, values: dict) -> Path:
        """Merge ``values`` and the notebook's run time into ``results.json``; return its path."""
        return results.record(self.results_dir, self.stem, {**values, "seconds": self.seconds})


def start(stem: str, parameters: dict, *, quiet: bool = False) -> NotebookRun:
    """Resolve a notebook's settings, seed Keras, print one line; return the :class:`NotebookRun`.

    ``stem`` is the notebook's file name without ``.ipynb``; ``parameters`` its namespace
    (``globals()``), from which the upper-case names are read. A name that is neither a
    profile setting nor one of the run's own (:data:`kdtutor.series.profiles.RUN_PARAMETERS`:
    ``PROFILE``, ``DATASET``, ``RESULTS_DIR``, ``ARTIFACTS_DIR``, ``ARTIFACTS_READ_ONLY``,
    ``SEED``) stays the notebook's own (e.g. ``TEMPERATURES`` for a plot).
    ``RESULTS_DIR = None`` records into a temporary folder (removed when the kernel
    exits); ``ARTIFACTS_READ_ONLY = True`` makes ``artifacts_dir`` a temporary copy of
    ``ARTIFACTS_DIR``, so models are read from it but never saved into it (nbgrader's version
    of the notebooks sets both: a graded run writes nothing beside the notebook). Raises
    ``ValueError`` for an unknown profile or a parameter outside its valid range
    (:data:`kdtutor.series.profiles.RULES`, the ranges ``kdtutor run`` checks). Checks the
    environment first (:func:`kdtutor.check_versions`), so a wrong one fails here, not forty
    cells later.
    """
    import keras

    import kdtutor

    if not isinstance(stem, str) or not results.NOTEBOOK_STEM.fullmatch(stem):  # record() needs it
        raise ValueError(
            f"`stem` must be the notebook's file name without .ipynb, two digits then snake "
            f"case, e.g. '06_my_experiment'; got {stem!r}."
        )
    versions = kdtutor.check_versions()
    profile = parameters.get("PROFILE", "quick")
    known = set(profiles.PROFILES.get(profile, {}))
    overrides = {
        name.lower(): value
        for name, value in parameters.items()
        if name.isupper() and name.lower() in known and name not in profiles.RUN_PARAMETERS
    }
    settings = profiles.resolve(profile, dataset=parameters.get("DATASET"), **overrides)
    # The same ranges `kdtutor run` checks: a value the notebook cannot use fails here.
    for name, value in parameters.items():
        if name.isupper() and name.lower() in profiles.RULES:
            profiles.check_value(name, value, dataset=settings["dataset"])
    if stem.startswith("03"):
        profiles.check_together(settings, dataset=settings["dataset"])
    seed = int(parameters.get("SEED") or 0)  # None: the default seed, 0
    results_dir = parameters.get("RESULTS_DIR", "../runs/latest")
    if results_dir is None:
        results_dir = _scratch_folder("kdtutor-results-")
    else:
        results_dir = Path(results_dir).expanduser()
    if parameters.get("ARTIFACTS_DIR", "") is None:
        raise ValueError(
            "ARTIFACTS_DIR must name the folder of the model cache (e.g. '../artifacts'); None "
            "is not a folder. For a cache that is never written, set ARTIFACTS_READ_ONLY = True."
        )
    artifacts_dir = Path(parameters.get("ARTIFACTS_DIR", "../artifacts")).expanduser()
    if parameters.get("ARTIFACTS_READ_ONLY", False):
        artifacts_dir = _scratch_copy(artifacts_dir)
    keras.utils.set_random_seed(seed)
    run = NotebookRun(
        stem=stem,
        settings=settings,
        results_dir=results_dir,
        artifacts_dir=artifacts_dir,
        seed=seed,
    )
    if not quiet:
        print(f"{profile} profile, {settings['dataset']}, seed {seed} | {versions}")
    return run
