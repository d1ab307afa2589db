"""The results file: every notebook merges its key numbers into ``results.json``.

Layout (see the project's design notes): one top-level key per notebook stem,
e.g. ``"03_distilling_the_student"``, holding that notebook's numbers.
Accuracies are fractions in [0, 1] on the test split; lists hold one value per
seed. The ``kdtutor`` runner and the report read this file.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["RESULTS_FILE", "record", "load", "write_json_atomically"]

RESULTS_FILE = "results.json"
_STEM = re.compile(r"^\d\d_[a-z0-9_]+$")


def write_json_atomically(path, data) -> Path:
    """Write ``data`` as indented, key-sorted JSON to ``path`` through a temporary file.

    The temporary file is renamed over ``path`` at the end, so an interrupted run never
    leaves half a file behind.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".tmp")
    try:
        with os.fdopen(handle, "w") as stream:
            json.dump(data, stream, indent=2, sort_keys=True)
            stream.write("\n")
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def _plain(value, where: str):
    """Convert numpy scalars/arrays and tuples to JSON types; refuse NaN and objects."""
    if isinstance(value, dict):
        return {str(key): _plain(item, f"{where}.{key}") for key, item in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(item, f"{where}[{index}]") for index, item in enumerate(list(value))]
    if isinstance(value, bool | np.bool_):
        return bool(value)
    if isinstance(value, int | np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        if not math.isfinite(value):
            raise ValueError(f"results value {where} is {value}; only finite numbers are recorded.")
        return float(value)
    if value is None or isinstance(value, str):
        return value
    raise TypeError(
        f"results value {where} has type {type(value).__name__}; record numbers, strings, "
        "lists or dicts of them."
    )


def load(results_dir) -> dict:
    """Return the contents of ``<results_dir>/results.json`` (``{}`` if there is none yet)."""
    path = Path(results_dir) / RESULTS_FILE
    if not path.exists():
        return {}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise ValueError(
            f"{path} is not valid JSON ({error}); move it aside or delete it and re-run."
        ) from error


def record(results_dir, notebook: str, values: dict) -> Path:
    """Merge ``values`` into ``<results_dir>/results.json`` under ``notebook``; return the path.

    ``notebook`` is the notebook's stem, e.g. ``"01_teacher_training"``.
    Keys already recorded for that notebook are replaced, other notebooks'
    entries are kept. numpy numbers and arrays are converted to plain JSON;
    NaN or infinite values raise ``ValueError``. The file is replaced
    atomically, so an interrupted run never leaves half a file.
    """
    if not _STEM.match(notebook):
        raise ValueError(
            f"notebook must be a notebook stem like '01_teacher_training'; got {notebook!r}."
        )
    if not isinstance(values, dict):
        raise TypeError(f"values must be a dict of results; got {type(values).__name__}.")
    directory = Path(results_dir)
    directory.mkdir(parents=True, exist_ok=True)
    results = load(directory)
    entry = dict(results.get(notebook, {}))
    entry.update(_plain(values, notebook))
    results[notebook] = entry
    path = write_json_atomically(directory / RESULTS_FILE, results)
    return path
