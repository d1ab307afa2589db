"""The texts a handout writes beside its notebooks: the READMEs and nbgrader_config.py.

:func:`student_readme` is a plain handout's ``README.md``; :func:`nbgrader_readme` (the
instructor's ``README.md``) and :data:`NBGRADER_CONFIG` are an nbgrader course's. Both
READMEs give the same install commands, for the wheel and ``requirements.txt`` of
:mod:`kdtutor.series.wheel`.
"""

from __future__ import annotations

from kdtutor.series import runner
from kdtutor.series.class_install import WHEELS
from kdtutor.series.notebook_transforms import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    POINTS_PER_EXERCISE,
)

__all__ = ["COURSE_ID", "NBGRADER_CONFIG", "student_readme", "nbgrader_readme"]

COURSE_ID = "kdtutor"


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


def student_readme(notebooks, exercise_counts, teachers, wheel_name) -> str:
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


def nbgrader_readme(notebooks, exercise_counts, teachers, wheel_name) -> str:
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


NBGRADER_CONFIG = f'''\
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
