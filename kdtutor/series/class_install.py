"""What a class installs: the ``kdtutor`` wheel, built offline, and the class's requirements.

:func:`build_wheel` builds the wheel from the checkout with this environment's build
backend; :func:`student_requirements` turns the repository's ``requirements.txt`` into the
one a handout holds, naming the wheel in its :data:`WHEELS` folder.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from kdtutor.series import notebooks

__all__ = ["WHEELS", "build_wheel", "student_requirements"]

WHEELS = "wheels"  # the handout's folder for the kdtutor wheel (and an offline wheelhouse)
# Only kdtutor's own developers need these (tests, lint, browser and workflow checks, the
# wheel build); nbgrader only an nbgrader course (students fetch and submit with it).
_DEVELOPER_ONLY = {"pytest", "pytest-xdist", "nbval", "ruff", "playwright", "check-jsonschema"}
_DEVELOPER_ONLY |= {"zizmor", "sphinx", "myst-nb", "myst-parser", "sphinx-book-theme"}
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


def build_wheel(out_dir, repo_root=notebooks.REPO_ROOT) -> Path:
    """Build the ``kdtutor`` wheel from the checkout at ``repo_root`` into ``out_dir``; return it.

    Offline: ``pip wheel --no-deps --no-build-isolation --no-index`` with the build backend of
    this environment, on a copy of the package's sources (so the checkout gains no ``build/``
    or ``.egg-info``). Raises :class:`notebooks.UsageError` when ``repo_root`` is not a checkout
    or the backend ``pyproject.toml`` asks for is missing, saying how to install it.
    """
    import tomllib

    repo_root, out_dir = Path(repo_root), Path(out_dir)
    pyproject_path = repo_root / "pyproject.toml"
    if not pyproject_path.is_file() or not (repo_root / "kdtutor").is_dir():
        raise notebooks.UsageError(
            f"kdtutor handout builds the kdtutor wheel from the repository's checkout, but "
            f"{repo_root} has no pyproject.toml and kdtutor/; run it from a checkout."
        )
    pyproject = tomllib.loads(pyproject_path.read_text(encoding="utf-8"))
    missing = _build_requirements_missing(pyproject)
    if missing:
        raise notebooks.UsageError(
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
            raise notebooks.UsageError(
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
