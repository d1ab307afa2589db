"""Grading an exercise in a fresh Python process, out of reach of the student's kernel.

In a notebook the checks run in the learner's own kernel: quick, and right for practice. A
grade must not trust that kernel: an answer cell may replace a check
(``exercises.check_x = lambda *a, **k: True``), a reference (``kdtutor.distill.softened_softmax
= ...``), NumPy (``np.allclose = ...``) or a builtin. The locked test cells of ``kdtutor handout
--nbgrader`` therefore load this module afresh (``runpy.run_module``) and call :func:`grade`,
which pickles the answer and the check's arguments (``cloudpickle``: functions and classes the
student wrote travel by value), runs the check in a new Python process that imports
``kdtutor.exercises`` from disk, relays its verdict and returns whether it passed. The
process must print a verdict line carrying a one-time token it read from its stdin: a process
that merely exits 0 (``sys.exit(0)`` in a student's function) has not passed.

That verdict is what a student sees while working, and what ``nbgrader validate`` reports.
Under ``nbgrader autograde`` it is not the last word, because the kernel that printed it could
have been tampered with (``subprocess``, ``sys.executable``, IPython's input transformers):
when ``KDTUTOR_ANSWERS_DIR`` is set, :func:`grade` also leaves the pickled answer there, and the
course's autograde step (:mod:`kdtutor.series.autograde`) grades it again outside the
kernel and writes the test cell's outputs itself.

The grading process runs isolated (``python -I``, in an empty temporary folder), so a
``kdtutor`` folder that a kernel wrote into the course is not imported, and it binds the checks
before it unpickles the answer. What remains possible: the student's code runs during
grading, both a *function* the check calls and an answer object whose unpickling runs code,
so code written to attack the grader (patching NumPy or the checks' helpers there) can still
pass; and the kernel runs as the grading user, so it can change the installed package or the
gradebook. nbgrader's documentation recommends grading untrusted submissions in a sandbox
(a container); its feedback shows every answer cell: read the answers when the grade matters.
"""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import tempfile

__all__ = ["grade", "run_check", "ANSWERS_DIR_VARIABLE"]

GRADE_TIMEOUT_SECONDS = 600  # a check may train for a minute or convert a model; never hang
ANSWERS_DIR_VARIABLE = "KDTUTOR_ANSWERS_DIR"  # set by the course's autograde step
_VERDICT = "kdtutor-verdict"  # the grading process's last line: "kdtutor-verdict TOKEN passed"


def grade(check: str, *args, **kwargs) -> bool:
    """Run ``kdtutor.exercises.<check>(*args, **kwargs)`` in a fresh process; True if it passes.

    The check's verdict line ("Correct!" or "Not yet. ...") is printed here. Returns False,
    saying why, when the arguments cannot be sent or the grading process fails. With
    ``KDTUTOR_ANSWERS_DIR`` set, the pickled answer is also left there as ``<check>.pickle``.
    """
    import cloudpickle

    try:
        payload = cloudpickle.dumps((check, args, kwargs))
    except Exception as error:  # an answer that cannot travel cannot be graded
        print(f"Not graded: the answer could not be sent to the grader ({error}).")
        return False
    answers = os.environ.get(ANSWERS_DIR_VARIABLE)
    if answers and os.path.isdir(answers):
        with open(os.path.join(answers, f"{os.path.basename(check)}.pickle"), "wb") as file:
            file.write(payload)
    passed, printed = run_check(payload)
    print(printed, end="")
    return passed


def run_check(
    payload: bytes, *, python: str | None = None, check: str | None = None
) -> tuple[bool, str]:
    """Grade a pickled ``(check, args, kwargs)`` in a new process: ``(passed, what it printed)``.

    ``python`` is the interpreter to run (default: this one); ``check``, when given, is the
    check to run instead of the one the payload names. Passed only when the process's
    last line is the verdict with the token sent to it, which a student's code that ends the
    process early cannot print.
    """
    token = secrets.token_hex(16)
    with tempfile.TemporaryDirectory(prefix="kdtutor-grade-") as folder:
        path = os.path.join(folder, "answer.pickle")
        with open(path, "wb") as file:
            file.write(payload)
        env = {key: value for key, value in os.environ.items() if key != "PYTHONPATH"}
        env.update(TF_CPP_MIN_LOG_LEVEL="3", PYTHONNOUSERSITE="1")
        try:
            # -I (isolated): neither the working folder nor PYTHONPATH nor the user's site
            # folder is on the import path, so a `kdtutor/` folder a kernel wrote beside the
            # notebook is not what gets imported; and the process runs in this empty folder.
            done = subprocess.run(
                [
                    python or sys.executable,
                    "-I",
                    "-m",
                    "kdtutor.exercises.grading",
                    path,
                    check or "",
                ],
                input=token,
                capture_output=True,
                text=True,
                env=env,
                cwd=folder,
                timeout=GRADE_TIMEOUT_SECONDS,
            )
        except subprocess.TimeoutExpired:
            return False, f"Not graded: the check took longer than {GRADE_TIMEOUT_SECONDS} s.\n"
    lines = done.stdout.splitlines()
    verdict = lines.pop() if lines and lines[-1].startswith(_VERDICT) else ""
    printed = "".join(f"{line}\n" for line in lines)
    if not verdict.startswith(f"{_VERDICT} {token} "):
        from kdtutor._quiet import is_known_chatter  # TensorFlow's start-up lines say nothing

        tail = [line for line in done.stderr.strip().splitlines() if not is_known_chatter(line)]
        why = tail[-1] if tail else f"exit code {done.returncode}, no verdict"
        return False, printed + f"Not graded: the grading process failed ({why}).\n"
    return verdict == f"{_VERDICT} {token} passed", printed


def _main(path: str, check_override: str = "") -> None:
    """The grading process: read the token, load the answer, run the check, print the verdict."""
    import pickle

    token = sys.stdin.read().strip()
    import kdtutor.exercises

    checks = {name: getattr(kdtutor.exercises, name) for name in kdtutor.exercises.__all__}
    verdict = _VERDICT  # bound before the answer is unpickled (its code may run then)
    with open(path, "rb") as file:
        check, args, kwargs = pickle.load(file)
    check = check_override or check
    if check not in checks:
        print(f"Not graded: {check!r} is not one of kdtutor.exercises' checks.")
        passed = False
    else:
        passed = checks[check](*args, **kwargs) is True
    print(f"{verdict} {token} {'passed' if passed else 'not yet'}", flush=True)


if __name__ == "__main__":
    _main(*sys.argv[1:3])
