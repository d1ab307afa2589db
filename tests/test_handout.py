"""`kdtutor handout`: what a class receives, and the nbgrader source version run through nbgrader.

The facts are taken from the repository's notebooks directly (file names, `exercises.check_`
calls counted with a regular expression, solution text read from `notebooks/solutions/`),
not from the handout module; nothing is trained (the cached teacher is a tiny fake).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import contextlib
import io
import json
import re
import subprocess
import sys
import types

import nbformat
import pytest

from kdtutor.series import cli, runner
from kdtutor.series.profiles import PROFILES

SOURCES = sorted(runner.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
STEMS = [path.stem for path in SOURCES]
CHECK_CALL = re.compile(r"\bexercises\.check_\w+\(")
BOLD_LABEL = re.compile(r"^\*\*[^*]+\*\*\s*")  # "**1.** " or "**Exercise 1.** "


def handout(*args):
    """Run `kdtutor handout ARGS`; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["handout", *map(str, args)])
    return code, out.getvalue(), err.getvalue()


def sources(nb):
    return [cell.source for cell in nb.cells]


def text_of(path):
    return "\n".join(sources(nbformat.read(path, as_version=4)))


def check_calls(path):
    """The `exercises.check_...(` calls of a notebook's code cells, counted on the raw JSON."""
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    return [line.strip() for text in code for line in text.splitlines() if CHECK_CALL.search(line)]


ASSIGNS_ANSWER = re.compile(r"^answer_\d+\s*=", re.MULTILINE)


def solution_only_lines(stem):
    """Lines of the reference solutions that the lesson notebook does not contain, check calls
    left out. A solution is a solutions-notebook code cell that assigns an `answer_N`, with the
    markdown right before it; other code cells there only rebuild the lesson's context."""
    solutions = nbformat.read(runner.NOTEBOOKS_DIR / "solutions" / f"{stem}.ipynb", as_version=4)
    lesson = text_of(runner.NOTEBOOKS_DIR / f"{stem}.ipynb")
    cells, lines = solutions.cells, set()
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or not ASSIGNS_ANSWER.search(cell.source):
            continue
        explanation = index
        while explanation > 0 and cells[explanation - 1].cell_type == "markdown":
            explanation -= 1
        for part in cells[explanation : index + 1]:
            for line in part.source.splitlines():
                line = BOLD_LABEL.sub("", line.strip())
                if line and line not in lesson and not CHECK_CALL.search(line):
                    lines.add(line)
    return lines


@pytest.fixture(scope="module")
def plain(tmp_path_factory):
    directory = tmp_path_factory.mktemp("class") / "handout"
    code, out, err = handout(directory)
    assert code == 0, err
    return directory


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    """`kdtutor handout --nbgrader`, then nbgrader's own `generate_assignment` for every one."""
    directory = tmp_path_factory.mktemp("course") / "course"
    code, out, err = handout(directory, "--nbgrader")
    assert code == 0, err
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", "generate_assignment", "*", "--force"],
        cwd=directory,
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return directory


def test_the_facts_the_tests_rely_on():
    assert len(SOURCES) >= 5
    for path in SOURCES:
        assert len(check_calls(path)) >= 2, path.name
        assert len(solution_only_lines(path.stem)) >= 3 * len(check_calls(path)), path.name
    assert "answer_1 = flatten_size * 128 + 128" in solution_only_lines("01_teacher_training")


# --- the students' handout -------------------------------------------------------------------


def test_handout_is_every_notebook_blank_on_python3(plain):
    assert sorted(path.name for path in plain.glob("*.ipynb")) == [p.name for p in SOURCES]
    for path in sorted(plain.glob("*.ipynb")):
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        assert nb.metadata.kernelspec.name == "python3"
        assert "papermill" not in nb.metadata
        code = [cell for cell in nb.cells if cell.cell_type == "code"]
        assert all(cell.outputs == [] and cell.execution_count is None for cell in code)
        assert "NBVAL_" not in text_of(path), path.name
        assert "solutions/" not in text_of(path), path.name  # no link to what is not there
    assert "# NBVAL_CHECK_OUTPUT" in text_of(SOURCES[0])  # the source does have them


def test_handout_holds_no_solution(plain):
    assert not list(plain.rglob("solutions"))
    for stem in STEMS:
        text = text_of(plain / f"{stem}.ipynb")
        leaked = [line for line in solution_only_lines(stem) if line in text]
        assert leaked == [], stem


def test_handout_keeps_every_exercise_and_check(plain):
    for source in SOURCES:
        copy = plain / source.name
        assert check_calls(copy) == check_calls(source), source.name
        unanswered = re.findall(r"^answer_\d+ = None.*$", text_of(source), re.MULTILINE)
        assert unanswered and all(line in text_of(copy) for line in unanswered)


def test_handout_readme_says_how_to_start(plain):
    readme = (plain / "README.md").read_text()
    assert "jupyter lab ." in readme and "exercises.check_" in readme
    assert all(f"{stem}.ipynb" in readme for stem in STEMS)


def test_only_selects_notebooks(tmp_path):
    code, out, _ = handout(tmp_path / "two", "--only", "03,1")
    assert code == 0
    assert sorted(p.name for p in (tmp_path / "two").glob("*.ipynb")) == [
        SOURCES[0].name,
        SOURCES[2].name,
    ]
    code, _, err = handout(tmp_path / "none", "--only", "09")
    assert code == 2 and "no notebook '09'" in err and "01 (01_teacher_training)" in err
    assert not (tmp_path / "none").exists()


def test_refuses_a_non_empty_folder_unless_forced(tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("mine")
    code, _, err = handout(tmp_path)
    assert code == 2
    assert err.startswith("kdtutor handout: error:") and "not empty" in err and "--force" in err
    assert [path.name for path in tmp_path.iterdir()] == ["notes.txt"]

    code, _, _ = handout(tmp_path, "--force", "--only", "02")
    assert code == 0 and notes.read_text() == "mine"
    assert (tmp_path / f"{STEMS[1]}.ipynb").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cache", "somewhere"], "add --artifacts"),
        (["--force"], "the series' own notebooks folder"),  # DIR: the repository
    ],
)
def test_refuses_bad_arguments(args, message):
    before = {path: path.stat().st_mtime_ns for path in SOURCES}
    code, _, err = handout(runner.REPO_ROOT, *args)
    assert code == 2 and message in err
    assert before == {path: path.stat().st_mtime_ns for path in SOURCES}


# --- the cached teacher ----------------------------------------------------------------------


def test_artifacts_without_a_cached_teacher_says_how_to_make_one(tmp_path):
    (tmp_path / "cache").mkdir()
    code, _, err = handout(tmp_path / "out", "--artifacts", "--cache", tmp_path / "cache")
    assert code == 2 and "kdtutor run --only 01" in err and "teacher_mnist-5k_cnn" in err
    assert not (tmp_path / "out").exists()  # refused before anything was written


def test_artifacts_copies_a_teacher_that_every_notebook_loads(tmp_path, monkeypatch):
    import keras
    import numpy as np

    from kdtutor.series import artifacts, setup

    quick = PROFILES["quick"]
    recipe = {
        "architecture": quick["teacher"],
        "epochs": quick["teacher_epochs"],
        "batch_size": quick["batch_size"],
        "learning_rate": quick["learning_rate"],
        "seed": 0,
    }
    fake = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    cached = artifacts.teacher_cache_path(tmp_path / "cache", dataset=quick["dataset"], **recipe)
    artifacts.save_teacher(fake, cached, {"note": "a tiny stand-in, never trained"})

    out = tmp_path / "class"
    code, stdout, err = handout(out, "--artifacts", "--cache", tmp_path / "cache")
    assert code == 0, err
    assert (out / "artifacts" / cached.name).is_file()
    assert (out / "artifacts" / cached.with_suffix(".json").name).is_file()

    # Each notebook as a student opens it (Jupyter starts the kernel in the notebook's folder):
    # its parameters cell and its setup call must find the copy, not train (a stand-in dataset
    # with only a name would make training fail).
    monkeypatch.chdir(out)
    images = np.random.default_rng(0).random((4, 28, 28, 1), dtype=np.float32)
    for stem in STEMS:
        nb = nbformat.read(out / f"{stem}.ipynb", as_version=4)
        parameters = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
        assert any(f'setup.start("{stem}", globals())' in c.source for c in nb.cells)
        namespace = {}
        exec(parameters.source, namespace)
        run = setup.start(stem, namespace, quiet=True)
        teacher, info = run.teacher(types.SimpleNamespace(name=run.settings["dataset"]))
        assert info["source"] == "cache", stem
        np.testing.assert_allclose(teacher.predict(images, verbose=0), fake.predict(images))


# --- the nbgrader source version -------------------------------------------------------------


def nbgrader_cells(nb, kind):
    return [cell for cell in nb.cells if cell.metadata.get("nbgrader", {}).get(kind)]


def test_nbgrader_source_holds_the_solutions_between_markers(course):
    from nbgrader.nbgraderformat import MetadataValidator

    assert (course / "nbgrader_config.py").is_file() and (course / "README.md").is_file()
    for source in SOURCES:
        nb = nbformat.read(course / "source" / source.stem / source.name, as_version=4)
        nbformat.validate(nb)
        MetadataValidator().validate_nb(nb)
        answers = nbgrader_cells(nb, "solution")
        assert len(answers) == len(check_calls(source)), source.name
        inside = "\n".join(
            cell.source.split("### BEGIN SOLUTION", 1)[1].split("### END SOLUTION", 1)[0]
            for cell in answers
        )
        missing = [line for line in solution_only_lines(source.stem) if line not in inside]
        assert missing == [], source.name


def test_nbgrader_release_has_locked_checks_and_no_solution(course):
    for source in SOURCES:
        release = course / "release" / source.stem / source.name
        nb = nbformat.read(release, as_version=4)
        nbformat.validate(nb)
        text = text_of(release)
        assert "BEGIN SOLUTION" not in text
        assert [line for line in solution_only_lines(source.stem) if line in text] == []
        assert all(cell.outputs == [] for cell in nb.cells if cell.cell_type == "code")

        tests = nbgrader_cells(nb, "grade")
        expected = check_calls(source)
        assert len(tests) == len(expected), source.name
        for test, call in zip(tests, expected, strict=True):
            assert test.metadata.nbgrader["locked"] and test.metadata.nbgrader["points"] > 0
            assert test.source.startswith("assert ") and call.rstrip(";") in test.source
        ids = [cell.metadata.nbgrader["grade_id"] for cell in nbgrader_cells(nb, "grade_id")]
        assert len(ids) == len(set(ids))
        unanswered = re.findall(r"^answer_\d+ = None.*$", text_of(source), re.MULTILINE)
        assert all(line in text for line in unanswered)


def nbgrader(*args, cwd):
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True, text=True
    )
    return result.returncode, result.stdout + result.stderr


def test_nbgrader_grades_the_solutions_right_and_the_blank_release_wrong(tmp_path):
    """nbgrader's `validate` executes a notebook and runs its test cells: the source version
    (with the solutions) must pass every test and the student version (answers left at
    None) must fail them. Notebook 02 is the quickest (its teacher is trained into the
    assignment's own `artifacts/` when no cache is copied)."""
    stem = "02_soft_targets_and_temperature"
    code, _, err = handout(tmp_path, "--nbgrader", "--only", "02")
    assert code == 0, err
    source = tmp_path / "source" / stem / f"{stem}.ipynb"
    code, log = nbgrader("validate", str(source), cwd=tmp_path)
    assert code == 0 and "Success! Your notebook passes all the tests." in log, log

    code, log = nbgrader("generate_assignment", stem, "--force", cwd=tmp_path)
    assert code == 0, log
    code, log = nbgrader("validate", str(tmp_path / "release" / stem / source.name), cwd=tmp_path)
    assert "VALIDATION FAILED" in log, log
    failed = re.findall(r"^The following cell failed:", log, re.MULTILINE)
    assert len(failed) == len(check_calls(runner.NOTEBOOKS_DIR / source.name)), log
