"""The book's Sphinx extension (``extensions`` in ``book/conf.py``), for ``kdtutor book``.

It registers the math renderer ``mathml``, which writes LaTeX as MathML at build time
(latex2mathml, as the run's HTML copies do), so formulas need no script, and a
post-transform that turns the links the book cannot hold into links it holds or into text
(see :func:`_links_outside_the_book`). :class:`OriginalPaths` is the stream Sphinx's
warnings go through, naming the user's files; :func:`remote_loads` finds what a built page
would load from outside the site. :mod:`kdtutor.series.book` stages and builds
the book.
"""

from __future__ import annotations

import posixpath
import re
from html.parser import HTMLParser
from pathlib import Path

from kdtutor.series.html_export import _mathml

__all__ = ["OriginalPaths", "RemoteLoads", "remote_loads", "setup"]


class RemoteLoads(HTMLParser):
    """The URLs outside the site that a page loads by itself: scripts, styles, images (also
    ``srcset``, SVG ``<image>``, a video's poster), frames and media, ``url()``,
    ``image-set()`` and ``@import`` in ``<style>`` and ``style=``, and any quoted URL in an
    inline ``<script>`` (how plotting libraries load theirs). Links (``<a href>``) are
    followed only when clicked: not these. SVG's and MathML's namespace names are not loads."""

    LOADS = {"script": ("src",), "img": ("src",), "iframe": ("src",), "source": ("src",),
             "video": ("src", "poster"), "audio": ("src",), "embed": ("src",),
             "object": ("data",), "link": ("href",), "track": ("src",), "input": ("src",),
             "image": ("href", "xlink:href"), "use": ("href", "xlink:href"),
             "frame": ("src",), "body": ("background",), "table": ("background",),
             "td": ("background",), "th": ("background",), "base": ("href",),
             "feimage": ("href", "xlink:href")}  # fmt: skip
    REFRESH = re.compile(r"url\s*=\s*['\"]?((?:https?:)?//\S+)", re.IGNORECASE)
    SCRIPT_LOADS = ("src", "href", "xlink:href")  # an SVG <script> has href
    DATA_SCRIPTS = re.compile(r"json|^text/(template|plain|html|markdown|x-template)",
                              re.IGNORECASE)  # fmt: skip
    REMOTE = re.compile(r"^\s*(https?:)?//", re.IGNORECASE)
    CSS = re.compile(
        r"(?:url|image-set)\(\s*['\"]?((?:https?:)?//[^'\")\s]+)"
        r"|@import\s+['\"]((?:https?:)?//[^'\"]+)",
        re.IGNORECASE,
    )
    QUOTED = re.compile(r"['\"`]((?:https?:)?//[^'\"`\s]+)", re.IGNORECASE)
    NAMESPACES = re.compile(r"^(https?:)?//www\.w3\.org/", re.IGNORECASE)

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self._inside = None  # "style" or "script" while in one

    def handle_starttag(self, tag, attrs):
        attrs = {name: value or "" for name, value in attrs}
        for name in self.SCRIPT_LOADS if tag == "script" else self.LOADS.get(tag, ()):
            if self.REMOTE.match(url := attrs.get(name, "")):
                self.urls.append(url.strip())
        if tag == "meta" and attrs.get("http-equiv", "").lower() == "refresh":
            self.urls += self.REFRESH.findall(attrs.get("content", ""))
        if attrs.get("srcdoc"):  # a frame's own page (folium maps): what it loads too
            inner = RemoteLoads()
            inner.feed(attrs["srcdoc"])
            self.urls += inner.urls
        for candidate in attrs.get("srcset", "").split(","):
            if self.REMOTE.match(candidate):
                self.urls.append(candidate.split()[0])
        self._css(attrs.get("style", ""))
        data = tag == "script" and self.DATA_SCRIPTS.search(attrs.get("type", ""))
        self._inside = tag if tag in ("style", "script") and not data else None

    def handle_endtag(self, tag):
        self._inside = None

    def handle_data(self, data):
        if self._inside == "style":
            self._css(data)
        elif self._inside == "script":
            found = self.QUOTED.findall(data)
            self.urls += [url for url in found if not self.NAMESPACES.match(url)]

    def _css(self, text: str) -> None:
        self.urls += [first or second for first, second in self.CSS.findall(text)]


def remote_loads(site: Path) -> list[tuple[str, str]]:
    """Each built page's resources from outside the site, as (page, URL) pairs: the page's
    path relative to ``site``."""
    found = []
    for page in sorted(site.rglob("*.html")):
        scan = RemoteLoads()
        scan.feed(page.read_text(encoding="utf-8", errors="replace"))
        found += [(page.relative_to(site).as_posix(), url) for url in scan.urls]
    return found


class OriginalPaths:
    """A text stream for Sphinx's warnings that names each page's original file, not its
    staged copy in the temporary folder, which is gone when the reader looks.

    ``copies`` maps each staged path (a page, or a folder: the staged ``book/``) to its
    original; text is written to ``stream`` with the first replaced by the second.
    """

    def __init__(self, stream, copies: dict[Path, Path]):
        self.stream, self.encoding = stream, getattr(stream, "encoding", None) or "utf-8"
        self.unwritten: list[str] = []  # Sphinx's "error writing file", "cannot copy" lines
        self.critical: list[str] = []  # docutils' severe messages, which Sphinx logs and passes
        # the longest first: a page's path before its folder's, which is its prefix
        self.paths = sorted(((str(copy), str(original)) for copy, original in copies.items()),
                            key=lambda pair: -len(pair[0]))  # fmt: skip

    def original(self, text: str) -> str:
        for copy, original in self.paths:
            text = text.replace(copy, original)
        return _CELL_LINE.sub(_cell_and_line, text)

    def write(self, text: str) -> int:
        # Sphinx's own message, read before the staged paths become the user's (whose
        # folder names may hold any words)
        self.unwritten += [
            self.original(line) for line in text.splitlines() if _UNWRITTEN.search(line)
        ]
        self.critical += [self.original(line) for line in text.splitlines() if ": CRITICAL: " in
                          f": {line}"]  # fmt: skip
        return self.stream.write(self.original(text))

    def flush(self) -> None:
        self.stream.flush()

    def isatty(self) -> bool:
        return self.stream.isatty()


# MyST-NB numbers a notebook's lines as (cell index + 1) * 10000 + 1 + the line in the cell
# (myst_nb.core.nb_to_tokens: a cell starts at (index + 1) * 10000, plus 1 for lines counted
# from 1); MyST adds 1 more: line L of cell C (both from 1) is C * 10000 + L + 1.
_UNWRITTEN = re.compile(r"WARNING: (error writing file |cannot copy \w+ file )")
_CELL_LINE = re.compile(r"\.ipynb:([1-9]\d{4,})\b")


def _cell_and_line(found: re.Match) -> str:
    cell, line = divmod(int(found.group(1)), 10000)
    return f".ipynb, cell {cell}, line {max(line - 1, 1)}"


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
    app.connect("source-read", _no_imports_outside_the_api)
    app.connect("builder-inited", _lock_down)
    return {"parallel_read_safe": True, "parallel_write_safe": True}


_AUTODOC = re.compile(r"(?:\{|\.\.\s+)(auto\w+)(?:\}|\s*::)", re.IGNORECASE)


def _guarded(directive):
    """``directive`` (one of autodoc's) refusing to run on any page but the API page."""

    class OnTheApiPageOnly(directive):
        def run(self):
            if self.env.docname != "api":
                from sphinx.errors import ExtensionError

                raise ExtensionError(
                    f"{self.env.docname}: the directive {self.name} would import Python code "
                    "while the book is built; only the book's API page may use it: remove it."
                )
            return super().run()

    return OnTheApiPageOnly


def _lock_down(app) -> None:
    """What a page may not do while the book is built: insert files or URLs (docutils'
    ``include``, ``literalinclude``, ``raw :file:/:url:``, MyST's ``include``), and import
    Python code outside the API page (autodoc's directives, whatever a page calls them)."""
    from docutils.parsers.rst import directives

    app.env.settings["file_insertion_enabled"] = False
    for name, directive in list(directives._directives.items()):  # the registered ones
        if name.startswith("auto") and isinstance(directive, type):
            app.add_directive(name, _guarded(directive), override=True)


def _no_imports_outside_the_api(app, docname: str, source: list) -> None:
    """Refuse autodoc's directives on any page but the API page: they import a Python module
    while the book is built (a notebook or a report could run code that way)."""
    from sphinx.errors import ExtensionError

    if docname != "api" and (found := _AUTODOC.search(source[0])):
        raise ExtensionError(
            f"{docname}: the directive {found.group(1)} would import Python code while the "
            "book is built; only the book's API page may use it: remove it from the page."
        )
