"""`kdtutor handout`: what a class receives, and the nbgrader source version run through nbgrader.

The facts are taken from the repository's notebooks directly (file names, `exercises.check_`
calls counted with a regular expression, solution text read from `notebooks/solutions/`),
not from the handout modules; nothing is trained (the cached teacher is a tiny fake).
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import contextlib
import io
import json
import re
import shlex
import subprocess
import sys
import types
import zipfile
from pathlib import Path

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


def files_in(folder):
    """Every file below ``folder``, by its relative path, with its size and modification time."""
    return {
        path.relative_to(folder).as_posix(): (path.stat().st_size, path.stat().st_mtime_ns)
        for path in folder.rglob("*")
        if path.is_file()
    }


def check_calls(path):
    """The `exercises.check_...(` calls of a notebook's code cells, counted on the raw JSON."""
    cells = json.loads(path.read_text())["cells"]
    code = ["".join(cell["source"]) for cell in cells if cell["cell_type"] == "code"]
    return [line.strip() for text in code for line in text.splitlines() if CHECK_CALL.search(line)]


CHECK_PARTS = re.compile(r"exercises\.(check_\w+)\((.*)\);?$")


def answers_pattern(stem):
    """A cell that makes an answer: `answer_N = ...`, or defines the function or class that a
    check of the lesson takes first (what the learner writes)."""
    path = runner.NOTEBOOKS_DIR / f"{stem}.ipynb"
    names = [CHECK_PARTS.search(call).group(2).split(",")[0].strip() for call in check_calls(path)]
    alternatives = "|".join(rf"{n}\s*=|def {n}\(|class {n}\(" for n in names)
    return re.compile(rf"^(?:{alternatives})", re.MULTILINE)


def solution_only_lines(stem):
    """Lines of the reference solutions that the lesson notebook does not contain, check calls
    left out. A solution is a solutions-notebook code cell that makes an answer (see
    `answers_pattern`), with the markdown right before it; other code cells there only
    rebuild the lesson's context."""
    solutions = nbformat.read(runner.NOTEBOOKS_DIR / "solutions" / f"{stem}.ipynb", as_version=4)
    lesson = text_of(runner.NOTEBOOKS_DIR / f"{stem}.ipynb")
    cells, lines, answers = solutions.cells, set(), answers_pattern(stem)
    for index, cell in enumerate(cells):
        if cell.cell_type != "code" or not answers.search(cell.source):
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


QUICK_TEACHER = {
    "architecture": PROFILES["quick"]["teacher"],
    "epochs": PROFILES["quick"]["teacher_epochs"],
    "batch_size": PROFILES["quick"]["batch_size"],
    "learning_rate": PROFILES["quick"]["learning_rate"],
    "seed": 0,
}


def save_fake_teacher(cache_dir):
    """A tiny, never trained stand-in for notebook 01's teacher, saved where the notebooks'
    default (quick) profile looks for it in ``cache_dir``; returns (model, path)."""
    import keras

    from kdtutor.series import artifacts

    fake = keras.Sequential(
        [keras.Input((28, 28, 1)), keras.layers.Flatten(), keras.layers.Dense(10)]
    )
    dataset = PROFILES["quick"]["dataset"]
    cached = artifacts.teacher_cache_path(cache_dir, dataset=dataset, **QUICK_TEACHER)
    artifacts.save_teacher(fake, cached, {"note": "a tiny stand-in, never trained"})
    return fake, cached


@pytest.fixture(scope="module")
def fake_cache(tmp_path_factory):
    """A model cache holding only the fake teacher (a handout includes the teacher by default;
    the checkout's own cache may not exist, e.g. on CI before `kdtutor run`)."""
    cache = tmp_path_factory.mktemp("cache")
    save_fake_teacher(cache)
    return cache


@pytest.fixture(scope="module")
def plain(tmp_path_factory, fake_cache):
    directory = tmp_path_factory.mktemp("class") / "handout"
    code, out, err = handout(directory, "--cache", fake_cache)
    assert code == 0, err
    return directory


@pytest.fixture(scope="module")
def course(tmp_path_factory, fake_cache):
    """`kdtutor handout --nbgrader`, then nbgrader's own `generate_assignment` for every one."""
    directory = tmp_path_factory.mktemp("course") / "course"
    code, out, err = handout(directory, "--nbgrader", "--cache", fake_cache)
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


# --- what a class installs -------------------------------------------------------------------

# Only kdtutor's own developers need these (tests, lint, browser and workflow checks, the wheel
# build); nbgrader only an nbgrader course.
DEVELOPER_TOOLS = {"pytest", "pytest-xdist", "nbval", "ruff", "playwright", "check-jsonschema"}
DEVELOPER_TOOLS |= {"zizmor", "sphinx", "myst-nb", "myst-parser", "sphinx-book-theme"}
DEVELOPER_TOOLS |= {"setuptools"}
REQUIREMENT_NAME = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)")
README_INSTALL = "pip install -r requirements.txt"
README_OFFLINE = "pip install --no-index --find-links wheels/ -r requirements.txt"
README_WHEELHOUSE = "pip download -r requirements.txt -d wheels/"


def entries(text):
    """The lines of a requirements file that are neither blank nor comments."""
    return [line for line in text.splitlines() if line.strip() and not line.startswith("#")]


def named(text, leave_out):
    lines = [line for line in entries(text) if REQUIREMENT_NAME.match(line)]
    return [line for line in lines if REQUIREMENT_NAME.match(line).group(1) not in leave_out]


def the_wheel(folder):
    import kdtutor

    wheels = sorted((folder / "wheels").iterdir())
    assert [path.name for path in wheels] == [f"kdtutor-{kdtutor.__version__}-py3-none-any.whl"]
    return wheels[0]


def test_handout_holds_the_kdtutor_wheel_with_every_module(plain):
    wheel = the_wheel(plain)
    with zipfile.ZipFile(wheel) as archive:
        names = set(archive.namelist())
        info = wheel.name.split("-py3")[0] + ".dist-info"
        entry_points = archive.read(f"{info}/entry_points.txt").decode()
    package = runner.REPO_ROOT / "kdtutor"
    modules = {path.relative_to(runner.REPO_ROOT).as_posix() for path in package.rglob("*.py")}
    assert len(modules) > 20 and modules - names == set()  # kdtutor/exercises/ too
    assert "kdtutor = kdtutor.series.cli:main" in entry_points


def test_handout_requirements_are_the_repository_pins_and_the_wheel(plain, course):
    repository = (runner.REPO_ROOT / "requirements.txt").read_text()
    assert "-e ." in entries(repository)
    plain_only = DEVELOPER_TOOLS | {"nbgrader", "cloudpickle"}  # both only for grading
    for folder, leave_out in ((plain, plain_only), (course, DEVELOPER_TOOLS)):
        text = (folder / "requirements.txt").read_text()
        assert named(text, set()) == named(repository, leave_out), folder.name
        assert entries(text)[-1] == f"./wheels/{the_wheel(folder).name}"
        assert len(entries(text)) == len(named(text, set())) + 1  # no -e, no other line
    assert any(line.startswith("tensorflow~=") for line in entries(text))
    assert any(line.startswith("nbgrader~=") for line in entries(text))  # the course's


def test_handout_readme_gives_one_install_command_online_and_offline(plain, course):
    for folder in (plain, course):
        readme = (folder / "README.md").read_text()
        lines = readme.splitlines()
        for command in ("python3 -m venv .venv", README_INSTALL, README_WHEELHOUSE, README_OFFLINE):
            assert command in lines, (folder.name, command)
        assert "checkout" not in readme and f"./wheels/{the_wheel(folder).name}" in readme
    assert "jupyter lab ." in (plain / "README.md").read_text()


def test_the_teacher_is_included_unless_no_artifacts(tmp_path, plain, fake_cache):
    teacher = next(fake_cache.glob("teacher_*.keras"))
    assert (plain / "artifacts" / teacher.name).is_file()  # the default: no --artifacts given
    assert f"`{teacher.name}`" in (plain / "README.md").read_text()

    (tmp_path / "empty").mkdir()
    code, _, err = handout(tmp_path / "out", "--only", "02", "--cache", tmp_path / "empty")
    assert code == 2 and "kdtutor run --only 01" in err and "--no-artifacts" in err
    assert not (tmp_path / "out").exists()

    code, stdout, err = handout(tmp_path / "bare", "--only", "02", "--no-artifacts")
    assert code == 0, err
    assert not (tmp_path / "bare" / "artifacts").exists() and "--no-artifacts" in stdout
    assert "trains the teacher" in (tmp_path / "bare" / "README.md").read_text()


def test_a_wheel_that_cannot_be_built_says_how_to_fix_it(tmp_path, monkeypatch):
    from kdtutor.series import class_install as module

    with pytest.raises(runner.UsageError, match="from a checkout"):
        module.build_wheel(tmp_path / "wheel", repo_root=tmp_path)
    old = ["setuptools>=77 (installed: 65.5.0)"]
    monkeypatch.setattr(module, "_build_requirements_missing", lambda pyproject: old)
    code, _, err = handout(tmp_path / "out", "--only", "02", "--no-artifacts")
    assert code == 2 and "installed: 65.5.0" in err and "pip install 'setuptools>=77'" in err
    assert not (tmp_path / "out").exists()  # refused before anything was written


@pytest.mark.slow
def test_a_handout_installs_offline_with_its_readme_command(tmp_path, fake_cache):
    """A fresh virtual environment runs the README's offline command in the handout folder,
    and then imports kdtutor from the wheel it installed.

    The wheelhouse is this test's own environment, which the new one sees through a `.pth`
    line (what --system-site-packages does for a system Python): a wheelhouse of TensorFlow
    and the rest is a 600 MB download, which a test cannot make offline. So this proves that
    requirements.txt and the README's command work from the handout folder with --no-index
    (the wheel's path, every pin satisfiable, kdtutor's own dependencies met), and that the
    wheel holds a complete package with its `kdtutor` command; not that the pinned versions
    install from a filled `wheels/` (checked by hand: the final note of the issue).
    """
    import sysconfig

    out = tmp_path / "class"
    code, _, err = handout(out, "--only", "02", "--cache", fake_cache)
    assert code == 0, err
    command = shlex.split(README_OFFLINE)
    assert README_OFFLINE in (out / "README.md").read_text().splitlines()

    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    scripts = venv / ("Scripts" if os.name == "nt" else "bin")
    python = scripts / "python"
    purelib = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    site = subprocess.run([str(python), "-c", purelib], capture_output=True, text=True, check=True)
    site = site.stdout.strip()
    Path(site, "wheelhouse_of_the_test.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")

    # --isolated: no pip configuration of this machine (an index, find-links) takes part.
    result = subprocess.run(
        [str(python), "-m", *command, "--isolated"], cwd=out, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Successfully installed kdtutor-" in result.stdout, result.stdout

    probe = (
        "import importlib.metadata, kdtutor, kdtutor.exercises, kdtutor.series.setup\n"
        "print(kdtutor.__file__)\n"
        "print(importlib.metadata.distribution('kdtutor').read_text('direct_url.json'))\n"
    )
    result = subprocess.run(
        [str(python), "-c", probe], cwd=tmp_path, capture_output=True, text=True, check=True
    )
    where, direct_url = result.stdout.splitlines()[:2]
    assert Path(where).is_relative_to(venv), where  # the wheel's copy, not the checkout
    assert json.loads(direct_url)["url"] == the_wheel(out).as_uri()
    result = subprocess.run([str(scripts / "kdtutor"), "handout", "--help"], capture_output=True)
    assert result.returncode == 0


def test_only_selects_notebooks(tmp_path):
    code, out, _ = handout(tmp_path / "two", "--only", "03,1", "--no-artifacts")
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

    code, _, _ = handout(tmp_path, "--force", "--only", "02", "--no-artifacts")
    assert code == 0 and notes.read_text() == "mine"
    assert (tmp_path / f"{STEMS[1]}.ipynb").is_file()


@pytest.mark.parametrize(
    "args, message",
    [
        (["--cache", "somewhere", "--no-artifacts"], "give one of them"),
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
    import numpy as np

    from kdtutor.series import setup

    fake, cached = save_fake_teacher(tmp_path / "cache")
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


def test_a_read_only_run_writes_nothing_beside_the_notebook(tmp_path, monkeypatch):
    """nbgrader's version of a notebook (RESULTS_DIR None, ARTIFACTS_READ_ONLY): it loads the
    teacher from artifacts/, and what it saves (a student, as notebook 03 does; results.json)
    goes elsewhere."""
    import keras

    from kdtutor.series import setup

    _, cached = save_fake_teacher(tmp_path / "artifacts")
    monkeypatch.chdir(tmp_path)
    before = files_in(tmp_path)
    parameters = {"RESULTS_DIR": None, "ARTIFACTS_DIR": "artifacts", "ARTIFACTS_READ_ONLY": True}
    run = setup.start(STEMS[1], parameters, quiet=True)
    _, info = run.teacher(types.SimpleNamespace(name=run.settings["dataset"]))
    assert info["source"] == "cache"
    student = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    student.save(run.artifacts_dir / "student_kd_stand-in.keras")
    recorded = run.record({"dataset": run.settings["dataset"]})
    assert recorded.is_file() and not recorded.resolve().is_relative_to(tmp_path)
    assert not run.artifacts_dir.resolve().is_relative_to(tmp_path)
    assert files_in(tmp_path) == before


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
        inside = "\n".join(  # every region: a cell may hold several functions to write
            region.split("### END SOLUTION", 1)[0]
            for cell in answers
            for region in cell.source.split("### BEGIN SOLUTION")[1:]
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
            # The same check, graded in a fresh process (kdtutor.exercises.grading).
            name, arguments = CHECK_PARTS.search(call).groups()
            assert 'assert run_module("kdtutor.exercises.grading")["grade"](' in test.source
            assert f'("{name}", {arguments})' in test.source, (test.source, call)
        ids = [cell.metadata.nbgrader["grade_id"] for cell in nbgrader_cells(nb, "grade_id")]
        assert len(ids) == len(set(ids))
        unanswered = re.findall(r"^answer_\d+ = None.*$", text_of(source), re.MULTILINE)
        assert all(line in text for line in unanswered)


def nbgrader(*args, cwd):
    result = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True, text=True
    )
    return result.returncode, result.stdout + result.stderr


def parameters_of(path):
    nb = nbformat.read(path, as_version=4)
    cell = next(c for c in nb.cells if "parameters" in c.metadata.get("tags", []))
    namespace = {}
    exec(cell.source, namespace)
    return namespace


def test_nbgrader_notebooks_write_nothing_beside_themselves(course):
    for stem in STEMS:
        for folder in ("source", "release"):
            parameters = parameters_of(course / folder / stem / f"{stem}.ipynb")
            assert parameters["RESULTS_DIR"] is None, (folder, stem)
            assert parameters["ARTIFACTS_DIR"] == "artifacts"
            assert parameters["ARTIFACTS_READ_ONLY"] is True
        assert list((course / "release" / stem / "artifacts").glob("teacher_*.keras"))


def test_nbgrader_config_keeps_the_exchange_in_the_course_and_the_teacher_out_of_feedback(
    course,
):
    """What nbgrader reads from the course's nbgrader_config.py, and which files its copying
    (`find_all_files`, as generate_assignment, autograde and generate_feedback call it) takes
    from each folder: the teacher from source/ (released, and copied next to each submission
    for autograde), but not from autograded/ (into feedback/)."""
    from nbgrader.utils import find_all_files
    from traitlets.config.loader import PyFileConfigLoader

    config = PyFileConfigLoader("nbgrader_config.py", path=str(course)).load_config()
    assert Path(config.Exchange.root) == course / "exchange"
    assert config.CourseDirectory.course_id == "kdtutor"
    ignore = [*config.CourseDirectory.ignore, "*.ipynb"]  # what nbgrader adds when it copies

    stem = STEMS[1]
    graded = course / "autograded" / "some_student" / stem
    (graded / "artifacts").mkdir(parents=True)
    for path in (course / "source" / stem / "artifacts").iterdir():
        (graded / "artifacts" / path.name).write_bytes(path.read_bytes())
    (graded / "timestamp.txt").write_text("2026-01-01 00:00:00")

    def copied(folder):
        found = find_all_files(str(folder), ignore)
        return {Path(path).relative_to(folder).as_posix() for path in found}

    teacher = {f"artifacts/{path.name}" for path in (graded / "artifacts").iterdir()}
    assert teacher and teacher <= copied(course / "source" / stem)
    assert teacher <= copied(course / "release" / stem)
    assert copied(graded) == {"timestamp.txt"}


@pytest.mark.slow
def test_an_nbgrader_cycle_keeps_source_clean_and_feedback_small(tmp_path, fake_cache):
    """The whole nbgrader cycle for notebook 02, run by nbgrader: `validate` passes the
    source version (with the solutions) and leaves source/ as written (no results.json, no
    model), and fails the student's version on every check; the exchange is the course's,
    `autograde` runs the submission with the released teacher (the fake one: a retrained
    teacher would have the CNN's parameters) and `generate_feedback` leaves the teacher out."""
    stem = STEMS[1]
    course, student = tmp_path / "course", tmp_path / "student"
    code, _, err = handout(course, "--nbgrader", "--only", "02", "--cache", fake_cache)
    assert code == 0, err
    written = files_in(course)

    code, log = nbgrader("validate", f"source/{stem}/{stem}.ipynb", cwd=course)
    assert code == 0 and "Success! Your notebook passes all the tests." in log, log
    assert files_in(course) == written

    for command in ("generate_assignment", "release_assignment"):
        code, log = nbgrader(command, stem, cwd=course)
        assert code == 0, log
    # The student's version (answers left at None) fails every check's test cell.
    code, log = nbgrader("validate", f"release/{stem}/{stem}.ipynb", cwd=course)
    assert "VALIDATION FAILED" in log, log
    failed = re.findall(r"^The following cell failed:", log, re.MULTILINE)
    assert len(failed) == len(check_calls(runner.NOTEBOOKS_DIR / f"{stem}.ipynb")), log
    teacher = {f"artifacts/{path.name}" for path in fake_cache.iterdir()}
    assert set(files_in(course / "release" / stem)) == {f"{stem}.ipynb", *teacher}
    assert (course / "exchange" / "kdtutor" / "outbound" / stem / f"{stem}.ipynb").is_file()

    student.mkdir()
    (student / "nbgrader_config.py").write_text(
        "c = get_config()  # noqa: F821\n"
        f"c.Exchange.root = {str(course / 'exchange')!r}\n"
        f"c.Exchange.cache = {str(tmp_path / 'student_cache')!r}\n"
        'c.CourseDirectory.course_id = "kdtutor"\n'
    )
    for command in ("fetch_assignment", "submit"):
        code, log = nbgrader(command, stem, cwd=student)
        assert code == 0, log
    for command in ("collect", "autograde", "generate_feedback"):
        code, log = nbgrader(command, stem, cwd=course)
        assert code == 0, log

    [graded] = (course / "autograded").glob(f"*/{stem}")
    assert teacher <= set(files_in(graded))
    nb = nbformat.read(graded / f"{stem}.ipynb", as_version=4)
    [setup_cell] = [cell for cell in nb.cells if "run.teacher(" in cell.source]
    said = "".join(output.get("text", "") for output in setup_cell.outputs)
    assert "7,850 parameters, cache" in said, said  # the fake: 784 * 10 + 10

    [feedback] = (course / "feedback").glob(f"*/{stem}")
    assert f"{stem}.html" in files_in(feedback)
    assert not [name for name in files_in(feedback) if name.startswith("artifacts/")]


def test_the_course_config_imports_the_installed_kdtutor_not_a_folder_in_the_course(
    course, tmp_path
):
    """nbgrader puts the course folder first on sys.path; a `kdtutor/` folder that a student's
    kernel wrote there must not replace the package the config imports (a config that fails
    would leave nbgrader grading with the kernel's own verdicts)."""
    folder = tmp_path / "course"
    fake = folder / "kdtutor" / "series"
    fake.mkdir(parents=True)
    (folder / "kdtutor" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "autograde.py").write_text("raise ImportError('the fake package was imported')\n")
    (folder / "nbgrader_config.py").write_text((course / "nbgrader_config.py").read_text())
    script = (
        "import runpy, sys, os\n"
        "sys.path.insert(0, os.getcwd())  # as nbgrader's base app does\n"
        "from traitlets.config import Config\n"
        "c = Config()\n"
        "runpy.run_path('nbgrader_config.py', {'get_config': lambda: c})\n"
        "import kdtutor.series.autograde as autograde\n"
        "print(autograde.__file__)\n"
        "print(len(c.Autograde.autograde_preprocessors))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=folder, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]
    path, count = done.stdout.split()
    assert not path.startswith(str(folder)) and int(count) == 9
