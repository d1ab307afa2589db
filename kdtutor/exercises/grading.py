"""Grading an exercise in a fresh Python process, so that nothing a student's kernel changed counts.

In a notebook the checks run in the learner's own kernel: quick, and right for practice. A
grade must not trust that kernel: an answer cell may replace a check
(``exercises.check_x = lambda *a, **k: True``), a reference (``kdtutor.distill.softened_softmax
= ...``), NumPy (``np.allclose = ...``) or a builtin. The locked test cells of ``kdtutor handout
--nbgrader`` therefore load this module afresh (``runpy.run_module``, not the kernel's cached
module) and call :func:`grade`, which pickles the answer and the check's arguments
(``cloudpickle``: functions and classes the student wrote travel by value), runs the check in
a new Python process that imports ``kdtutor.exercises`` from disk, relays its verdict and
returns whether it passed. Any failure of the grading itself counts as not passed.

What a kernel can still do: replace the standard library's process launching or the import
system itself before the test cell runs. Locked cells are visible to students; an instructor
who grades an exam should also look at the answer cells (``nbgrader``'s feedback shows them).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

__all__ = ["grade"]

GRADE_TIMEOUT_SECONDS = 600  # a check may train for a minute or convert a model; never hang
PASSED, NOT_YET = 0, 3  # the grading process's exit codes; any other is a failure to grade


def grade(check: str, *args, **kwargs) -> bool:
    """Run ``kdtutor.exercises.<check>(*args, **kwargs)`` in a fresh process; True if it passes.

    The check's verdict line ("Correct!" or "Not yet. ...") is printed here. Returns False,
    saying why, when the arguments cannot be sent or the grading process fails.
    """
    import cloudpickle

    try:
        payload = cloudpickle.dumps((check, args, kwargs))
    except Exception as error:  # an answer that cannot travel cannot be graded
        print(f"Not graded: the answer could not be sent to the grader ({error}).")
        return False
    with tempfile.TemporaryDirectory(prefix="kdtutor-grade-") as folder:
        path = os.path.join(folder, "answer.pickle")
        with open(path, "wb") as file:
            file.write(payload)
        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", "PYTHONNOUSERSITE": "1"}
        try:
            done = subprocess.run(
                [sys.executable, "-m", "kdtutor.exercises.grading", path],
                capture_output=True,
                text=True,
                env=env,
                timeout=GRADE_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            print(f"Not graded: the check took longer than {GRADE_TIMEOUT_SECONDS} s.")
            return False
    if done.stdout:
        print(done.stdout, end="")
    if done.returncode not in (PASSED, NOT_YET):
        lines = done.stderr.strip().splitlines()
        print(f"Not graded: the grader failed ({lines[-1] if lines else done.returncode}).")
    return done.returncode == PASSED


def _main(path: str) -> int:
    """The grading process: load the answer, run the check, exit PASSED or NOT_YET."""
    import pickle

    import kdtutor.exercises

    with open(path, "rb") as file:
        check, args, kwargs = pickle.load(file)
    if check not in kdtutor.exercises.__all__:
        print(f"Not graded: {check!r} is not one of kdtutor.exercises' checks.")
        return NOT_YET
    return PASSED if getattr(kdtutor.exercises, check)(*args, **kwargs) is True else NOT_YET


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1]))
