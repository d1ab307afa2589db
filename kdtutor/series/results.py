"""The results file: every notebook merges its key numbers into ``results.json``.

Layout (see the project's design notes): one top-level key per notebook stem,
e.g. ``"03_distilling_the_student"``, holding that notebook's numbers, and the
runner's own record under ``"_run"``. Accuracies are fractions in [0, 1] on the
test split; lists hold one value per seed. The ``kdtutor`` runner and the report
read this file; :func:`load` checks the shape of everything they read, so a
damaged file is reported in one line instead of failing half-way through a report.
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import numpy as np

from kdtutor.series.files import replaced_atomically

__all__ = [
    "RESULTS_FILE",
    "RUN_KEY",
    "NOTEBOOK_STEM",
    "ResultsFileError",
    "record",
    "load",
    "validate",
    "write_json_atomically",
    "write_run_record",
]

RESULTS_FILE = "results.json"
RUN_KEY = "_run"  # the runner's own record (notebook stems start with digits)
#: A notebook's file name without ``.ipynb``: two digits, then snake case (``03_distilling``).
NOTEBOOK_STEM = re.compile(r"^(\d\d)_[a-z0-9_]+$")


class ResultsFileError(ValueError):
    """``results.json`` cannot be read or does not have the shape the runner and report read."""


def write_json_atomically(path, data) -> Path:
    """Write ``data`` as indented, key-sorted JSON to ``path`` through a temporary file.

    The temporary file is renamed over ``path`` at the end, so an interrupted run never
    leaves half a file behind.
    """
    path = Path(path)
    with replaced_atomically(path) as temporary, temporary.open("w") as stream:
        json.dump(data, stream, indent=2, sort_keys=True)
        stream.write("\n")
    return path


def write_run_record(out_dir, record: dict) -> Path:
    """Store ``record``, the runner's own record, under :data:`RUN_KEY` in ``out_dir``'s
    results file, keeping the notebooks' entries as they wrote them; return its path."""
    everything = load(out_dir)
    everything[RUN_KEY] = record
    return write_json_atomically(Path(out_dir) / RESULTS_FILE, everything)


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


# --- the shape of the file -------------------------------------------------------------------
# What the runner and the report read, and nothing more: a notebook may record other keys.
# A leaf is (what is expected, test); [schema] is a list of it; {key: schema} an object whose
# listed keys, where present, follow their schema ("*": every value of the object does).


def _is_number(value) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _or_null(leaf):
    return f"{leaf[0]} or null", lambda value: value is None or leaf[1](value)


_NUMBER = "a number", _is_number
_FRACTION = "a fraction in [0, 1]", lambda value: _is_number(value) and 0 <= value <= 1
_COUNT = "a whole number >= 0", lambda value: _is_number(value) and value >= 0 and value % 1 == 0
_TEXT = "a string", lambda value: isinstance(value, str)

_NOTEBOOK = {
    "seconds": _NUMBER,
    "teacher_accuracy": _FRACTION,
    "teacher_params": _COUNT,
    "student_params": _COUNT,
    "student_scratch_accuracy": [_FRACTION],
    "student_kd_accuracy": [_FRACTION],
    "seeds": [_COUNT],
    "temperature": _NUMBER,
    "alpha": _NUMBER,
    "sign_test_p_value": _or_null(_NUMBER),
    "tradeoffs": [
        {
            "model": _TEXT,
            "accuracy": _or_null(_FRACTION),
            "file_bytes": _or_null(_COUNT),
            "gzip_bytes": _or_null(_COUNT),
            "params": _or_null(_COUNT),
            "latency_ms": _or_null(_NUMBER),
            "sparsity": _or_null(_FRACTION),
        }
    ],
    "pareto_gzip": [_TEXT],
    # notebook 05
    "label_fractions": [_FRACTION],
    "labelled_images": [_COUNT],
    "fraction_scratch_accuracy": [[_FRACTION]],
    "fraction_kd_accuracy": [[_FRACTION]],
    "fraction_gain_points": [_NUMBER],
    "fraction_gain_standard_error_points": [_NUMBER],
    "baselines": {"*": [_FRACTION]},
    "omitted_digit": _COUNT,
    "omitted_test_images": _COUNT,
    "omitted_class": [{"student": _TEXT, "bias": _NUMBER}],
}
_SECONDS = _or_null(_NUMBER)
_RUN = {
    "status": _TEXT,
    "parameters": {},
    "versions": {},
    "machine": {"gpus": [_TEXT]},
    "notebooks": {
        "*": {
            "status": _TEXT,
            "wall_seconds": _SECONDS,
            "kernel_start_seconds": _SECONDS,
            "cells_seconds": _SECONDS,
            "notebook_seconds": _SECONDS,
        }
    },
    "failure": _or_null(("an object", lambda value: isinstance(value, dict))),
    "wall_seconds": _SECONDS,
    "notebook_seconds_total": _SECONDS,
    "overhead_seconds": _SECONDS,
    "overhead_ratio": _SECONDS,
    "overhead_parts": {"*": _NUMBER},
    "not_run": [_TEXT],
}
_FAILURE_NEEDS = ("notebook", "error", "message", "executed_notebook")  # describe_failure's
_FAILURE = {
    **{key: _TEXT for key in _FAILURE_NEEDS},
    **{key: _or_null(_TEXT) for key in ("section", "source", "kernel_log", "kernel_log_tail")},
    **{key: _or_null(_COUNT) for key in ("cell", "cells", "execution_count")},
}


def _shown(value) -> str:
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    text = json.dumps(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{text} ({kind[type(value)]})" if type(value) in kind else text


def _check(value, schema, where: str) -> str | None:
    """Return what is wrong with ``value`` at ``where``, or ``None`` if it follows ``schema``."""
    if isinstance(schema, tuple):
        expected, test = schema
        return None if test(value) else f"{where} is {_shown(value)}; expected {expected}"
    if isinstance(schema, list):
        if not isinstance(value, list):
            return f"{where} is {_shown(value)}; expected a list"
        for index, item in enumerate(value):
            if problem := _check(item, schema[0], f"{where}[{index}]"):
                return problem
        return None
    if not isinstance(value, dict):
        return f"{where} is {_shown(value)}; expected an object"
    for key, item in value.items():
        inner = schema.get(key, schema.get("*"))
        if inner is not None and (problem := _check(item, inner, f"{where}.{key}")):
            return problem
    return None


_REPAIR = "Fix that entry, or delete the file and re-run the notebooks (kdtutor run) that write it"


def validate(results, path="results.json", *, fix: str = _REPAIR) -> dict:
    """Return ``results`` if it has the shape the runner and the report read, else raise
    :class:`ResultsFileError` naming ``path``, the entry and what was expected.

    The top level is an object; each value is an object (one per notebook stem, plus the
    runner's ``"_run"``); the keys the report reads have the types it needs (accuracies
    are fractions in [0, 1], per-seed values lists, ``tradeoffs`` a list of objects).
    ``fix`` ends the message: how to repair it.
    """

    def refuse(problem: str) -> ResultsFileError:
        return ResultsFileError(f"{path}: {problem}. {fix}.")

    if not isinstance(results, dict):
        raise refuse(
            f"the top level is {_shown(results)}; expected an object with one entry per "
            'notebook, e.g. {"01_teacher_training": {"teacher_accuracy": 0.96}}'
        )
    for key, entry in results.items():
        if key == RUN_KEY:
            problem = _check(entry, _RUN, key)
            failure = entry.get("failure") if isinstance(entry, dict) else None
            if not problem and failure is not None:
                missing = [name for name in _FAILURE_NEEDS if name not in failure]
                problem = _check(failure, _FAILURE, f"{key}.failure") or (
                    f"{key}.failure lacks {', '.join(missing)}" if missing else None
                )
        else:
            problem = _check(entry, _NOTEBOOK, key)
        if problem:
            raise refuse(problem)
    return results


def load(results_dir) -> dict:
    """Return the contents of ``<results_dir>/results.json`` (``{}`` if there is none yet).

    Raises :class:`ResultsFileError` (a ``ValueError``) when the file is not valid JSON or
    does not have the shape :func:`validate` checks.
    """
    path = Path(results_dir) / RESULTS_FILE
    if not path.exists():
        return {}
    try:
        results = json.loads(path.read_text())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ResultsFileError(
            f"{path} is not valid JSON ({error}); move it aside or delete it and re-run."
        ) from error
    return validate(results, path)


def record(results_dir, notebook: str, values: dict) -> Path:
    """Merge ``values`` into ``<results_dir>/results.json`` under ``notebook``; return the path.

    ``notebook`` is the notebook's stem, e.g. ``"01_teacher_training"``.
    Keys already recorded for that notebook are replaced, other notebooks'
    entries are kept. numpy numbers and arrays are converted to plain JSON;
    NaN or infinite values raise ``ValueError``, and so does a value the report
    could not read (e.g. an accuracy outside [0, 1]). The file is replaced
    atomically, so an interrupted run never leaves half a file.
    """
    if not NOTEBOOK_STEM.match(notebook):
        raise ValueError(
            f"notebook must be a notebook stem like '01_teacher_training'; got {notebook!r}."
        )
    if not isinstance(values, dict):
        raise TypeError(f"values must be a dict of results; got {type(values).__name__}.")
    directory = Path(results_dir)
    results = load(directory)
    entry = dict(results.get(notebook, {}))
    entry.update(_plain(values, notebook))
    results[notebook] = entry
    path = directory / RESULTS_FILE
    validate(results, path, fix="Not recorded: change the value given to results.record")
    return write_json_atomically(path, results)
