"""``kdtutor handout DIR``: the notebooks as a class receives them, or nbgrader's source version.

The plain handout is flat: ``DIR/NN_name.ipynb`` with every output and execution count
cleared, nbval's ``# NBVAL_...`` marker lines and the links to ``solutions/`` removed,
kernelspec ``python3``, and the exercises with their ``kdtutor.exercises`` checks kept as
they are; plus a ``README.md`` for students and, with ``artifacts``, the cached teacher(s)
in ``DIR/artifacts/``. The notebooks' ``RESULTS_DIR`` and ``ARTIFACTS_DIR`` defaults lose
their ``../`` (the repository keeps notebooks one level below ``artifacts/``; the handout
keeps them beside it), so a notebook opened from ``DIR`` finds the teacher. With
``nbgrader`` the same notebooks become an nbgrader course: ``DIR/nbgrader_config.py``,
``DIR/README.md`` for the instructor and one assignment per notebook,
``DIR/source/NN_name/NN_name.ipynb``, where each exercise is split into an answer cell
holding the reference solution (from ``notebooks/solutions/``) between ``### BEGIN
SOLUTION`` and ``### END SOLUTION``, and a locked, graded test cell
``assert exercises.check_...(...)``.
"""

from __future__ import annotations

import ast
import dataclasses
import re
import shutil
from pathlib import Path

import nbformat

from kdtutor.series import runner
from kdtutor.series.profiles import PROFILES

__all__ = ["Exercise", "student_notebook", "exercises_of", "source_notebook", "write_handout"]

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
COURSE_ID = "kdtutor"
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


# --- the plain handout -----------------------------------------------------------------------


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
    """The names a code cell assigns at its top level."""
    if cell.cell_type != "code":
        return set()
    return {
        name.id
        for node in ast.parse(cell.source).body
        if isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign)
        for target in (node.targets if isinstance(node, ast.Assign) else [node.target])
        for name in ast.walk(target)  # also `_, answer_3 = model.evaluate(...)`
        if isinstance(name, ast.Name)
    }


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


def source_notebook(path, solutions_path) -> nbformat.NotebookNode:
    """The nbgrader source version of the notebook at ``path``, solutions from ``solutions_path``.

    Each exercise cell becomes two: an autograded answer cell (nbgrader ``solution: true``)
    that keeps the exercise's code and its ``answer_N = None`` line, followed by the reference
    solution between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (``nbgrader
    generate_assignment`` removes it); and a locked test cell worth
    :data:`POINTS_PER_EXERCISE` point(s), ``assert exercises.check_...(...)`` (the check returns
    False for a wrong answer; the assert makes that a failed test for the autograder).
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
        cell.source = "\n".join(
            part for part in (exercise.context, BEGIN_SOLUTION, solution, END_SOLUTION) if part
        )
        cell.metadata["nbgrader"] = _nbgrader(answer_id, grade=False, solution=True, locked=False)
        check = exercise.check
        check = check if check.startswith("assert ") else f"assert {check}"
        test = nbformat.v4.new_code_cell(check)
        test.id = f"{cell.get('id', answer_id)}-check"[-64:]  # deterministic, unlike new ids
        test.metadata["nbgrader"] = _nbgrader(
            f"ex{number}_check", grade=True, solution=False, locked=True
        )
        nb.cells.insert(exercise.cell + 1, test)
    return nb


# --- the cached teacher ----------------------------------------------------------------------


def teacher_files(cache_dir) -> list[Path]:
    """The cached teachers in ``cache_dir`` (``teacher_*.keras`` and their ``.json``) to copy.

    Raises :class:`runner.UsageError` when the teacher that the notebooks load as handed out
    (notebook 01's, quick profile, seed 0) is not among them, saying how to make it.
    """
    from kdtutor.series.artifacts import teacher_cache_path  # imports Keras: only when asked

    cache_dir = Path(cache_dir)
    quick = PROFILES["quick"]
    wanted = teacher_cache_path(
        cache_dir,
        dataset=quick["dataset"],
        architecture=quick["teacher"],
        epochs=quick["teacher_epochs"],
        batch_size=quick["batch_size"],
        learning_rate=quick["learning_rate"],
        seed=0,
    )
    teachers = sorted(cache_dir.glob("teacher_*.keras"))
    if wanted not in teachers:
        found = ", ".join(path.name for path in teachers) or "no teacher at all"
        raise runner.UsageError(
            f"--artifacts: no cached teacher for the notebooks' default (quick) profile in "
            f"{cache_dir}: expected {wanted.name}, found {found}. Make it with "
            "`kdtutor run --only 01` (about a minute), or give the cache that has it with --cache."
        )
    return [
        file for path in teachers for file in (path, path.with_suffix(".json")) if file.exists()
    ]


# --- the READMEs -----------------------------------------------------------------------------


def _notebook_rows(notebooks, exercise_counts) -> list[str]:
    rows = ["| notebook | what it is | exercises | run time (2-core CPU) |", "|---|---|---|---|"]
    for nb in notebooks:
        quick = runner.ESTIMATED_SECONDS.get(nb.stem, (None, None))[0]
        minutes = f"about {max(1, round(quick / 60))} min" if quick else "?"
        rows.append(f"| `{nb.stem}.ipynb` | {nb.title} | {exercise_counts[nb.stem]} | {minutes} |")
    return rows


def _student_readme(notebooks, exercise_counts, teachers) -> str:
    from kdtutor import __version__

    if teachers:
        names = ", ".join(f"`{path.name}`" for path in teachers if path.suffix == ".keras")
        teacher = (
            f"The trained teacher is included in `artifacts/` ({names}): every notebook loads "
            "it from there instead of training it (`ARTIFACTS_DIR` in a notebook's first code "
            "cell says where it looks)."
        )
    else:
        teacher = (
            "Notebook 01 trains the teacher and saves it into `artifacts/` here; a later "
            "notebook opened first trains the same teacher itself (a minute or so) and saves "
            "it there for the others."
        )
    return "\n".join(
        [
            "# Knowledge distillation, step by step: your notebooks",
            "",
            "A series of Jupyter notebooks on knowledge distillation with TensorFlow and "
            "Keras 3: a big *teacher* network is trained, then a small *student* learns from "
            "the teacher's softened outputs as well as from the labels.",
            "",
            "## Install and open",
            "",
            f"You need Python 3.11+ and the `kdtutor` package (version {__version__}) with its "
            "requirements (TensorFlow 2.21, Keras 3, JupyterLab), installed as your instructor "
            "says; from a checkout of the kdtutor repository that is "
            "`pip install -r requirements.txt` in a fresh virtual environment. "
            "`kdtutor doctor` checks the environment and says how to fix what is wrong. Then, "
            "in this folder:",
            "",
            "```bash",
            "jupyter lab .",
            "```",
            "",
            "and open a notebook. Everything runs offline on a laptop CPU.",
            "",
            "## The notebooks",
            "",
            *_notebook_rows(notebooks, exercise_counts),
            "",
            "Each notebook runs on its own: you may start with any of them. Run a notebook top "
            "to bottom (Run > Run All Cells) before you change anything. The first code cell "
            "holds the knobs (`None` means the default); key numbers are written to "
            "`runs/latest/results.json` here.",
            "",
            teacher,
            "",
            "## Exercises",
            "",
            "Each notebook ends with a few exercises. Put your answer in place of `None` in "
            "the line `answer_N = None` and run the cell: the check below it "
            "(`exercises.check_...`) prints `Correct!`, or `Not yet.` with a hint. It never "
            "shows the answer, so try again as often as you like.",
            "",
        ]
    )


def _nbgrader_readme(notebooks, exercise_counts, teachers) -> str:
    first = notebooks[0].stem
    included = (
        "Each assignment folder also holds `artifacts/` with the cached teacher(s), released "
        "with the notebook, so students skip its training."
        if teachers
        else "No teacher is included (add `--artifacts` to include it): notebook 01 trains it, "
        "and any other notebook opened first trains the same one itself (a minute or so)."
    )
    return "\n".join(
        [
            "# kdtutor: nbgrader course (instructor's source version)",
            "",
            "Written by `kdtutor handout DIR --nbgrader`. Layout:",
            "",
            "```",
            "nbgrader_config.py              course id, and the stub that replaces solutions",
            "source/NN_name/NN_name.ipynb    one assignment per notebook, WITH the solutions",
            "```",
            "",
            "Each exercise is two cells: an autograded answer cell (`answer_N = None`, then the "
            f"reference solution between `{BEGIN_SOLUTION}` and `{END_SOLUTION}`) and a "
            "locked test cell, `assert exercises.check_...(...)`, worth "
            f"{POINTS_PER_EXERCISE} point. The check prints `Correct!` or a hint (never the "
            "answer); the `assert` turns a wrong answer into a failed test.",
            "",
            "## The assignments",
            "",
            *_notebook_rows(notebooks, exercise_counts),
            "",
            included,
            "",
            "## Use it",
            "",
            "```bash",
            "cd DIR",
            f"nbgrader validate source/{first}/{first}.ipynb  # runs it: every test should pass",
            f"nbgrader generate_assignment {first}  # the student version: release/{first}/",
            "```",
            "",
            "`release/` is what students receive: solutions replaced by `# YOUR CODE HERE`, "
            "outputs cleared, test cells locked. Then the usual nbgrader cycle "
            "(`nbgrader release_assignment`, `collect`, `autograde`, `generate_feedback`). "
            "`nbgrader validate` executes the whole notebook (its training too: about the run "
            "time above). The notebooks need the `kdtutor` package wherever they run, on the "
            "students' machines and where you autograde.",
            "",
            "For a handout without nbgrader, run `kdtutor handout DIR` instead.",
            "",
        ]
    )


_NBGRADER_CONFIG = f'''\
"""nbgrader configuration of the kdtutor course (written by `kdtutor handout --nbgrader`)."""

c = get_config()  # noqa: F821 (nbgrader defines it)
c.CourseDirectory.course_id = "{COURSE_ID}"
# Each answer cell keeps its `answer_N = None` line above the solution, so the student version
# needs no `raise NotImplementedError()`: an unanswered exercise already fails its test cell.
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE"}}
'''


# --- writing ---------------------------------------------------------------------------------


def _check_out_dir(out: Path, notebooks_dir: Path, force: bool) -> None:
    if out.exists() and not out.is_dir():
        raise runner.UsageError(f"{out} exists and is not a folder; give a new or empty folder.")
    if out in (notebooks_dir, *notebooks_dir.parents) or out.is_relative_to(notebooks_dir):
        raise runner.UsageError(
            f"{out} is or contains the series' own notebooks folder ({notebooks_dir}), which a "
            "handout must not overwrite; give a folder of its own, e.g. kdtutor handout ~/class."
        )
    if out.is_dir() and any(out.iterdir()) and not force:
        raise runner.UsageError(
            f"{out} is not empty. Choose a new folder, or add --force to write over the files "
            "of the same names there (other files are left as they are)."
        )


def write_handout(
    out,
    *,
    only: str | None = None,
    artifacts: bool = False,
    cache_dir=None,
    nbgrader: bool = False,
    force: bool = False,
    notebooks_dir=runner.NOTEBOOKS_DIR,
) -> list[Path]:
    """Write the handout into ``out`` and return the paths written, in order.

    ``only`` selects notebooks like ``kdtutor run --only`` ("01,03"); ``artifacts`` copies
    the cached teacher(s) from ``cache_dir`` (default: the model cache ``kdtutor run`` and
    the notebooks use, ``artifacts/`` of the checkout); ``nbgrader`` writes the nbgrader
    source version instead of the students' one. Everything is checked and built before
    the first file is written. Raises :class:`runner.UsageError` for a bad argument, a
    non-empty ``out`` (unless ``force``: then files of the same names are overwritten and
    nothing else is touched) or a missing teacher; ``ValueError`` for a notebook whose
    exercises cannot be matched with its solutions.
    """
    out = Path(out).expanduser().resolve()
    notebooks_dir = Path(notebooks_dir).resolve()
    if cache_dir is not None and not artifacts:
        raise runner.UsageError("--cache only says where --artifacts copies from; add --artifacts.")
    _check_out_dir(out, notebooks_dir, force)
    selected = runner.select(runner.discover(notebooks_dir), only)
    broken = [nb for nb in selected if nb.problem]
    if broken:
        raise runner.UsageError(
            "Cannot read "
            + "; ".join(f"{nb.path}: {nb.problem}" for nb in broken)
            + ". Fix it, or leave it out with --only."
        )
    teachers = teacher_files(cache_dir or runner.ARTIFACTS_DIR) if artifacts else []

    built, counts = {}, {}
    for nb in selected:
        if nbgrader:
            built[nb.stem] = source_notebook(nb.path, notebooks_dir / "solutions" / nb.path.name)
        else:
            built[nb.stem] = student_notebook(nb.path)
        counts[nb.stem] = len(exercises_of(student_notebook(nb.path), nb.path.name))
        nbformat.validate(built[nb.stem])

    written = []

    def write_text(path: Path, text: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        written.append(path)

    def copy_teachers(folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        for path in teachers:
            # copyfile, not copy2: the cache writes 0600 files (mkstemp) that a class could not read
            written.append(Path(shutil.copyfile(path, folder / path.name)))

    out.mkdir(parents=True, exist_ok=True)
    if nbgrader:
        write_text(out / "nbgrader_config.py", _NBGRADER_CONFIG)
        write_text(out / "README.md", _nbgrader_readme(selected, counts, teachers))
        for stem, nb in built.items():
            write_text(out / "source" / stem / f"{stem}.ipynb", nbformat.writes(nb) + "\n")
            if teachers:
                copy_teachers(out / "source" / stem / "artifacts")
    else:
        write_text(out / "README.md", _student_readme(selected, counts, teachers))
        for stem, nb in built.items():
            write_text(out / f"{stem}.ipynb", nbformat.writes(nb) + "\n")
        if teachers:
            copy_teachers(out / "artifacts")
    return written
