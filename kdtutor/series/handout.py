"""``kdtutor handout DIR``: writes the notebooks as a class receives them, or an nbgrader course.

The plain handout is flat: ``DIR/NN_name.ipynb``, each a student's notebook
(:func:`~kdtutor.series.notebook_transforms.student_notebook`: outputs cleared, the
exercises and their checks kept), plus a ``README.md`` for students, the cached teacher(s)
in ``DIR/artifacts/`` (unless ``artifacts=False``) and what a student installs
(:mod:`kdtutor.series.wheel`): the ``kdtutor`` wheel in ``DIR/wheels/`` and
``DIR/requirements.txt`` naming it. The notebooks lie beside ``artifacts/``, so a notebook
opened from ``DIR`` finds the teacher. With ``nbgrader`` the same notebooks become an
nbgrader course: ``DIR/nbgrader_config.py`` (exchange in ``DIR/exchange``, the teacher kept
out of feedback), ``DIR/README.md`` for the instructor (both texts from
:mod:`kdtutor.series.handout_texts`), the wheel and requirements, and one assignment per
notebook, ``DIR/source/NN_name/NN_name.ipynb``, nbgrader's source version
(:func:`~kdtutor.series.notebook_transforms.source_notebook`: each exercise an answer cell
with the reference solution and a locked, graded test cell), with the teacher in
``artifacts/`` beside it and run folders that keep a graded run from writing into the
assignment.
"""

from __future__ import annotations

import glob
import shutil
import tempfile
from pathlib import Path

import nbformat

from kdtutor._checks import check_output_folder
from kdtutor.series import notebooks
from kdtutor.series.class_install import WHEELS, build_wheel, student_requirements
from kdtutor.series.handout_texts import NBGRADER_CONFIG, nbgrader_readme, student_readme
from kdtutor.series.notebook_transforms import (
    exercises_of,
    set_nbgrader_run_folders,
    source_notebook,
    student_notebook,
)
from kdtutor.series.profiles import PROFILES

__all__ = ["teacher_files", "write_handout"]


# --- the cached teacher ----------------------------------------------------------------------


def teacher_files(cache_dir) -> list[Path]:
    """The cached teachers in ``cache_dir`` (``teacher_*.keras`` and their ``.json``) to copy.

    Raises ``UsageError`` when the teacher that the notebooks load as handed out
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
        raise notebooks.UsageError(
            f"a handout includes the trained teacher, but the model cache {cache_dir} has none "
            f"for the notebooks' default (quick) profile: expected {wanted.name}, found {found}. "
            "Make it with `kdtutor run --only 01` (about a minute), give the cache that has it "
            "with --cache, or leave it out with --no-artifacts (each notebook then trains the "
            "teacher itself, a minute or so, and numeric answers may differ between machines)."
        )
    return [
        file for path in teachers for file in (path, path.with_suffix(".json")) if file.exists()
    ]


# --- writing ---------------------------------------------------------------------------------


def _check_out_dir(out: Path, notebooks_dir: Path, force: bool) -> None:
    try:
        check_output_folder(out, "The handout folder")
    except ValueError as error:
        raise notebooks.UsageError(str(error)) from None
    if out in (notebooks_dir, *notebooks_dir.parents) or out.is_relative_to(notebooks_dir):
        raise notebooks.UsageError(
            f"{out} is or contains the series' own notebooks folder ({notebooks_dir}), which a "
            "handout must not overwrite; give a folder of its own, e.g. kdtutor handout ~/class."
        )
    if out.is_dir() and any(out.iterdir()) and not force:
        raise notebooks.UsageError(
            f"{out} is not empty. Choose a new folder, or add --force to write over the files "
            "of the same names there (other files are left as they are)."
        )


def write_handout(
    out,
    *,
    only: str | None = None,
    artifacts: bool = True,
    cache_dir=None,
    nbgrader: bool = False,
    force: bool = False,
    notebooks_dir=notebooks.NOTEBOOKS_DIR,
) -> list[Path]:
    """Write the handout into ``out`` and return the paths written, in order.

    ``only`` selects notebooks like ``kdtutor run --only`` ("01,03"); ``artifacts`` copies
    the cached teacher(s) from ``cache_dir`` (default: the model cache ``kdtutor run`` and
    the notebooks use, ``artifacts/`` of the checkout); ``nbgrader`` writes the nbgrader
    source version instead of the students' one. Either way ``out`` also gets what a class
    installs: the ``kdtutor`` wheel in ``wheels/`` (built from the checkout, offline) and a
    ``requirements.txt`` that names it (:func:`~kdtutor.series.class_install.student_requirements`).
    Everything is checked and built before the first file is written. Raises
    :class:`notebooks.UsageError` for a bad argument, a non-empty ``out`` (unless ``force``:
    then files of the same names are overwritten and nothing else is touched), a missing
    teacher or a wheel that cannot be built; ``ValueError`` for a notebook whose exercises
    cannot be matched with its solutions.
    """
    out = Path(out).expanduser().resolve()
    notebooks_dir = Path(notebooks_dir).expanduser().resolve()
    cache_dir = None if cache_dir is None else Path(cache_dir).expanduser()
    if cache_dir is not None and not artifacts:
        raise notebooks.UsageError(
            "--cache says where the teacher is copied from, and --no-artifacts leaves it out; "
            "give one of them."
        )
    _check_out_dir(out, notebooks_dir, force)
    selected = notebooks.select(notebooks.discover(notebooks_dir), only)
    broken = [nb for nb in selected if nb.problem]
    if broken:
        raise notebooks.UsageError(
            "Cannot read "
            + "; ".join(f"{nb.path}: {nb.problem}" for nb in broken)
            + ". Fix it, or leave it out with --only."
        )
    teachers = teacher_files(cache_dir or notebooks.ARTIFACTS_DIR) if artifacts else []
    repository_requirements = notebooks.REPO_ROOT / "requirements.txt"
    if not repository_requirements.is_file():
        raise notebooks.UsageError(
            f"kdtutor handout writes the class's requirements.txt from the repository's, but "
            f"{repository_requirements} does not exist; run it from a checkout of kdtutor."
        )

    built, counts = {}, {}
    for nb in selected:
        if nbgrader:
            built[nb.stem] = source_notebook(nb.path, notebooks_dir / "solutions" / nb.path.name)
            set_nbgrader_run_folders(built[nb.stem])
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
        write_text(out / "nbgrader_config.py", NBGRADER_CONFIG)
        write_text(out / "README.md", nbgrader_readme(selected, counts, teachers, wheel.name))
        for stem, nb in built.items():
            write_text(out / "source" / stem / f"{stem}.ipynb", nbformat.writes(nb) + "\n")
            if teachers:
                copy_teachers(out / "source" / stem / "artifacts")
    else:
        write_text(out / "README.md", student_readme(selected, counts, teachers, wheel.name))
        for stem, nb in built.items():
            write_text(out / f"{stem}.ipynb", nbformat.writes(nb) + "\n")
        if teachers:
            copy_teachers(out / "artifacts")
    return written
