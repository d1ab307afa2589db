"""The results file: every notebook merges its key numbers into ``results.json``.

Layout (see the project's design notes): one top-level key per notebook stem,
e.g. ``"03_distilling_the_student"``, holding that notebook's numbers, and the
runner's own record under ``"_run"``. Accuracies are fractions in [0, 1] on the
test split; lists hold one value per seed. The ``kdtutor`` runner and the report
read this file; :func:`load` checks the shape of everything they read, so a
damaged file is reported in one line instead of failing half-way through a report.
"""

from __future__ import annotations

import functools
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
    "SCHEMA_FILE",
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
#: The JSON Schema of the file (draft 2020-12), versioned: what the runner and the report read,
#: and nothing more (a notebook may record other keys). The tests validate the committed runs
#: against it; other tools can read it too.
SCHEMA_FILE = Path(__file__).with_name("results.schema.json")


@functools.cache
def _validator():
    import jsonschema

    schema = json.loads(SCHEMA_FILE.read_text())
    return jsonschema.Draft202012Validator(schema)


def _shown(value) -> str:
    kind = {dict: "an object", list: "a list", str: "a string", bool: "a boolean"}
    text = json.dumps(value)
    text = text if len(text) <= 40 else text[:37] + "..."
    return f"{text} ({kind[type(value)]})" if type(value) in kind else text


def _where(path) -> str:
    """``fraction_kd_accuracy[0][1]`` for the path ``("03_...", "fraction_kd_accuracy", 0, 1)``."""
    where = ""
    for part in path:
        where += f"[{part}]" if isinstance(part, int) else f"{'.' if where else ''}{part}"
    return where


def _problem(error) -> str:
    """One line from a ``jsonschema`` error: where, what was found, what was expected."""
    where = _where(error.absolute_path)
    if error.validator == "required":
        missing = [key for key in error.validator_value if key not in error.instance]
        return f"{where} lacks {', '.join(missing)}"
    expected = error.schema.get("description") or error.message
    if not where:
        return (
            f"the top level is {_shown(error.instance)}; expected an object with one entry per "
            'notebook, e.g. {"01_teacher_training": {"teacher_accuracy": 0.96}}'
        )
    return f"{where} is {_shown(error.instance)}; expected {expected}"


_REPAIR = "Fix that entry, or delete the file and re-run the notebooks (kdtutor run) that write it"


def validate(results, path="results.json", *, fix: str = _REPAIR) -> dict:
    """Return ``results`` if it has the shape the runner and the report read, else raise
    :class:`ResultsFileError` naming ``path``, the entry and what was expected.

    The top level is an object; each value is an object (one per notebook stem, plus the
    runner's ``"_run"``); the keys the report reads have the types it needs (accuracies
    are fractions in [0, 1], per-seed values lists, ``tradeoffs`` a list of objects).
    ``fix`` ends the message: how to repair it.
    """
    from jsonschema.exceptions import best_match

    error = best_match(_validator().iter_errors(results))
    if error is not None:
        raise ResultsFileError(f"{path}: {_problem(error)}. {fix}.")
    return results


def _refuse_constant(name: str):
    raise json.JSONDecodeError(f"{name} is not a number the report can show", name, 0)


def load(results_dir) -> dict:
    """Return the contents of ``<results_dir>/results.json`` (``{}`` if there is none yet).

    Raises :class:`ResultsFileError` (a ``ValueError``) when the file is not valid JSON or
    does not have the shape :func:`validate` checks.
    """
    path = Path(results_dir) / RESULTS_FILE
    if not path.exists():
        return {}
    try:
        results = json.loads(path.read_text(), parse_constant=_refuse_constant)
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
