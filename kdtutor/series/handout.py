"""``kdtutor handout DIR``: the notebooks as a class receives them, or nbgrader's source version.

The plain handout is flat: ``DIR/NN_name.ipynb`` with every output and execution count
cleared, nbval's ``# NBVAL_...`` marker lines and the links to ``solutions/`` removed,
kernelspec ``python3``, and the exercises with their ``kdtutor.exercises`` checks kept as
they are; plus a ``README.md`` for students, the cached teacher(s) in ``DIR/artifacts/``
(unless ``artifacts=False``) and what a student installs: the ``kdtutor`` wheel in
``DIR/wheels/`` and ``DIR/requirements.txt`` naming it. The notebooks' ``RESULTS_DIR`` and
``ARTIFACTS_DIR`` defaults lose their ``../`` (the repository keeps notebooks one level
below ``artifacts/``; the handout keeps them beside it), so a notebook opened from ``DIR``
finds the teacher. With ``nbgrader`` the same notebooks become an nbgrader course:
``DIR/nbgrader_config.py`` (exchange in ``DIR/exchange``, the teacher kept out of
feedback), ``DIR/README.md`` for the instructor, the wheel and requirements, and one
assignment per notebook, ``DIR/source/NN_name/NN_name.ipynb`` with the teacher in
``artifacts/`` beside it and run folders that keep a graded run from writing into the
assignment (``RESULTS_DIR = None``, ``ARTIFACTS_READ_ONLY = True``), where each exercise is
split into an answer cell holding the reference solution (from ``notebooks/solutions/``)
between ``### BEGIN SOLUTION`` and ``### END SOLUTION`` (inside each function to write, for
an implement exercise), and a locked, graded test cell that asserts the same check, run in a
fresh process (:mod:`kdtutor.exercises.grading`) that the student's kernel cannot fool.
"""

from __future__ import annotations

import ast
import dataclasses
import glob
import itertools
import re
import shutil
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import nbformat

from kdtutor._checks import check_output_folder
from kdtutor.series import runner
from kdtutor.series.profiles import PROFILES

__all__ = [
    "Exercise",
    "student_notebook",
    "exercises_of",
    "source_notebook",
    "build_wheel",
    "student_requirements",
    "write_handout",
]

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
    # The quick profile's teachers only (notebook 01's, and 03's for its validation split):
    # a full-profile teacher in the same cache is not what the handed-out notebooks load.
    teachers = sorted(cache_dir.glob(f"teacher_{glob.escape(quick['dataset'])}[-_]*.keras"))
    if wanted not in teachers:
        found = ", ".join(path.name for path in teachers) or "no teacher at all"
        raise runner.UsageError(
            f"a handout includes the trained teacher, but the model cache {cache_dir} has none "
            f"for the notebooks' default (quick) profile: expected {wanted.name}, found {found}. "
            "Make it with `kdtutor run --only 01` (about a minute), give the cache that has it "
            "with --cache, or leave it out with --no-artifacts (each notebook then trains the "
            "teacher itself, a minute or so, and numeric answers may differ between machines)."
        )
    return [
        file for path in teachers for file in (path, path.with_suffix(".json")) if file.exists()
    ]


# --- what a student installs -----------------------------------------------------------------

WHEELS = "wheels"  # the handout's folder for the kdtutor wheel (and an offline wheelhouse)
# Only kdtutor's own developers need these (tests, lint, browser and workflow checks, the
# wheel build); nbgrader only an nbgrader course (students fetch and submit with it).
_DEVELOPER_ONLY = {"pytest", "nbval", "ruff", "playwright", "check-jsonschema", "zizmor"}
_BUILD_ONLY = {"setuptools", "wheel"}
_REQUIREMENT_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def _build_requirements_missing(pyproject: dict) -> list[str]:
    """The ``[build-system] requires`` of ``pyproject`` that this environment does not meet."""
    from importlib import metadata

    try:
        from packaging.requirements import Requirement
    except ImportError:  # pip then says what is wrong
        return []
    missing = []
    for text in pyproject.get("build-system", {}).get("requires", []):
        requirement = Requirement(text)
        try:
            installed = metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(f"{text} (not installed)")
            continue
        if not requirement.specifier.contains(installed, prereleases=True):
            missing.append(f"{text} (installed: {installed})")
    return missing


def build_wheel(out_dir, repo_root=runner.REPO_ROOT) -> Path:
    """Build the ``kdtutor`` wheel from the checkout at ``repo_root`` into ``out_dir``; return it.

    Offline: ``pip wheel --no-deps --no-build-isolation --no-index`` with the build backend of
    this environment, on a copy of the package's sources (so the checkout gains no ``build/``
    or ``.egg-info``). Raises :class:`runner.UsageError` when ``repo_root`` is not a checkout
    or the backend ``pyproject.toml`` asks for is missing, saying how to install it.
    """
    import tomllib

    repo_root, out_dir = Path(repo_root), Path(out_dir)
    pyproject_path = repo_root / "pyproject.toml"
    if not pyproject_path.is_file() or not (repo_root / "kdtutor").is_dir():
        raise runner.UsageError(
            f"kdtutor handout builds the kdtutor wheel from the repository's checkout, but "
            f"{repo_root} has no pyproject.toml and kdtutor/; run it from a checkout."
        )
    pyproject = tomllib.loads(pyproject_path.read_text(encoding="utf-8"))
    missing = _build_requirements_missing(pyproject)
    if missing:
        raise runner.UsageError(
            f"building the kdtutor wheel (offline) needs {', '.join(missing)} in this "
            f"environment ({sys.executable}). Install it: pip install -r requirements.txt, or "
            f"pip install {' '.join(repr(text.split(' ')[0]) for text in missing)}."
        )
    with tempfile.TemporaryDirectory(prefix="kdtutor-wheel-") as scratch:
        source = Path(scratch) / "source"
        shutil.copytree(
            repo_root / "kdtutor",
            source / "kdtutor",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        shutil.copyfile(pyproject_path, source / "pyproject.toml")
        for path in repo_root.glob("*"):
            if path.is_file() and path.name.upper().startswith(("README", "LICEN", "COPYING")):
                shutil.copyfile(path, source / path.name)
        built = Path(scratch) / "built"
        command = [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation"]
        command += ["--no-index", "--isolated", "--quiet", "--wheel-dir", str(built), str(source)]
        result = subprocess.run(command, capture_output=True, text=True)
        wheels = sorted(built.glob("kdtutor-*.whl"))
        if result.returncode != 0 or len(wheels) != 1:
            log = (result.stdout + result.stderr).strip().splitlines()[-15:]
            raise runner.UsageError(
                f"building the kdtutor wheel failed ({' '.join(command[2:5])}):\n" + "\n".join(log)
            )
        out_dir.mkdir(parents=True, exist_ok=True)
        return Path(shutil.copyfile(wheels[0], out_dir / wheels[0].name))


def student_requirements(repository_requirements: str, wheel_name: str, *, nbgrader=False) -> str:
    """A class's ``requirements.txt`` from the repository's ``repository_requirements`` text.

    The same lines (pins and their comments), without what only kdtutor's developers need
    (tests, lint, browser and workflow checks, the wheel build) and without nbgrader unless
    ``nbgrader``; the editable ``-e .`` becomes the wheel ``./wheels/<wheel_name>``, a path
    that pip reads from the folder it runs in (not from the file's): the handout's folder.
    """
    # cloudpickle only sends answers to nbgrader's grading process (kdtutor.exercises.grading).
    dropped = (
        _DEVELOPER_ONLY | _BUILD_ONLY | ({"nbgrader", "cloudpickle"} if not nbgrader else set())
    )
    blocks, block = [], []
    for line in [*repository_requirements.splitlines(), ""]:
        if line.strip():
            block.append(line)
        elif block:
            blocks.append(block)
            block = []
    kept = []
    for block in blocks:
        requirements = []
        for line in block:
            name = _REQUIREMENT_NAME.match(line)
            if line.lstrip().startswith(("#", "-e", "--editable")) or name is None:
                continue
            if name.group(1).lower().replace("_", "-") not in dropped:
                requirements.append(line)
        if requirements:
            comments = [line for line in block if line.lstrip().startswith("#")][:1]
            # A section header that names developer tools would mislead: say what it is here.
            if any(_REQUIREMENT_NAME.match(line).group(1) == "nbgrader" for line in requirements):
                # (cloudpickle, beside it, sends an answer to the grading process)
                comments = ["# --- nbgrader: students fetch and submit, the instructor grades ---"]
            kept.append("\n".join([*comments, *requirements]))
    header = [
        "# What the kdtutor notebooks need (written by `kdtutor handout`, from the pinned ranges",
        "# of the kdtutor repository's requirements.txt). In this folder, in a fresh virtual",
        "# environment:  pip install -r requirements.txt   (README.md says more, offline too)",
    ]
    wheel = [
        "# --- the kdtutor package: its wheel, by a path from the folder pip runs in (here) ---",
        f"./{WHEELS}/{wheel_name}",
    ]
    return "\n\n".join(["\n".join(header), *kept, "\n".join(wheel)]) + "\n"


# --- the READMEs -----------------------------------------------------------------------------


def _notebook_rows(notebooks, exercise_counts) -> list[str]:
    rows = ["| notebook | what it is | exercises | run time (2-core CPU) |", "|---|---|---|---|"]
    for nb in notebooks:
        quick = runner.ESTIMATED_SECONDS.get(nb.stem, (None, None))[0]
        minutes = f"about {max(1, round(quick / 60))} min" if quick else "?"
        rows.append(f"| `{nb.stem}.ipynb` | {nb.title} | {exercise_counts[nb.stem]} | {minutes} |")
    return rows


def _install_lines(wheel_name: str, *, who: str) -> list[str]:
    """The install commands of a handout's README: one ``pip install``, online or offline."""
    return [
        f"You need Python 3.11 or newer; everything else {who} is in this folder: "
        f"`requirements.txt` (TensorFlow 2.21, Keras 3, JupyterLab, ...) and the `kdtutor` "
        f"package as a wheel, `{WHEELS}/{wheel_name}`. In a terminal, **in this folder**, "
        "make a fresh virtual environment and install:",
        "",
        "```bash",
        "python3 -m venv .venv",
        "source .venv/bin/activate      # Windows: py -m venv .venv, then .venv\\Scripts\\activate",
        "pip install -r requirements.txt",
        "```",
        "",
        "Run `pip` in this folder: `requirements.txt` names the wheel by the path "
        f"`./{WHEELS}/{wheel_name}`, which pip reads from the folder it runs in, not from the "
        "file's. The download is large: about 750 MB on Linux, TensorFlow 570 MB of it. Then "
        "`kdtutor doctor` checks the environment and says how to fix what is wrong.",
        "",
        "### Lab machines without internet",
        "",
        f"Fill `{WHEELS}/` once, on a machine with internet that has the same operating system "
        "and Python version as the lab machines (pip downloads the files for the machine it "
        "runs on), in this folder:",
        "",
        "```bash",
        f"pip download -r requirements.txt -d {WHEELS}/",
        "```",
        "",
        "and hand out the folder with it. On a lab machine, in this folder, the same install "
        "reads nothing but that folder:",
        "",
        "```bash",
        "python3 -m venv .venv",
        "source .venv/bin/activate",
        f"pip install --no-index --find-links {WHEELS}/ -r requirements.txt",
        "```",
    ]


def _student_readme(notebooks, exercise_counts, teachers, wheel_name) -> str:
    if teachers:
        names = ", ".join(f"`{path.name}`" for path in teachers if path.suffix == ".keras")
        teacher = (
            f"The trained teacher is included in `artifacts/` ({names}): every notebook loads "
            "it from there instead of training it (`ARTIFACTS_DIR` in a notebook's first code "
            "cell says where it looks), so everyone in the class works with the same teacher."
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
            "## Install (once)",
            "",
            *_install_lines(wheel_name, who="the notebooks need"),
            "",
            "## Open",
            "",
            "With the virtual environment active (`source .venv/bin/activate`), in this folder:",
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
            "Each notebook ends with a few exercises, checked by `exercises.check_...` at the "
            "end of the cell. Some ask for a value: put your answer in place of `None` in the "
            "line `answer_N = None` and run the cell. From notebook 02 on, some ask you to "
            "write a function of the lesson (it starts as `return None  # your code here`): "
            "write its body and run the cell; the check tries it on many inputs and names "
            "the first one where it goes wrong. A check prints `Correct!`, or `Not yet.` with "
            "a hint; it never shows the answer, so try again as often as you like.",
            "",
        ]
    )


def _nbgrader_readme(notebooks, exercise_counts, teachers, wheel_name) -> str:
    first = notebooks[0].stem
    included = (
        "Each assignment folder also holds `artifacts/` with the trained teacher(s), released "
        "with the notebook: students skip its training, and every student and the autograder "
        "load the same teacher (numeric answers depend on it)."
        if teachers
        else "No teacher is included (`--no-artifacts`): each assignment trains it whenever it "
        "runs (a minute or so), in `nbgrader validate`, on every student's machine and again "
        "for every submission in `autograde`, and numeric answers may differ between machines."
    )
    return "\n".join(
        [
            "# kdtutor: nbgrader course (instructor's source version)",
            "",
            "Written by `kdtutor handout DIR --nbgrader`. Layout:",
            "",
            "```",
            "nbgrader_config.py              course id, exchange folder, what feedback leaves out",
            "source/NN_name/NN_name.ipynb    one assignment per notebook, WITH the solutions",
            "source/NN_name/artifacts/       the trained teacher, released with the notebook",
            f"requirements.txt, {WHEELS}/       what the notebooks need; kdtutor as a wheel",
            "```",
            "",
            "Each exercise is two cells: an autograded answer cell (`answer_N = None`, or the "
            "functions to write, with the reference solution between "
            f"`{BEGIN_SOLUTION}` and `{END_SOLUTION}`) and a locked test cell worth "
            f"{POINTS_PER_EXERCISE} point. The test cell runs the exercise's "
            "`kdtutor.exercises` check in a fresh Python process "
            "(`kdtutor.exercises.grading`), so that a check, a reference or a builtin "
            "replaced in the student's kernel does not change its verdict, and `autograde` "
            "grades each answer again outside the kernel after the notebook ran (this "
            "folder's `nbgrader_config.py`). Code of the student's still runs while grading, "
            "and the kernel runs as your user: see docs/instructors.md of the kdtutor "
            'repository, "How grading resists tampering". The check prints '
            "`Correct!` or a hint (never the answer); the `assert` turns a wrong answer into a "
            "failed test.",
            "",
            "## The assignments",
            "",
            *_notebook_rows(notebooks, exercise_counts),
            "",
            included,
            "",
            "## Install",
            "",
            "The notebooks need the `kdtutor` package wherever they run: where you validate and "
            "autograde, and on every student's machine (or in the JupyterHub image). Give "
            f"students `requirements.txt` and `{WHEELS}/`; it lists nbgrader too, for fetching "
            "and submitting.",
            "",
            *_install_lines(wheel_name, who="they need"),
            "",
            "## Use it",
            "",
            "```bash",
            "cd DIR",
            f"nbgrader validate source/{first}/{first}.ipynb  # runs it: every test should pass",
            f"nbgrader generate_assignment {first}  # the student version: release/{first}/",
            f"nbgrader release_assignment {first}   # into exchange/ (see below)",
            "# students: nbgrader fetch_assignment, then nbgrader submit (or the Assignments tab)",
            f"nbgrader collect {first}",
            f"nbgrader autograde {first}",
            f"nbgrader generate_feedback {first}",
            f"nbgrader release_feedback {first}",
            "```",
            "",
            "`release/` is what students receive: solutions replaced by `# YOUR CODE HERE`, "
            "outputs cleared, test cells locked. `nbgrader validate` and `autograde` execute "
            "the whole notebook (its training too: about the run time above).",
            "",
            "## What is written where",
            "",
            "- **Nothing beside a notebook when it runs.** The nbgrader version of each "
            "notebook sets `RESULTS_DIR = None` (its `results.json` goes to a temporary folder) "
            "and `ARTIFACTS_READ_ONLY = True` (it reads the teacher from `artifacts/` and saves "
            "the models it trains into a temporary copy). So `nbgrader validate` leaves "
            "`source/` as written, and `generate_assignment` releases the notebook and the "
            "teacher only.",
            "- **The same teacher everywhere.** `autograde` copies `artifacts/` from `source/` "
            "next to each submission before it runs it (a student's own copy is replaced).",
            "- **Feedback without the teacher.** `generate_feedback` copies every file of "
            "`autograded/` into `feedback/`; `CourseDirectory.ignore` in `nbgrader_config.py` "
            "leaves out `autograded/*/*/artifacts` (by its absolute path, so the teacher is "
            "still released and used for grading). `release_feedback` sends students the HTML "
            "only.",
            "- **The exchange is in this folder.** `nbgrader_config.py` sets `c.Exchange.root` "
            "to `exchange/` here; without it, `release_assignment` would create nbgrader's "
            "default `/usr/local/share/nbgrader/exchange`, writable by everyone on the machine. "
            "nbgrader makes `exchange/` writable by everyone too (students submit into it): "
            "students on this machine need read access to this folder, and their own "
            "`nbgrader_config.py` (e.g. `~/.jupyter/nbgrader_config.py`) must name the same "
            f'`c.Exchange.root` and `c.CourseDirectory.course_id = "{COURSE_ID}"`. On a shared '
            "JupyterHub, set both to the hub's exchange folder instead.",
            "",
            "For a handout without nbgrader, run `kdtutor handout DIR` instead.",
            "",
        ]
    )


_NBGRADER_CONFIG = f'''\
"""nbgrader configuration of the kdtutor course (written by `kdtutor handout --nbgrader`)."""

import glob
import os

c = get_config()  # noqa: F821 (nbgrader defines it)
course = os.path.dirname(os.path.abspath(__file__))  # nbgrader reads this file in the course

# nbgrader puts its working folder (this course) first on sys.path: a `kdtutor/` folder that
# a student's kernel wrote here would then be imported below instead of the installed
# package, and a config that fails to load leaves nbgrader on its defaults (no grading
# outside the kernel). Import kdtutor from the installed package only.
import sys  # noqa: E402

sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != course]
for name in [m for m in sys.modules if m == "kdtutor" or m.startswith("kdtutor.")]:
    if not os.path.abspath(getattr(sys.modules[name], "__file__", "") or "").startswith(course):
        continue
    del sys.modules[name]

c.CourseDirectory.course_id = "{COURSE_ID}"
# Each answer cell keeps its `answer_N = None` line above the solution, so the student version
# needs no `raise NotImplementedError()`: an unanswered exercise already fails its test cell.
c.ClearSolutions.code_stub = {{"python": "# YOUR CODE HERE"}}

# release_assignment, fetch_assignment, submit and collect pass assignments through this
# folder. Without this line nbgrader uses /usr/local/share/nbgrader/exchange and creates it
# writable by everyone. Students' own nbgrader config must name the same folder (and course
# id); on a shared JupyterHub, use the hub's exchange folder here and there.
c.Exchange.root = os.path.join(course, "exchange")

# autograde copies each assignment's files from source/ next to the submitted notebook in
# autograded/ and runs it there: the teacher in artifacts/ must be there. generate_feedback
# then copies every file of autograded/ into feedback/: leave artifacts/ out there. nbgrader
# globs each pattern from the folder it copies, so an absolute one matches only that folder.
# The first four are nbgrader's defaults.
c.CourseDirectory.ignore = [
    ".ipynb_checkpoints",
    "*.pyc",
    "__pycache__",
    "feedback",
    os.path.join(glob.escape(course), "autograded", "*", "*", "artifacts"),
]

# autograde grades each exercise again outside the student's kernel: CollectAnswers gives
# the kernel a folder for the answers its locked test cells send, GradeAnswers grades them in
# a fresh process after the notebook ran and writes the test cells' outputs, which
# SaveAutoGrades scores. The rest is nbgrader 0.9's default list.
from nbconvert.preprocessors import ClearMetadataPreprocessor  # noqa: E402
from nbgrader.preprocessors import (  # noqa: E402
    AssignLatePenalties, CheckCellMetadata, Execute, IgnorePattern, LimitOutput, SaveAutoGrades,
)

from kdtutor.series.autograde import CollectAnswers, GradeAnswers  # noqa: E402

# nbgrader stops a cell after 30 s by default; 03's and 05's training cells take up to a few
# minutes. A kernel that a submission broke (e.g. by replacing a builtin) is stopped here too.
c.Execute.timeout = 600

c.Autograde.autograde_preprocessors = [
    CollectAnswers, Execute, GradeAnswers, IgnorePattern, ClearMetadataPreprocessor,
    LimitOutput, SaveAutoGrades, AssignLatePenalties, CheckCellMetadata,
]
'''


# --- writing ---------------------------------------------------------------------------------


def _check_out_dir(out: Path, notebooks_dir: Path, force: bool) -> None:
    try:
        check_output_folder(out, "The handout folder")
    except ValueError as error:
        raise runner.UsageError(str(error)) from None
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


# The nbgrader version's run folders (see setup.start): results.json into a temporary folder,
# models read from the released artifacts/ and saved into a temporary copy, so a graded run
# (nbgrader validate, autograde) writes nothing into the assignment.
_RUN_FOLDER_LINE = re.compile(r"^[ \t]*(?:RESULTS_DIR|ARTIFACTS_DIR|ARTIFACTS_READ_ONLY)\b")
_NBGRADER_RUN_FOLDERS = [
    "RESULTS_DIR: str = None  # None: results.json goes to a temporary folder, not beside this",
    'ARTIFACTS_DIR: str = "artifacts"  # the course\'s trained teacher, released with this',
    "ARTIFACTS_READ_ONLY: bool = True  # the models trained here are saved to a temporary copy",
]


def _nbgrader_run_folders(nb) -> None:
    """Set the run folders in the parameters cell of ``nb``, nbgrader's version of a notebook."""
    for cell in nb.cells:
        if cell.cell_type == "code" and "parameters" in cell.metadata.get("tags", []):
            kept = [line for line in cell.source.splitlines() if not _RUN_FOLDER_LINE.match(line)]
            cell.source = "\n".join([*kept, *_NBGRADER_RUN_FOLDERS])
            return


def write_handout(
    out,
    *,
    only: str | None = None,
    artifacts: bool = True,
    cache_dir=None,
    nbgrader: bool = False,
    force: bool = False,
    notebooks_dir=runner.NOTEBOOKS_DIR,
) -> list[Path]:
    """Write the handout into ``out`` and return the paths written, in order.

    ``only`` selects notebooks like ``kdtutor run --only`` ("01,03"); ``artifacts`` copies
    the cached teacher(s) from ``cache_dir`` (default: the model cache ``kdtutor run`` and
    the notebooks use, ``artifacts/`` of the checkout); ``nbgrader`` writes the nbgrader
    source version instead of the students' one. Either way ``out`` also gets what a class
    installs: the ``kdtutor`` wheel in ``wheels/`` (built from the checkout, offline) and a
    ``requirements.txt`` that names it (:func:`student_requirements`). Everything is checked
    and built before the first file is written. Raises :class:`runner.UsageError` for a bad
    argument, a non-empty ``out`` (unless ``force``: then files of the same names are
    overwritten and nothing else is touched), a missing teacher or a wheel that cannot be
    built; ``ValueError`` for a notebook whose exercises cannot be matched with its solutions.
    """
    out = Path(out).expanduser().resolve()
    notebooks_dir = Path(notebooks_dir).expanduser().resolve()
    cache_dir = None if cache_dir is None else Path(cache_dir).expanduser()
    if cache_dir is not None and not artifacts:
        raise runner.UsageError(
            "--cache says where the teacher is copied from, and --no-artifacts leaves it out; "
            "give one of them."
        )
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
    repository_requirements = runner.REPO_ROOT / "requirements.txt"
    if not repository_requirements.is_file():
        raise runner.UsageError(
            f"kdtutor handout writes the class's requirements.txt from the repository's, but "
            f"{repository_requirements} does not exist; run it from a checkout of kdtutor."
        )

    built, counts = {}, {}
    for nb in selected:
        if nbgrader:
            built[nb.stem] = source_notebook(nb.path, notebooks_dir / "solutions" / nb.path.name)
            _nbgrader_run_folders(built[nb.stem])
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

    with tempfile.TemporaryDirectory(prefix="kdtutor-handout-") as scratch:
        wheel = build_wheel(scratch)
        requirements = student_requirements(
            repository_requirements.read_text(encoding="utf-8"), wheel.name, nbgrader=nbgrader
        )
        out.mkdir(parents=True, exist_ok=True)
        (out / WHEELS).mkdir(exist_ok=True)
        written.append(Path(shutil.copyfile(wheel, out / WHEELS / wheel.name)))
    write_text(out / "requirements.txt", requirements)
    if nbgrader:
        write_text(out / "nbgrader_config.py", _NBGRADER_CONFIG)
        write_text(out / "README.md", _nbgrader_readme(selected, counts, teachers, wheel.name))
        for stem, nb in built.items():
            write_text(out / "source" / stem / f"{stem}.ipynb", nbformat.writes(nb) + "\n")
            if teachers:
                copy_teachers(out / "source" / stem / "artifacts")
    else:
        write_text(out / "README.md", _student_readme(selected, counts, teachers, wheel.name))
        for stem, nb in built.items():
            write_text(out / f"{stem}.ipynb", nbformat.writes(nb) + "\n")
        if teachers:
            copy_teachers(out / "artifacts")
    return written
