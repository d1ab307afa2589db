"""The series as a book: a static site of the executed notebooks, built offline (``kdtutor book``).

:func:`build_book` copies what the book shows into a temporary source folder, never
touching the originals: the Sphinx configuration and pages of ``book/``, the numbered
notebooks (the committed ones, or a ``kdtutor run`` folder's executed ones), the
instructors' guide (``docs/instructors.md``, last, with a note for learners) and, from a
run, its ``report.md`` with its figures. Sphinx (MyST-NB, sphinx-book-theme, and the
book's own extension :mod:`kdtutor.series.book_site`) renders them as they are: notebooks
are never executed, the build makes no network request, and the site loads nothing from
outside its folder, so it reads from file:// (a USB stick) too: a notebook's metadata cannot
turn execution on (``book/conf.py`` reads MyST-NB's overrides from a key no notebook holds),
and a build whose pages would load anything from the network (an image by URL) fails. Each
chapter needs a title (``# `` in its first Markdown cell), its entry in the navigation.

Everything is built in the temporary folder (MyST-NB writes ``jupyter_execute/`` next to
Sphinx's output folder: there too) and only a complete site is put in place of ``--out``,
by renames next to it. A failed or interrupted build leaves ``--out`` as it was, and a
folder is replaced only when it holds a book this command wrote and nothing else (its
``.kdtutor-book.json`` lists what it wrote).
"""

from __future__ import annotations

import errno
import io
import json
import os
import re
import secrets
import shutil
import sys
import tempfile
from pathlib import Path

from kdtutor.series import book_site
from kdtutor.series.notebooks import NOTEBOOKS_DIR, REPO_ROOT, UsageError
from kdtutor.series.results import NOTEBOOK_STEM

__all__ = [
    "BOOK_DIR", "DEFAULT_OUT", "MARKER", "NAMING",
    "build_book", "check_arguments", "skipped_notebooks", "stage",
]  # fmt: skip

BOOK_DIR = REPO_ROOT / "book"  # conf.py and the pages that are not notebooks
DEFAULT_OUT = BOOK_DIR / "_build" / "html"  # the site built from the committed notebooks
INSTRUCTORS_GUIDE = REPO_ROOT / "docs" / "instructors.md"
REPORT = "report.md"
MARKER = ".kdtutor-book.json"  # in a built site: the files and folders the build wrote
NAMING = "lowercase NN_name.ipynb (two digits, _, then a-z, 0-9 or _)"  # a chapter's name
INSTRUCTORS_NOTE = """
```{admonition} For instructors
This page holds short answers to the discussion questions; learners: do the chapters'
exercises first.
```
"""


def _notebooks(folder: Path) -> tuple[list[Path], list[Path]]:
    """The folder's numbered notebooks (the chapters) and its other ``.ipynb`` files."""
    found = sorted(folder.glob("*.ipynb"))
    numbered = [path for path in found if NOTEBOOK_STEM.match(path.stem)]
    return numbered, [path for path in found if path not in numbered]


def skipped_notebooks(folder) -> list[str]:
    """The names of the ``.ipynb`` files in ``folder`` that are no chapter (see ``NAMING``)."""
    return [path.name for path in _notebooks(Path(folder))[1]]


def _names(paths, most: int = 3) -> str:
    """``a, b, c and 2 more``: files (their names) or relative paths (strings), quoted if spaced."""
    names = [path if isinstance(path, str) else path.name for path in paths]
    names = [repr(name) if " " in name else name for name in names]
    more = f" and {len(names) - most} more" if len(names) > most else ""
    return ", ".join(names[:most]) + more


def _notebook_problem(path: Path) -> str | None:
    """Why ``path`` is no notebook MyST-NB can show, in one line; ``None`` if it is one."""
    import nbformat
    from nbformat import reader

    try:  # nbformat.read would log a validation error at length on stderr: validate here
        notebook = nbformat.convert(reader.reads(path.read_text(encoding="utf-8")), 4)
        nbformat.validate(notebook)
    except Exception as error:  # not JSON, not UTF-8, not a notebook's structure, unreadable
        text = " ".join(str(getattr(error, "message", None) or error).split())
        return f"{type(error).__name__}: {text[:150]}{'...' if len(text) > 150 else ''}"
    return None


def _has_title(path: Path) -> bool:
    """Whether the notebook's first Markdown cell holds a level-1 heading (``# Title``), which
    is the chapter's title in the navigation: a page without one has none there."""
    import nbformat

    notebook = nbformat.read(path, as_version=4)
    first = next((cell for cell in notebook.cells if cell.cell_type == "markdown"), None)
    return first is not None and any(
        line.startswith("# ") for line in first.source.splitlines()
    )  # fmt: skip


def _resolve(given, flag: str) -> Path:
    """``given`` as an absolute path with its links followed; a link loop is a usage error."""
    try:
        return Path(os.path.expanduser(given)).resolve()
    except (RuntimeError, OSError) as error:  # Python 3.11: RuntimeError("Symlink loop ...")
        raise UsageError(
            f"{flag} {given}: a symbolic link in it points to itself, in a loop ({error}); "
            "give a folder without that link."
        ) from None


def _entries(folder: Path) -> set[str]:
    """Every file and folder under ``folder``, as POSIX paths relative to it (links unfollowed)."""
    found = set()
    for parent, folders, files in os.walk(folder):
        for name in [*folders, *files]:
            found.add((Path(parent) / name).relative_to(folder).as_posix())
    return found


def _not_replaceable(out: Path) -> str | None:
    """Why the folder ``out`` may not be replaced by a book, or ``None`` when it may: it is
    missing, empty, or holds a book this command wrote and nothing else."""
    if not out.is_dir() or not (names := sorted(path.name for path in out.iterdir())):
        return None
    try:  # without the marker, nothing under out is walked: it may be a home folder
        written = set(json.loads((out / MARKER).read_text())["entries"])
    except (OSError, ValueError, KeyError, TypeError):
        return (
            f"--out {out} holds files and no book of kdtutor book ({_names(names)}); give a "
            "new or empty folder: only a folder holding an earlier book and nothing else is "
            "replaced."
        )
    if foreign := sorted(_entries(out) - written - {MARKER}):
        return (
            f"--out {out} holds an earlier book and files it did not write "
            f"({_names(foreign)}); move them out, or give a new or empty folder."
        )
    return None


def _where(path: Path) -> str:
    try:
        return f"{path.relative_to(REPO_ROOT)}/"
    except ValueError:
        return str(path)


def check_arguments(source=None, out=None) -> tuple[Path, Path]:
    """Return the notebooks' folder and the site's folder of a build, both absolute.

    ``source`` must be a folder holding numbered notebooks (``NN_name.ipynb``; ``None``: the
    committed ones), each a valid notebook; ``out`` (``None``: ``book/_build/html`` for the
    committed notebooks, else ``<source>/book``) must be writable, outside the notebooks'
    folder and the repository's ``notebooks/`` and ``book/`` sources, and new, empty or an
    earlier book with nothing else in it. Nothing is written. Raises
    :class:`~kdtutor.series.notebooks.UsageError` saying what is wrong and what to give.
    """
    from kdtutor._checks import check_output_folder

    if not (BOOK_DIR / "conf.py").is_file():
        raise UsageError(
            f"No book sources at {BOOK_DIR}: kdtutor book works from a checkout of the "
            "repository (pip install -r requirements.txt installs kdtutor in editable mode)."
        )
    for flag, given in (("--from", source), ("--out", out)):
        if given is not None and not os.fspath(given).strip():
            raise UsageError(f"{flag} is empty; give a folder, or leave {flag} out (its default).")
    folder = NOTEBOOKS_DIR if source is None else _resolve(source, "--from")
    where = f"--from {folder}" if source is not None else str(folder)
    if not folder.is_dir():
        raise UsageError(
            f"{where} is not a folder; give the output folder of a `kdtutor run` "
            "(it holds the executed NN_name.ipynb notebooks)."
        )
    numbered, skipped = _notebooks(folder)
    if not numbered:
        hint = f": {_names(skipped, 5)} are not named {NAMING}; rename them, or" if skipped else ";"
        raise UsageError(
            f"{where} holds no numbered notebooks (NN_name.ipynb){hint} give the output "
            "folder of a `kdtutor run`, e.g. kdtutor book --from runs/ci."
        )
    for path in numbered:
        if problem := _notebook_problem(path):
            raise UsageError(
                f"{where}: {path.name} is not a notebook ({problem}); re-run it or remove it "
                "from the folder."
            )
        if not _has_title(path):
            raise UsageError(
                f"{where}: {path.name} has no title: its first Markdown cell must start with "
                "'# ' (its chapter's title in the navigation); add one, e.g. '# 02 · Topic'."
            )
    if out is None:
        out = DEFAULT_OUT if folder == NOTEBOOKS_DIR else folder / "book"
    site = _resolve(out, "--out")
    if site == folder or folder.is_relative_to(site):
        raise UsageError(
            f"--out {site} is or holds the notebooks' folder {folder}, which the book would "
            f"replace; give a folder outside it (the default is {_where(folder / 'book')})."
        )
    for sources in (NOTEBOOKS_DIR, BOOK_DIR):
        if (site.is_relative_to(sources) and not site.is_relative_to(BOOK_DIR / "_build")) or (
            sources.is_relative_to(site)
        ):
            raise UsageError(
                f"--out {site} is or holds the repository's {_where(sources)}, which the next "
                f"build would copy or replace; give {_where(DEFAULT_OUT)} (the default) or a "
                "folder outside the repository."
            )
    try:
        site = check_output_folder(site, "--out")
    except ValueError as error:
        raise UsageError(str(error)) from None
    except (RuntimeError, OSError) as error:  # a link loop below a resolved path
        raise UsageError(
            f"--out {site}: a symbolic link in it points to itself, in a loop ({error}); "
            "give a folder without that link."
        ) from None
    if site.is_dir() and os.path.ismount(site):
        raise UsageError(
            f"--out {site} is a mount point (a USB stick?), which cannot be replaced; give a "
            f"folder inside it, e.g. {site / 'kdtutor'}."
        )
    if site.is_dir() and not os.access(site.parent, os.W_OK):
        raise UsageError(
            f"--out {site}: its parent folder cannot be written, and the new book is put next "
            "to it first, then in its place; give a folder in a folder you can write."
        )
    if problem := _not_replaceable(site):
        raise UsageError(problem)
    return folder, site


def stage(source, target) -> dict[Path, Path]:
    """Copy the book's sources into the new folder ``target``; return its pages, each staged
    copy with the file it copies (the originals are never written).

    ``source`` is a folder of numbered notebooks: the committed ones (``notebooks/``, whose
    ``solutions/`` never come) or a ``kdtutor run`` folder, whose ``report.md`` and its
    ``report_*.png`` figures come too. The instructors' guide (last in the navigation:
    ``book/index.md``) gets a note for learners under its title.
    """
    source, target = Path(source), Path(target)
    # what a build leaves in book/: its output, MyST-NB's copies, a swap next to --out
    ignore = shutil.ignore_patterns("_build", "__pycache__", ".kdtutor-*", "jupyter_execute")
    shutil.copytree(BOOK_DIR, target, ignore=ignore)
    pages = {target / name: BOOK_DIR / name for name in ("index.md", "api.md")}
    for path in [*_notebooks(source)[0], INSTRUCTORS_GUIDE]:
        pages[Path(shutil.copy2(path, target / path.name))] = path
    guide = target / INSTRUCTORS_GUIDE.name
    text = guide.read_text(encoding="utf-8")
    title = re.search(r"^# .*\n", text, re.MULTILINE)
    at = title.end() if title else 0
    guide.write_text(text[:at] + INSTRUCTORS_NOTE + text[at:], encoding="utf-8")
    if (source / REPORT).is_file():
        pages[Path(shutil.copy2(source / REPORT, target / REPORT))] = source / REPORT
        for figure in sorted(source.glob("report_*.png")):
            shutil.copy2(figure, target / figure.name)
    else:  # the landing page's table of contents lists the report's page: not in this book
        index = target / "index.md"
        index.write_text(index.read_text().replace("\nreport\n", "\n"))
    return pages


def build_book(source=None, out=None, *, warnings=None) -> Path:
    """Build the book into ``out`` and return the path of its ``index.html``.

    ``source``: a ``kdtutor run`` output folder, or ``None`` for the committed notebooks;
    ``out``: the site's folder; see :func:`check_arguments` for both. An earlier book in
    ``out`` is replaced once the new one is complete; until then ``out`` is unchanged.
    Sphinx's warnings go to ``warnings`` (a text stream, default ``sys.stderr``), naming the
    original files. Raises :class:`~kdtutor.series.notebooks.UsageError` for bad arguments
    and ``RuntimeError`` when the build fails.
    """
    source, out = check_arguments(source, out)
    try:
        from sphinx.application import Sphinx
        from sphinx.util.console import nocolor
        from sphinx.util.docutils import docutils_namespace, patch_docutils
    except ImportError as error:
        raise RuntimeError(
            f"{error}. The book needs Sphinx, MyST-NB and sphinx-book-theme: "
            "pip install -r requirements.txt"
        ) from None
    from kdtutor import _quiet

    _quiet.import_tensorflow()  # the API page imports kdtutor's Keras modules: no start-up noise
    warnings = warnings or sys.stderr
    if not warnings.isatty():
        nocolor()
    try:
        return _build(Sphinx, nocolor, docutils_namespace, patch_docutils, source, out, warnings)
    except OSError as error:  # shutil.Error too: a disk full, a folder that cannot be written
        if error.errno == errno.ENOSPC or "No space left" in str(error):
            raise RuntimeError(
                f"No space left on the device to write the book ({_first_line(error)}): it is "
                f"built in {tempfile.gettempdir()}, then written next to the earlier one in "
                f"{out.parent} before that is removed, so the folder needs room for both; free "
                f"some space, or give another --out. {out} is unchanged."
            ) from None
        raise RuntimeError(
            f"the book could not be written ({_first_line(error)}); {out} is unchanged."
        ) from None


def _first_line(error: OSError) -> str:
    """An OSError's message in one line; a ``shutil.Error``'s first failed copy."""
    if isinstance(error, shutil.Error) and error.args and isinstance(error.args[0], list):
        source, target, why = error.args[0][0]
        return f"{why}: {target}"
    text = " ".join(str(error).split())
    return text[:200] + ("..." if len(text) > 200 else "")


def _build(Sphinx, nocolor, docutils_namespace, patch_docutils, source, out, warnings) -> Path:
    with tempfile.TemporaryDirectory(prefix="kdtutor-book-") as scratch:
        srcdir, site = Path(scratch) / "source", Path(scratch) / "site"
        pages = stage(source, srcdir)
        warned = book_site.OriginalPaths(warnings, {srcdir: BOOK_DIR, **pages})
        status = io.StringIO()
        try:
            with patch_docutils(srcdir), docutils_namespace():
                # MyST-NB reads a page's own settings (execution_mode: force too) from this
                # metadata key: one no page can know, so nothing is ever executed.
                unknown = {"nb_metadata_key": f"kdtutor-book-{secrets.token_hex(16)}"}
                app = Sphinx(
                    srcdir, srcdir, site, Path(scratch) / "doctrees", "html",
                    status=status, warning=warned, freshenv=True, confoverrides=unknown,
                )  # fmt: skip
                app.build(force_all=True)
        except OSError:  # a disk full: build_book says so
            raise
        except Exception as error:
            raise RuntimeError(
                f"Sphinx could not build the book: {type(error).__name__}: "
                f"{warned.original(str(error))}"
            ) from error
        if app.statuscode:
            raise RuntimeError(
                f"Sphinx could not build the book:\n{warned.original(status.getvalue())}"
            )
        if warned.critical:
            raise RuntimeError(
                f"Sphinx could not build the book: {warned.critical[0]}; --out is unchanged."
            )
        if warned.unwritten:  # Sphinx logs a file it could not write and goes on
            raise RuntimeError(
                f"the book could not be written: {warned.unwritten[0]}; free some space or "
                "give another --out; --out is unchanged."
            )
        chapters = [copy for copy in pages if copy.suffix == ".ipynb"]
        missing = [pages[copy] for copy in chapters if not (site / f"{copy.stem}.html").is_file()]
        if not chapters or missing:
            raise RuntimeError(
                f"Sphinx rendered no page for {_names(missing) or 'any chapter'} (its warnings "
                "above say why); --out is unchanged."
            )
        untitled = [pages[c] for c in chapters if _untitled(app.env.titles.get(c.stem))]
        if untitled:  # a page without a title is missing from the navigation
            raise RuntimeError(
                f"{_names(untitled)} has no title the book can show: its first Markdown cell "
                "must start with a non-empty '# ' heading; --out is unchanged."
            )
        if remote := book_site.remote_loads(site):
            page, url = remote[0]
            copy = srcdir / Path(page).with_suffix("").as_posix()
            named = next((str(pages[c]) for c in pages if c.with_suffix("") == copy), page)
            more = f" (and {len(remote) - 1} more)" if len(remote) > 1 else ""
            raise RuntimeError(
                f"{named} loads {url} from the network{more}, and the book must read offline: "
                "embed the image in the notebook's output instead (or the file in the book); "
                "--out is unchanged."
            )
        written = {"by": "kdtutor book", "entries": sorted(_entries(site))}
        (site / MARKER).write_text(json.dumps(written, indent=0))
        _put_in_place(site, out)
    return out / "index.html"


def _untitled(title) -> bool:
    """Whether Sphinx found no title for a page (it then stands in ``<no title>``)."""
    text = title.astext().strip() if title is not None else ""
    return text in ("", "<no title>")


def _put_in_place(site: Path, out: Path) -> None:
    """Replace ``out`` by the complete ``site``, by renames in ``out``'s parent folder.

    The site is first moved next to ``out`` (a rename, or a copy when the temporary folder
    is on another file system, as a USB stick is); then the earlier book is renamed aside,
    the new one renamed in, and the earlier one deleted. An interruption or error before
    the last step puts the earlier book back. Two builds into the same ``out`` at once each
    put a whole site there, never a mix: the last to rename wins, or, if the other's book
    arrived between its two renames, it fails saying so and the other's book stays.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    aside = Path(tempfile.mkdtemp(prefix=f".kdtutor-book-{out.name}-", dir=out.parent))
    earlier = aside / "earlier"
    try:
        shutil.move(site, aside / "new")
        if problem := _not_replaceable(out):  # again: files may have come in during the build
            raise UsageError(problem)
        if out.exists():
            os.rename(out, earlier)
        try:
            os.rename(aside / "new", out)
        except OSError as error:
            raise RuntimeError(
                f"the book could not be put in {out} ({error.strerror}); another build may "
                "have written it meanwhile: build again."
            ) from None
    finally:
        if earlier.exists() and not out.exists():
            os.rename(earlier, out)
        shutil.rmtree(aside, ignore_errors=True)
