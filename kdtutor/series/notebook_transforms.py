"""Turning the series' notebooks into a student's notebook and an nbgrader source notebook.

:func:`student_notebook` is a notebook as a class receives it: every output and execution
count cleared, nbval's ``# NBVAL_...`` marker lines and the links to ``solutions/`` removed,
kernelspec ``python3``, and the exercises with their ``kdtutor.exercises`` checks kept as
they are. Its ``RESULTS_DIR`` and ``ARTIFACTS_DIR`` defaults lose their ``../`` (the
repository keeps notebooks one level below ``artifacts/``; a handout keeps them beside it).
:func:`source_notebook` is nbgrader's source version of it, where each exercise is split
into an answer cell holding the reference solution (from ``notebooks/solutions/``) between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` (inside each function to write, for an
implement exercise), and a locked, graded test cell that asserts the same check, run in a
fresh process (:mod:`kdtutor.exercises.grading`) that the student's kernel cannot fool;
:func:`set_nbgrader_run_folders` gives it run folders that keep a graded run from writing
into the assignment (``RESULTS_DIR = None``, ``ARTIFACTS_READ_ONLY = True``).
:mod:`kdtutor.series.handout` writes them into a handout folder.
"""

from __future__ import annotations

import ast
import dataclasses
import itertools
import re
import textwrap
from pathlib import Path

import nbformat

__all__ = [
    "Exercise",
    "student_notebook",
    "exercises_of",
    "source_notebook",
    "set_nbgrader_run_folders",
]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
POINTS_PER_EXERCISE = 1
NBGRADER_SCHEMA_VERSION = 3  # nbgrader 0.9's cell metadata schema (nbgraderformat/v3.json)
BEGIN_SOLUTION, END_SOLUTION = "### BEGIN SOLUTION", "### END SOLUTION"

_NBVAL_MARKER = re.compile(r"^[ \t]*#[ \t]*NBVAL_\w+[ \t]*$\n?", re.MULTILINE)
# "Worked solutions: `solutions/01_...ipynb`." and "Reference solutions: [solutions/...](...)."
_SOLUTIONS_LINK = re.compile(r"[ \t]*\b\w+ solutions?: [^\n]*?solutions/[^\n]*?\.(?=\s|$)")
# The repository keeps notebooks in notebooks/, one level below artifacts/ and runs/.
_PARENT_PATH = re.compile(
    r"""^([ \t]*(?:RESULTS_DIR|ARTIFACTS_DIR)\b[^=\n]*=[ \t]*["'])\.\./""", re.MULTILINE
)
_ANSWER_LABEL = re.compile(r"^\*\*(?:Exercise )?\d+\.\*\*\s*")


# --- the students' notebook ------------------------------------------------------------------


def student_notebook(path) -> nbformat.NotebookNode:
    """The notebook at ``path`` as a student receives it (see the module docstring)."""
    nb = nbformat.read(str(path), as_version=4)
    nb.metadata.pop("papermill", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    for cell in nb.cells:
        for key in ("papermill", "execution", "collapsed", "scrolled"):
            cell.metadata.pop(key, None)
        if not cell.metadata.get("tags", True):
            del cell.metadata["tags"]
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
            # nbval's markers tell the tests which outputs to compare; to a student, noise.
            cell.source = _NBVAL_MARKER.sub("", cell.source)
            if "parameters" in cell.metadata.get("tags", []):
                cell.source = _PARENT_PATH.sub(r"\1", cell.source)
        elif cell.cell_type == "markdown" and "solutions/" in cell.source:
            cell.source = re.sub(r"\n{3,}", "\n\n", _SOLUTIONS_LINK.sub("", cell.source)).strip()
    return nb


# --- exercises and their solutions -----------------------------------------------------------


@dataclasses.dataclass
class Exercise:
    """One exercise cell of a notebook: its ``cell`` index, the ``answer`` variable the check
    reads (``answer_1``), the cell's code before the check (``context``, with the line
    ``answer_1 = None  # ...``) and the ``check`` statement itself."""

    cell: int
    answer: str
    context: str
    check: str


def _is_check(node) -> bool:
    """Whether ``node`` calls ``exercises.check_*`` (``kdtutor.exercises`` as the notebooks
    import it) anywhere inside."""
    return any(
        isinstance(call, ast.Call)
        and isinstance(call.func, ast.Attribute)
        and call.func.attr.startswith("check_")
        and isinstance(call.func.value, ast.Name)
        and call.func.value.id == "exercises"
        for call in ast.walk(node)
    )


def exercises_of(nb, name: str = "notebook") -> list[Exercise]:
    """The exercises of ``nb``: each code cell that calls ``exercises.check_<name>(answer_N,
    ...)`` as its last statement. Raises ``ValueError`` (naming ``name`` and the cell) for a
    check that is not the last statement of its cell or whose first argument is not a name."""
    found = []
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or "exercises.check_" not in cell.source:
            continue
        tree = ast.parse(cell.source)
        checks = [node for node in tree.body if _is_check(node)]
        if not checks:
            continue
        where = f"{name}, cell {index + 1}"
        check = checks[-1]
        if len(checks) > 1 or check is not tree.body[-1]:
            raise ValueError(
                f"{where}: expected one exercises.check_...(...) call, as the cell's last "
                "statement; move other code out of the exercise cell."
            )
        call = next(node for node in ast.walk(check) if isinstance(node, ast.Call))
        if not call.args or not isinstance(call.args[0], ast.Name):
            raise ValueError(f"{where}: the check's first argument must be the answer variable.")
        lines = cell.source.splitlines()
        found.append(
            Exercise(
                cell=index,
                answer=call.args[0].id,
                context="\n".join(lines[: check.lineno - 1]).rstrip(),
                check=ast.get_source_segment(cell.source, check),
            )
        )
    return found


def _assigned(cell) -> set[str]:
    """The names a code cell assigns or defines (``def``, ``class``) at its top level."""
    if cell.cell_type != "code":
        return set()
    body = ast.parse(cell.source).body
    defined = {node.name for node in body if isinstance(node, _DEFINITIONS)}
    return defined | {
        name.id
        for node in body
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        for name in ast.walk(target)  # also `_, answer_3 = model.evaluate(...)`
        if isinstance(name, ast.Name)
    }


_DEFINITIONS = ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef
_FUNCTIONS = ast.FunctionDef | ast.AsyncFunctionDef


def _functions(tree, prefix: str = ""):
    """(qualified name, node) of every function and method of ``tree``, classes included."""
    for node in getattr(tree, "body", []):
        if isinstance(node, _DEFINITIONS):
            name = f"{prefix}{node.name}"
            if isinstance(node, _FUNCTIONS):
                yield name, node
            yield from _functions(node, f"{name}.") if isinstance(node, ast.ClassDef) else ()


def _body_without_docstring(node) -> list:
    body = node.body
    if body and isinstance(body[0], ast.Expr) and isinstance(body[0].value, ast.Constant):
        if isinstance(body[0].value.value, str):
            return body[1:]
    return body


def _is_stub(node) -> bool:
    """A function of an implement exercise left to write: a docstring, then ``return None``."""
    rest = _body_without_docstring(node)
    return (
        len(rest) == 1
        and len(node.body) == 2
        and isinstance(rest[0], ast.Return)
        and isinstance(rest[0].value, ast.Constant)
        and rest[0].value.value is None
    )


def _splice(context: str, solution: str, where: str) -> str | None:
    """``context`` (an exercise cell's code) with each stub's ``return None`` replaced by the
    body of the same function in ``solution``, between the nbgrader markers, at the stub's
    indentation; None when ``context`` has no stub. ``nbgrader generate_assignment`` turns
    each region back into a comment under the stub's docstring, so the signature and the
    docstring stay the student's to read. Raises ``ValueError`` (naming ``where``) for a stub
    that the solution does not define, or a function left to write without a docstring
    (nbgrader would leave it a comment only, a syntax error)."""
    stubs = [(name, node) for name, node in _functions(ast.parse(context)) if _is_stub(node)]
    if not stubs:
        return None
    solved = dict(_functions(ast.parse(solution)))
    lines, solution_lines = context.splitlines(), solution.splitlines()
    # The solution's explanation (comment lines before its code) goes into the first region.
    explanation = list(itertools.takewhile(lambda line: line.startswith("#"), solution_lines))
    first = min(stub.lineno for _, stub in stubs)
    for name, stub in sorted(stubs, key=lambda item: -item[1].lineno):
        if name not in solved:
            raise ValueError(f"{where}: the solution defines no `{name}` to fill the stub with.")
        body = _body_without_docstring(solved[name])
        if not body:
            raise ValueError(f"{where}: the solution's `{name}` has no body.")
        indent = " " * stub.body[-1].col_offset
        code = textwrap.dedent("\n".join(solution_lines[body[0].lineno - 1 : body[-1].end_lineno]))
        comments = explanation if stub.lineno == first else []
        region = [BEGIN_SOLUTION, *comments, *code.splitlines(), END_SOLUTION]
        ret = stub.body[-1]
        lines[ret.lineno - 1 : ret.end_lineno] = [f"{indent}{line}".rstrip() for line in region]
    return "\n".join(lines)


def _solution(solutions_nb, answer: str, context: str, name: str) -> str:
    """The reference solution of the exercise whose answer variable is ``answer``: the markdown
    before the solutions notebook's cell that assigns it (as comments) and that cell's code,
    without its own ``assert exercises.check_...`` (the test cell checks) and without
    statements the exercise cell's ``context`` already runs."""
    cells = solutions_nb.cells
    index = next((i for i, cell in enumerate(cells) if answer in _assigned(cell)), None)
    if index is None:
        raise ValueError(f"{name} has no code cell that assigns {answer}.")
    cell, tree = cells[index], ast.parse(cells[index].source)
    explanation = []
    for before in reversed(cells[:index]):
        if before.cell_type != "markdown":
            break
        explanation[:0] = _ANSWER_LABEL.sub("", before.source).splitlines()
    given = {ast.dump(node) for node in ast.parse(context or "pass").body}
    drop = set()
    for node in tree.body:
        if _is_check(node) or ast.dump(node) in given:
            drop.update(range(node.lineno - 1, node.end_lineno))
    code = [line for number, line in enumerate(cell.source.splitlines()) if number not in drop]
    comments = [f"# {line}".rstrip() for line in explanation]
    return "\n".join([*comments, *code]).strip()


def _nbgrader(grade_id: str, *, grade: bool, solution: bool, locked: bool) -> dict:
    meta = {
        "grade": grade,
        "grade_id": grade_id,
        "locked": locked,
        "schema_version": NBGRADER_SCHEMA_VERSION,
        "solution": solution,
        "task": False,
    }
    if grade:
        meta["points"] = POINTS_PER_EXERCISE
    return meta


GRADED_CHECK = (
    "from runpy import run_module  # graded in a new Python process, and again by autograde\n"
    'assert run_module("kdtutor.exercises.grading")["grade"]({arguments})'
)


def _graded(check: str) -> str:
    """The locked test cell for the exercise ``check`` (``exercises.check_x(answer_1, ...)``):
    the same call through :func:`kdtutor.exercises.grading.grade`, loaded afresh, which runs
    the check in a new process so that a check, a reference or a builtin replaced in the
    student's kernel cannot change the grade."""
    node = ast.parse(check.removeprefix("assert ").strip()).body[0]
    call = next(item for item in ast.walk(node) if isinstance(item, ast.Call))
    source = check.removeprefix("assert ").strip()
    arguments = [f'"{call.func.attr}"'] + [
        ast.get_source_segment(source, item) for item in (*call.args, *call.keywords)
    ]
    return GRADED_CHECK.format(arguments=", ".join(arguments))


def source_notebook(path, solutions_path) -> nbformat.NotebookNode:
    """The nbgrader source version of the notebook at ``path``, solutions from ``solutions_path``.

    Each exercise cell becomes two: an autograded answer cell (nbgrader ``solution: true``)
    that keeps the exercise's code and its ``answer_N = None`` line, followed by the reference
    solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (``nbgrader
    generate_assignment`` removes it; for an exercise whose cell holds functions to write, each
    function's ``return None`` is replaced by the solution's body instead); and a locked test
    cell worth :data:`POINTS_PER_EXERCISE` point(s) that asserts the same check, run in a
    fresh process by :func:`kdtutor.exercises.grading.grade` (the check returns False for a
    wrong answer; the assert makes that a failed test for the autograder).
    """
    nb = student_notebook(path)
    name, solutions_name = Path(path).name, f"solutions/{Path(solutions_path).name}"
    exercises = exercises_of(nb, name)
    if not exercises:
        return nb
    if not Path(solutions_path).is_file():
        raise ValueError(f"{name} has exercises but no solutions notebook at {solutions_path}.")
    solutions_nb = nbformat.read(str(solutions_path), as_version=4)
    for number, exercise in reversed(list(enumerate(exercises, start=1))):
        cell = nb.cells[exercise.cell]
        solution = _solution(solutions_nb, exercise.answer, exercise.context, solutions_name)
        answer_id = f"ex{number}_{exercise.answer}"
        spliced = _splice(exercise.context, solution, f"{name}, exercise {number}")
        cell.source = spliced or "\n".join(
            part for part in (exercise.context, BEGIN_SOLUTION, solution, END_SOLUTION) if part
        )
        cell.metadata["nbgrader"] = _nbgrader(answer_id, grade=False, solution=True, locked=False)
        test = nbformat.v4.new_code_cell(_graded(exercise.check))
        test.id = f"{cell.get('id', answer_id)}-check"[-64:]  # deterministic, unlike new ids
        test.metadata["nbgrader"] = _nbgrader(
            f"ex{number}_check", grade=True, solution=False, locked=True
        )
        nb.cells.insert(exercise.cell + 1, test)
    return nb


# --- nbgrader's run folders ------------------------------------------------------------------

# The nbgrader version's run folders (see setup.start): results.json into a temporary folder,
# models read from the released artifacts/ and saved into a temporary copy, so a graded run
# (nbgrader validate, autograde) writes nothing into the assignment.
_RUN_FOLDER_LINE = re.compile(r"^[ \t]*(?:RESULTS_DIR|ARTIFACTS_DIR|ARTIFACTS_READ_ONLY)\b")
_NBGRADER_RUN_FOLDERS = [
    "RESULTS_DIR: str = None  # None: results.json goes to a temporary folder, not beside this",
    'ARTIFACTS_DIR: str = "artifacts"  # the course\'s trained teacher, released with this',
    "ARTIFACTS_READ_ONLY: bool = True  # the models trained here are saved to a temporary copy",
]


def set_nbgrader_run_folders(nb) -> None:
    """Set the run folders in the parameters cell of ``nb``, nbgrader's version of a notebook."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            kept = [line for line in cell.source.splitlines() if not _RUN_FOLDER_LINE.match(line)]
            cell.source = "\n".join([*kept, *_NBGRADER_RUN_FOLDERS])
            return
