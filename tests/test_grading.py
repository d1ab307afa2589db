"""Grading that a student's kernel cannot fool, and an nbgrader round trip with four students.

``kdtutor.exercises.grading.grade`` runs a check in a fresh process; the nbgrader course that
``kdtutor handout --nbgrader`` writes calls it from its locked test cells. The round trip
runs nbgrader itself (generate_assignment, four submissions, autograde) on notebook 02 with a
teacher shipped in the course, and reads the scores from nbgrader's gradebook.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import contextlib
import io
import re
import runpy
import shutil
import subprocess
import sys

import cloudpickle
import nbformat
import numpy as np
import pytest

import kdtutor.distill
from kdtutor import exercises
from kdtutor.series import cli
from kdtutor.series.profiles import PROFILES

STEM = "02_soft_targets_and_temperature"
LOGITS = np.random.default_rng(0).normal(0, 3, size=(6, 10))
PEAKED = np.array([5.0, 3.0, 0.0, -1.0, -2.0])  # class 1's probability peaks near T = 3

# The functions below travel to the grading process by value, as a notebook's do (a test
# module is not importable there).
cloudpickle.register_pickle_by_value(sys.modules[__name__])


def grade(*args, **kwargs):
    return runpy.run_module("kdtutor.exercises.grading")["grade"](*args, **kwargs)


def wrong_softmax(logits, temperature):  # forgets the temperature
    z = np.asarray(logits, dtype=np.float64)
    e = np.exp(z - z.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def test_a_replaced_check_fools_the_kernel_but_not_the_grade(monkeypatch, capsys):
    monkeypatch.setattr(exercises, "check_argmax_under_temperature", lambda *a, **k: True)
    assert exercises.check_argmax_under_temperature(True, LOGITS)  # fooled in this process
    assert grade("check_argmax_under_temperature", True, LOGITS) is False
    assert "Not yet." in capsys.readouterr().out
    assert grade("check_argmax_under_temperature", False, LOGITS) is True


def test_a_replaced_reference_fools_the_kernel_but_not_the_grade(monkeypatch, capsys):
    monkeypatch.setattr(kdtutor.distill, "softened_softmax", wrong_softmax)
    assert exercises.check_softened_softmax(wrong_softmax)  # fooled in this process
    capsys.readouterr()
    assert grade("check_softened_softmax", wrong_softmax) is False
    assert "Case 2 of" in capsys.readouterr().out  # the grader's verdict, relayed


def test_a_replaced_numpy_or_builtin_fools_the_kernel_but_not_the_grade(monkeypatch, capsys):
    import math

    monkeypatch.setattr(math, "isclose", lambda *a, **k: True)
    assert exercises.check_peak_temperature(100.0, PEAKED, 1)  # fooled in this process
    assert grade("check_peak_temperature", 100.0, PEAKED, 1) is False
    monkeypatch.setattr(np, "allclose", lambda *a, **k: True)
    assert exercises.check_softened_softmax(wrong_softmax)  # fooled again
    assert grade("check_softened_softmax", wrong_softmax) is False
    capsys.readouterr()


def test_a_grader_that_fails_says_so_and_counts_as_not_passed(monkeypatch, capsys):
    monkeypatch.setenv("PYTHONPATH", "/nonexistent")
    monkeypatch.setattr(sys, "executable", "/bin/false")
    assert grade("check_peak_temperature", 3.0, PEAKED, 1) is False
    assert "the grading process failed" in capsys.readouterr().out


class ReplacesTheChecksWhenUnpickled:
    def __reduce__(self):
        code = (
            "import kdtutor.exercises as e\nfor n in e.__all__: setattr(e, n, lambda *a, **k: True)"
        )
        return exec, (code,)


def test_an_answer_whose_unpickling_replaces_the_checks_has_not_passed(capsys):
    assert (
        grade("check_argmax_under_temperature", ReplacesTheChecksWhenUnpickled(), LOGITS) is False
    )
    capsys.readouterr()


def test_a_kdtutor_folder_in_the_working_folder_is_not_what_grades(tmp_path, monkeypatch, capsys):
    fake = tmp_path / "kdtutor" / "exercises"
    fake.mkdir(parents=True)
    (tmp_path / "kdtutor" / "__init__.py").write_text("")
    (fake / "__init__.py").write_text("")
    (fake / "grading.py").write_text(
        "import sys\nprint(f'kdtutor-verdict {sys.stdin.read().strip()} passed')\n"
    )
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PYTHONPATH", str(tmp_path))
    assert grade("check_argmax_under_temperature", True, LOGITS) is False
    assert "Not yet." in capsys.readouterr().out  # the real check's verdict


class ReadsTheExpectedValue(float):
    """A number whose conversion returns what the check compares it with."""

    def __float__(self):
        caller = sys._getframe(1)
        return caller.f_locals.get("expected", float.__float__(self))


class PosesAsNumPy(np.float64):
    __module__ = "numpy"

    def __float__(self):
        caller = sys._getframe(1)
        return float(caller.f_locals.get("expected", 1.0))


def test_a_number_of_the_students_own_type_is_refused(capsys):
    for sneaky in (ReadsTheExpectedValue(123.0), PosesAsNumPy(123.0)):
        assert exercises.check_peak_temperature(sneaky, PEAKED, 1) is False
        assert "Answer with one positive number" in capsys.readouterr().out
    assert exercises.check_peak_temperature(np.float32(123.0), PEAKED, 1) is False
    assert "Not yet. Compute" in capsys.readouterr().out  # NumPy's own: read as a number


def test_a_function_that_ends_the_grading_process_has_not_passed(capsys):
    def ends_it(logits, temperature):
        os._exit(0)

    assert grade("check_softened_softmax", ends_it) is False
    assert "no verdict" in capsys.readouterr().out


def test_the_answer_is_left_for_autograde_when_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("KDTUTOR_ANSWERS_DIR", str(tmp_path))
    assert grade("check_peak_temperature", 1000.0, PEAKED, 1) is False
    capsys.readouterr()
    payload = (tmp_path / "check_peak_temperature.pickle").read_bytes()
    run_check = runpy.run_module("kdtutor.exercises.grading")["run_check"]
    passed, printed = run_check(payload, check="check_argmax_under_temperature")
    assert not passed and "Not yet" in printed  # the cell's check, not the payload's


def test_what_cannot_be_graded_counts_as_not_passed(capsys):
    assert grade("check_that_does_not_exist", 1) is False
    assert "not one of" in capsys.readouterr().out
    unpicklable = (line for line in [])  # a generator cannot be pickled
    assert grade("check_peak_temperature", unpicklable, PEAKED, 1) is False
    assert "could not be sent" in capsys.readouterr().out


# --- the nbgrader round trip ---------------------------------------------------------------------


def _nbgrader(*args, cwd):
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args], cwd=cwd, capture_output=True, text=True
    )
    return done.returncode, done.stdout + done.stderr


def _cached_teacher(folder):
    """A teacher trained for one epoch, saved under the quick profile's cache name: notebook
    02 loads it as it would load notebook 01's (a few seconds instead of a minute)."""
    from kdtutor.data import load_dataset
    from kdtutor.series import artifacts
    from kdtutor.training import train_teacher

    quick = PROFILES["quick"]
    recipe = {
        "architecture": quick["teacher"],
        "epochs": quick["teacher_epochs"],
        "batch_size": quick["batch_size"],
        "learning_rate": quick["learning_rate"],
        "seed": 0,
    }
    data = load_dataset(quick["dataset"])
    teacher, _ = train_teacher(data, **{**recipe, "epochs": 1})
    path = artifacts.teacher_cache_path(folder, dataset=quick["dataset"], **recipe)
    artifacts.save_teacher(teacher, path, {"note": "one epoch only: a test's stand-in"})


def _answer_cells(nb):
    return {
        cell.metadata.nbgrader["grade_id"]: cell
        for cell in nb.cells
        if cell.metadata.get("nbgrader", {}).get("solution")
    }


def _strip_markers(source):
    return "\n".join(line for line in source.splitlines() if "### " not in line)


def _printed(nb, grade_id):
    cell = _answer_cells(nb)[grade_id]
    return "".join(output.get("text", "") for output in cell.outputs)


@pytest.mark.slow
def test_nbgrader_grades_four_students_and_cannot_be_fooled(tmp_path):
    """Honest: full marks. Empty: zero. Numbers typed in from another run: full marks.
    Monkeypatching (a check, a reference, NumPy, a builtin replaced in an answer cell, each
    with a wrong answer): zero on every exercise it tried to fool."""
    _cached_teacher(tmp_path / "cache")
    course = tmp_path / "course"
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        code = cli.main(
            [
                "handout",
                str(course),
                "--nbgrader",
                "--only",
                "02",
                "--artifacts",
                "--cache",
                str(tmp_path / "cache"),
            ]  # fmt: skip
        )
    assert code == 0
    code, log = _nbgrader("generate_assignment", STEM, "--force", cwd=course)
    assert code == 0, log
    source = nbformat.read(course / "source" / STEM / f"{STEM}.ipynb", as_version=4)
    release = course / "release" / STEM
    solutions = {key: _strip_markers(cell.source) for key, cell in _answer_cells(source).items()}
    ids = sorted(solutions)  # ex1_answer_1, ex2_softened_softmax, ex3_kd_loss, ex4_answer_4
    assert len(ids) == 4

    # "Another machine's run": the source version executed on its own, its answers read back.
    elsewhere = tmp_path / "elsewhere"
    shutil.copytree(release, elsewhere)
    nbformat.write(source, elsewhere / f"{STEM}.ipynb")
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "jupyter",
            "nbconvert",
            "--to",
            "notebook",
            "--execute",
            "--inplace",
            f"{STEM}.ipynb",
        ],  # fmt: skip
        cwd=elsewhere,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    ran = nbformat.read(elsewhere / f"{STEM}.ipynb", as_version=4)
    changes = re.search(r"changes at some T: (True|False)", _printed(ran, ids[0])).group(1)
    peak = float(re.search(r"T = ([0-9.]+)", _printed(ran, ids[3])).group(1))

    typed = {
        ids[0]: f"answer_1 = {changes}",
        ids[1]: solutions[ids[1]],
        ids[2]: solutions[ids[2]],
        ids[3]: f"answer_4 = {peak}",
    }
    fooling = {  # each passes in the kernel; autograde grades again outside it
        ids[0]: "answer_1 = True\n"
        "exercises.check_argmax_under_temperature = lambda *args, **kwargs: True\n"
        "import subprocess\n"  # a forged grading process: echoes the token with 'passed'
        "subprocess.run = lambda *a, input='', **k: subprocess.CompletedProcess(\n"
        "    a, 0, f'kdtutor-verdict {input} passed\\n', '')",
        ids[1]: "def softened_softmax(logits, temperature):\n"
        "    import os\n"
        "    os._exit(0)  # ends the grading process 'successfully'\n\n\n"
        "import kdtutor.distill\n"
        "kdtutor.distill.softened_softmax = softened_softmax",
        ids[2]: "def kd_loss(teacher_logits, student_logits, temperature):\n"
        "    return 0.0\n\n\n"
        "np.allclose = lambda *args, **kwargs: True\n"
        "get_ipython().input_transformers_post.append(\n"  # the test cells lose their assert
        "    lambda lines: [line.replace('assert ', '') for line in lines])",
        ids[3]: "answer_4 = 1000.0\nimport builtins, math\n"
        "math.isclose = lambda *args, **kwargs: True\n"
        "builtins.bool = lambda *args, **kwargs: True",
    }
    students = {"honest": solutions, "empty": {}, "typed": typed, "fooling": fooling}
    for student, answers in students.items():
        folder = course / "submitted" / student / STEM
        shutil.copytree(release, folder)
        nb = nbformat.read(folder / f"{STEM}.ipynb", as_version=4)
        for grade_id, cell in _answer_cells(nb).items():
            if grade_id in answers:
                cell.source = answers[grade_id]
        nbformat.write(nb, folder / f"{STEM}.ipynb")

    # The replaced builtin leaves the fooling student's kernel alive but deaf: autograde
    # waits for it until Execute.timeout. The course's 600 s are for 03's and 05's training
    # cells; 02's longest cell takes about 3 s, so 30 s stop the deaf kernel sooner.
    code, log = _nbgrader("autograde", STEM, "--force", "--Execute.timeout=30", cwd=course)
    assert code == 0, log[-3000:]

    from nbgrader.api import Gradebook

    scores = {}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as gradebook:
        for student in students:
            submission = gradebook.find_submission_notebook(STEM, STEM, student)
            scores[student] = {grade.name: grade.score for grade in submission.grades}
    checks = sorted(scores["honest"])
    assert len(checks) == 4, scores
    assert [scores["honest"][c] for c in checks] == [1, 1, 1, 1], scores
    assert [scores["empty"][c] for c in checks] == [0, 0, 0, 0], scores
    assert [scores["typed"][c] for c in checks] == [1, 1, 1, 1], scores
    assert [scores["fooling"][c] for c in checks] == [0, 0, 0, 0], scores
    # The verdicts came from autograde's own grading, outside the tampered kernel.
    graded = nbformat.read(course / "autograded" / "fooling" / STEM / f"{STEM}.ipynb", 4)
    errors = [o.evalue for cell in graded.cells for o in cell.get("outputs", []) if "evalue" in o]
    assert sum("graded outside the kernel" in error for error in errors) == 4, errors
