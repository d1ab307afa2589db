"""The series as a book: a static site of the executed notebooks, built offline (``kdtutor book``).

:func:`build_book` copies what the book shows into a temporary source folder, never
touching the originals: the Sphinx configuration and pages of ``book/``, the numbered
notebooks (the committed ones, or a ``kdtutor run`` folder's executed ones), the
instructors' guide (``docs/instructors.md``) and, from a run, its ``report.md`` with its
figures. Sphinx (MyST-NB, sphinx-book-theme) then renders them as they are: notebooks are
never executed, the build makes no network request, and the site loads nothing from
outside its folder, so it reads from file:// (a USB stick) too.

The module is also the book's Sphinx extension (``extensions`` in ``book/conf.py``): it
registers the math renderer ``mathml``, which writes LaTeX as MathML at build time
(latex2mathml, as the run's HTML copies do), so formulas need no script.
"""

from __future__ import annotations

import io
import os
import posixpath
import re
import shutil
import sys
import tempfile
from pathlib import Path

from kdtutor.series.html_export import _mathml
from kdtutor.series.notebooks import NOTEBOOKS_DIR, REPO_ROOT, UsageError
from kdtutor.series.results import NOTEBOOK_STEM

__all__ = ["BOOK_DIR", "DEFAULT_OUT", "build_book", "check_arguments", "stage", "setup"]

BOOK_DIR = REPO_ROOT / "book"  # conf.py and the pages that are not notebooks
DEFAULT_OUT = BOOK_DIR / "_build" / "html"  # the site built from the committed notebooks
INSTRUCTORS_GUIDE = REPO_ROOT / "docs" / "instructors.md"
REPORT = "report.md"


def _numbered_notebooks(folder: Path) -> list[Path]:
    return [path for path in sorted(folder.glob("*.ipynb")) if NOTEBOOK_STEM.match(path.stem)]


def check_arguments(source=None, out=None) -> tuple[Path, Path]:
    """Return the notebooks' folder and the site's folder of a build, both absolute.

    ``source`` must be a folder holding numbered notebooks (``NN_name.ipynb``; ``None``: the
    committed ones); ``out`` (``None``: ``book/_build/html``, or ``<source>/book`` for a
    run) must be writable and new, empty or an earlier book. Raises
    :class:`~kdtutor.series.notebooks.UsageError` saying what is wrong and what to give.
    """
    from kdtutor._checks import check_output_folder

    if not (BOOK_DIR / "conf.py").is_file():
        raise UsageError(
            f"No book sources at {BOOK_DIR}: kdtutor book works from a checkout of the "
            "repository (pip install -r requirements.txt installs kdtutor in editable mode)."
        )
    if source is None:
        folder, out = NOTEBOOKS_DIR, DEFAULT_OUT if out is None else out
    else:
        folder = Path(os.path.expanduser(os.fspath(source))).resolve()
        out = folder / "book" if out is None else out
        if not folder.is_dir():
            raise UsageError(
                f"--from {folder} is not a folder; give the output folder of a `kdtutor run` "
                "(it holds the executed NN_name.ipynb notebooks)."
            )
    if not _numbered_notebooks(folder):
        raise UsageError(
            f"{'--from ' if source else ''}{folder} holds no numbered notebooks "
            "(NN_name.ipynb); give the output folder of a `kdtutor run`, e.g. "
            "kdtutor book --from runs/ci."
        )
    try:
        out = check_output_folder(out, "--out")
    except ValueError as error:
        raise UsageError(str(error)) from None
    if out.is_dir() and any(out.iterdir()) and not (out / ".buildinfo").is_file():
        raise UsageError(
            f"--out {out} holds files that are not an earlier book; give a new or empty "
            "folder (the book in an earlier book's folder is replaced)."
        )
    return folder, out


def stage(source, target) -> list[Path]:
    """Copy the book's sources into the new folder ``target``; return the pages copied.

    ``source`` is a folder of numbered notebooks: the committed ones (``notebooks/``, whose
    ``solutions/`` never come) or a ``kdtutor run`` folder, whose ``report.md`` and its
    ``report_*.png`` figures come too.
    """
    source, target = Path(source), Path(target)
    shutil.copytree(BOOK_DIR, target, ignore=shutil.ignore_patterns("_build", "__pycache__"))
    pages = [target / "index.md", target / "api.md"]
    for path in [*_numbered_notebooks(source), INSTRUCTORS_GUIDE]:
        pages.append(Path(shutil.copy2(path, target / path.name)))
    if (source / REPORT).is_file():
        pages.append(Path(shutil.copy2(source / REPORT, target / REPORT)))
        for figure in sorted(source.glob("report_*.png")):
            shutil.copy2(figure, target / figure.name)
    else:  # the landing page's table of contents lists the report's page: not in this book
        index = target / "index.md"
        index.write_text(index.read_text().replace("\nreport\n", "\n"))
    return pages


def build_book(source=None, out=None, *, warnings=None) -> Path:
    """Build the book into ``out`` and return the path of its ``index.html``.

    ``source``: a ``kdtutor run`` output folder, or ``None`` for the committed notebooks;
    ``out``: the site's folder; see :func:`check_arguments` for both. A book already in
    ``out`` is replaced. Sphinx's warnings go to ``warnings`` (a text stream, default
    ``sys.stderr``). Raises :class:`~kdtutor.series.notebooks.UsageError` for bad arguments
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
    if (out / ".buildinfo").is_file():
        shutil.rmtree(out)  # an earlier book: this one may not have all of its pages
    with tempfile.TemporaryDirectory(prefix="kdtutor-book-") as scratch:
        srcdir = Path(scratch) / "source"
        stage(source, srcdir)
        status = io.StringIO()
        try:
            with patch_docutils(srcdir), docutils_namespace():
                app = Sphinx(
                    srcdir, srcdir, out, Path(scratch) / "doctrees", "html",
                    status=status, warning=warnings, freshenv=True,
                )  # fmt: skip
                app.build(force_all=True)
        except Exception as error:
            raise RuntimeError(
                f"Sphinx could not build the book: {type(error).__name__}: {error}"
            ) from error
        if app.statuscode:
            raise RuntimeError(f"Sphinx could not build the book:\n{status.getvalue()}")
    return out / "index.html"


# --- the Sphinx extension: math as MathML, links to what the book does not hold ----------


def _visit_math(translator, node) -> None:
    from docutils import nodes

    translator.body.append(translator.starttag(node, "span", "", CLASS="math notranslate"))
    translator.body.append(_mathml(node.astext(), "inline") + "</span>")
    raise nodes.SkipNode


def _visit_displaymath(translator, node) -> None:
    from docutils import nodes
    from sphinx.util.math import get_node_equation_number

    translator.body.append(translator.starttag(node, "div", CLASS="math notranslate"))
    if node.get("number"):
        number = get_node_equation_number(translator, node)
        translator.body.append(f'<span class="eqno">({number})</span>')
    # Sphinx's convention: formulas separated by a blank line are shown one under the other.
    for part in filter(str.strip, node.astext().split("\n\n")):
        translator.body.append(_mathml(part, "block"))
    translator.body.append("</div>\n")
    raise nodes.SkipNode


def _links_outside_the_book():
    """A post-transform for the links MyST cannot resolve, run just before its own.

    The pages were written for the repository: they link to files the book leaves out on
    purpose (``solutions/NN_name.ipynb``, ``answer_key.md``: a learner's site holds no
    answers; ``results/full/``), to a chapter a partial run did not execute, to a run's
    ``NN_name.html`` copies and to anchors written as raw HTML (``<a id="q1"></a>``).
    A link to a page of the book (``NN_name.html``) or to an anchor of the page becomes a
    link there; a link to any other file becomes its text, so no link of the site is broken.
    """
    from docutils import nodes
    from sphinx import addnodes
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class LinksOutsideTheBook(SphinxPostTransform):
        default_priority = 8  # MyST's resolver runs at 9 and warns about what it cannot find
        formats = ("html",)

        def run(self, **kwargs) -> None:
            raw_ids = {
                anchor
                for raw in self.document.findall(nodes.raw)
                for anchor in _RAW_ID.findall(raw.astext())
            }
            for node in list(self.document.findall(addnodes.pending_xref)):
                if node["reftype"] != "myst" or node["refdomain"] == "doc":
                    continue
                target = node["reftarget"]
                page = posixpath.join(posixpath.dirname(node.get("refdoc", "")), target)
                if target in raw_ids:
                    link = nodes.reference("", "", internal=True, refid=target)
                elif target.endswith(".html") and page.removesuffix(".html") in self.env.all_docs:
                    # the page Sphinx writes there, as the html builder mirrors the sources
                    link = nodes.reference("", "", internal=True, refuri=target)
                elif Path(target).suffix or "/" in target:  # a file of the repository only
                    node.replace_self(node[0].deepcopy())
                    continue
                else:
                    continue
                link += node[0].deepcopy()
                node.replace_self(link)

    return LinksOutsideTheBook


_RAW_ID = re.compile(r"""<a\s[^>]*\bid=["']([^"']+)["']""")


def setup(app) -> dict:
    """Register the math renderer ``mathml`` (``html_math_renderer = "mathml"``) and the
    links' post-transform (see :func:`_links_outside_the_book`)."""
    app.add_html_math_renderer(
        "mathml",
        inline_renderers=(_visit_math, None),
        block_renderers=(_visit_displaymath, None),
    )
    app.add_post_transform(_links_outside_the_book())
    return {"parallel_read_safe": True, "parallel_write_safe": True}
