"""The series' notebooks and their typed parameters: find them, read them, check -p values.

- :func:`discover` finds the numbered notebooks (``NN_snake_case.ipynb``) in ``notebooks/``
  and reads each one's title and ``parameters`` cell with papermill's own reader, so what it
  declares is what papermill injects into (:func:`declared_parameters`).
- :func:`select` picks the ones ``--only`` names; :func:`parse_parameter` reads a
  ``-p NAME=VALUE`` pair and :func:`check_type` checks its value against the type a notebook
  declares (``EPOCHS: int = None``).

A bad argument raises :class:`UsageError`, whose message lists what is valid.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import logging
import re
from pathlib import Path

from kdtutor.series import results
from kdtutor.series.profiles import PROFILES

__all__ = [
    "REPO_ROOT",
    "NOTEBOOKS_DIR",
    "ARTIFACTS_DIR",
    "UsageError",
    "Notebook",
    "discover",
    "declared_parameters",
    "parse_parameter",
    "check_type",
    "select",
]

REPO_ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
ARTIFACTS_DIR = REPO_ROOT / "artifacts"  # git-ignored; the notebooks' own default, shared by runs


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


def check_type(notebook: Notebook, name: str, value, text: str) -> None:
    """Refuse a ``-p`` value that does not fit the type ``notebook`` declares for ``name``;
    ``None`` fits every parameter whose default is ``None`` (the profile's value)."""
    declared = notebook.parameters[name]
    kind = (declared["type"] or "").split("[")[0]  # list[float] -> list
    if kind not in _TYPES:  # no annotation: papermill injects what it is given
        return
    expected, fits, example = _TYPES[kind]
    nullable = declared["default"] == "None"
    example = example if nullable else declared["default"]
    quick = PROFILES["quick"].get(name.lower())  # the profile's value fits its rule too
    if nullable and quick is not None:
        example = json.dumps(list(quick) if isinstance(quick, tuple) else quick).replace(" ", "")
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
