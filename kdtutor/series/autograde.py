"""nbgrader preprocessors that grade the kdtutor exercises outside the student's kernel.

``kdtutor handout --nbgrader`` writes a course whose ``nbgrader_config.py`` puts
:class:`CollectAnswers` before nbgrader's ``Execute`` and :class:`GradeAnswers` after it, in
``Autograde.autograde_preprocessors``. The first gives the kernel an empty folder
(``KDTUTOR_ANSWERS_DIR``) where each locked test cell leaves its pickled answer
(:func:`kdtutor.exercises.grading.grade`); the second grades every answer again in a new
process started from nbgrader's own Python, and replaces each test cell's outputs with that
verdict (an error output when it did not pass), which is what nbgrader's ``SaveAutoGrades``
scores. So what a kernel changes in itself (a replaced ``subprocess``, ``sys.executable`` or
``runpy``, an input transformer that strips ``assert``) cannot turn a wrong answer into points:
at most it changes which answer is submitted. A test cell whose answer never arrived scores 0.
The limits (code of the student's that runs while grading, a kernel that writes to the
installed package or the gradebook) are in :mod:`kdtutor.exercises.grading`.
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import tempfile

import nbformat
from nbgrader.preprocessors import NbGraderPreprocessor

from kdtutor.exercises.grading import ANSWERS_DIR_VARIABLE, run_check

__all__ = ["CollectAnswers", "GradeAnswers", "GRADED_CELL"]

# The check a locked test cell grades, as kdtutor.series.notebook_transforms writes it.
GRADED_CELL = re.compile(r'\["grade"\]\(\s*"(check_\w+)"')


class CollectAnswers(NbGraderPreprocessor):
    """Before the notebook runs: a fresh, empty answers folder for its kernel."""

    def preprocess(self, nb, resources):
        folder = tempfile.mkdtemp(prefix="kdtutor-answers-")
        os.environ[ANSWERS_DIR_VARIABLE] = folder  # the kernel nbgrader starts next inherits it
        resources["kdtutor_answers"] = folder
        return nb, resources


class GradeAnswers(NbGraderPreprocessor):
    """After the notebook ran: grade each answer outside the kernel; set the test cells' outputs."""

    def preprocess(self, nb, resources):
        folder = resources.pop("kdtutor_answers", None) or os.environ.get(ANSWERS_DIR_VARIABLE)
        os.environ.pop(ANSWERS_DIR_VARIABLE, None)
        try:
            for cell in nb.cells:
                check = self._check_of(cell)
                if check is not None:
                    cell.outputs = self._graded_outputs(folder, check)
        finally:
            if folder:
                shutil.rmtree(folder, ignore_errors=True)
        return nb, resources

    @staticmethod
    def _check_of(cell) -> str | None:
        meta = cell.metadata.get("nbgrader", {})
        if cell.cell_type != "code" or not (meta.get("grade") and meta.get("locked")):
            return None
        found = GRADED_CELL.search(cell.source)
        return found.group(1) if found else None

    @staticmethod
    def _graded_outputs(folder, check: str) -> list:
        path = os.path.join(folder or "", f"{check}.pickle")
        if not folder or not os.path.isfile(path):
            passed, printed = False, "Not graded: no answer reached the grader from this cell.\n"
        else:
            with open(path, "rb") as file:
                payload = file.read()
            # The cell's check, not whatever name the payload carries.
            passed, printed = run_check(payload, python=sys.executable, check=check)
        outputs = [nbformat.v4.new_output("stream", name="stdout", text=printed)]
        if not passed:
            outputs.append(
                nbformat.v4.new_output(
                    "error",
                    ename="AssertionError",
                    evalue=f"{check}: not passed (graded outside the kernel)",
                    traceback=[],
                )
            )
        return outputs
