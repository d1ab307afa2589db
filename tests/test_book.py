"""The series as a book (``kdtutor book``): built once from the committed notebooks, with no
network, then read in a real browser (headless Chromium) from file://, offline.

One in-process build, with every socket connection refused, feeds the checks of the site:
each page loads with no console error and no request outside its folder, the sidebar and
the prev/next links reach every chapter, search finds a word of notebook 04 alone, math is
MathML the browser lays out, images decode, and each chapter's download link serves its
notebook. One ``kdtutor book --from`` of a small run folder (a notebook whose code would
raise, a report) shows that nothing is executed. The browser tests skip without Playwright
or a Chromium (see conftest.py); the checks of the files themselves always run.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import dataclasses
import html
import io
import re
import shutil
import socket
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import nbformat
import pytest

from kdtutor.series import book, cli, notebooks, report

# MyST-Parser and sphinx-book-theme still use Sphinx APIs that Sphinx 11 removes.
pytestmark = pytest.mark.filterwarnings(
    "ignore:.*is deprecated. Check CHANGES for Sphinx API modifications"
)

ROOT = Path(__file__).resolve().parents[1]
LESSONS = sorted(notebooks.NOTEBOOKS_DIR.glob("[0-9][0-9]_*.ipynb"))
OTHER_PAGES = ["instructors.html", "api.html"]

# Every <img> of the page, and whether the browser decoded it.
IMAGES_JS = """() => [...document.images].map(image => ({
    src: image.src.slice(0, 80), decoded: image.complete && image.naturalWidth > 0}))"""
# The rendered size of each MathML formula: zero when the browser did not lay it out.
MATH_BOXES_JS = """() => [...document.querySelectorAll('article math')].map(formula => {
    const box = formula.getBoundingClientRect(); return [box.width, box.height]; })"""
# The prose of the article (paragraphs, list items, table cells), without code.
PROSE_JS = """() => [...document.querySelectorAll('article p, article li, article td')]
    .filter(element => !element.closest('pre, .highlight, math'))
    .map(element => element.innerText).join('\\n')"""


@dataclasses.dataclass
class Book:
    site: Path  # the folder holding index.html
    warnings: str  # what Sphinx warned about
    connections: list  # the addresses something tried to connect to during the build


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The book of the committed notebooks, built in this process with sockets refused."""
    connections = []

    def refuse(*arguments):
        address = arguments[1] if isinstance(arguments[0], socket.socket) else arguments[:2]
        connections.append(address)
        raise OSError(f"the book's build must not use the network (tried {address!r})")

    warnings = io.StringIO()
    site = tmp_path_factory.mktemp("book") / "site"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(socket.socket, "connect", refuse)
        patch.setattr(socket.socket, "connect_ex", refuse)
        patch.setattr(socket, "getaddrinfo", refuse)  # no name looked up either
        index = book.build_book(out=site, warnings=warnings)
    assert index == site / "index.html" and index.is_file()
    return Book(site, warnings.getvalue(), connections)


def page_url(site: Path, name: str) -> str:
    return (site / name).as_uri()


def page_name(url: str) -> str:
    """``index.html`` for ``file:///.../site/index.html#top``."""
    return url.split("#")[0].split("?")[0].rsplit("/", 1)[-1]


def chapter(lesson: Path) -> str:
    return f"{lesson.stem}.html"


def title(lesson: Path) -> str:
    """The notebook's H1 heading, which is its chapter's title ("01 · Training the teacher")."""
    for cell in nbformat.read(lesson, as_version=4).cells:
        for line in cell.source.splitlines() if cell.cell_type == "markdown" else ():
            if line.startswith("# "):
                return line[2:].strip()
    raise AssertionError(f"{lesson.name} has no H1 heading")


def text_of(page: Path) -> str:
    """A built page's text: its tags removed, its entities decoded."""
    return html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))


# --- the build -----------------------------------------------------------------------------


def test_the_build_makes_no_network_request_and_no_warning(built):
    assert built.connections == []
    assert built.warnings == "", built.warnings


def test_the_book_has_every_page_and_no_solutions(built):
    pages = {path.name for path in built.site.glob("*.html")}
    assert {"index.html", "search.html", *OTHER_PAGES, *map(chapter, LESSONS)} <= pages
    assert "report.html" not in pages  # the committed notebooks come without a run's report
    assert not list(built.site.rglob("*solutions*")) and not list(built.site.rglob("answer_key*"))


def test_the_api_page_documents_every_public_name(built):
    import kdtutor

    api = (built.site / "api.html").read_text()
    missing = [name for name in kdtutor.__all__ if f'id="kdtutor.{name}"' not in api]
    assert missing == [], f"kdtutor.__all__ names not on the API page: {missing}"
    assert "Built-in immutable sequence" not in api  # DATASET_NAMES without tuple's docstring


class _ResourceLinks(HTMLParser):
    """The URLs a page loads by itself (scripts, styles, images, frames, media)."""

    LOADS = {"script": "src", "img": "src", "iframe": "src", "source": "src", "video": "src",
             "audio": "src", "embed": "src", "object": "data", "link": "href"}  # fmt: skip

    def __init__(self):
        super().__init__()
        self.urls = []

    def handle_starttag(self, tag, attrs):
        attribute = self.LOADS.get(tag)
        if attribute and dict(attrs).get(attribute):
            self.urls.append(f"<{tag}> {dict(attrs)[attribute]}")


def test_no_page_or_stylesheet_loads_anything_from_outside_the_site(built):
    outside = re.compile(r"^(https?:)?//", re.IGNORECASE)
    for page in sorted(built.site.rglob("*.html")):
        links = _ResourceLinks()
        links.feed(page.read_text())
        remote = [url for url in links.urls if outside.match(url.split(" ", 1)[1])]
        assert remote == [], f"{page.name} loads from the network: {remote}"
    for stylesheet in built.site.rglob("*.css"):
        text = stylesheet.read_text(errors="replace")
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), stylesheet
        assert not re.search(r"@import\s+(url\()?\s*['\"]?(https?:)?//", text), stylesheet


def test_each_chapter_offers_its_notebook_file(built):
    for lesson in LESSONS:
        served = built.site / "_sources" / lesson.name
        assert served.read_bytes() == lesson.read_bytes(), lesson.name


# --- in the browser ------------------------------------------------------------------------


def test_every_page_loads_offline_with_its_images(built, visit):
    seen = visit(page_url(built.site, "index.html"))
    for page in sorted(built.site.glob("*.html")):
        seen.page.goto(page_url(built.site, page.name))
        assert seen.problems() == [], f"{page.name}: {seen.problems()}"
        images = seen.page.evaluate(IMAGES_JS)
        assert all(image["decoded"] for image in images), f"{page.name}: {images}"
    seen.page.goto(page_url(built.site, chapter(LESSONS[0])))
    assert len(seen.page.evaluate(IMAGES_JS)) >= 3  # notebook 01's plots, output PNGs


def test_the_sidebar_and_the_next_links_reach_every_chapter(built, visit):
    expected = [*map(chapter, LESSONS), *OTHER_PAGES]
    seen = visit(page_url(built.site, "index.html"))
    page = seen.page
    sidebar = page.eval_on_selector_all(
        "nav.bd-docs-nav a.reference.internal", "links => links.map(link => link.href)"
    )
    assert [page_name(url) for url in sidebar] == ["index.html", *expected]
    for lesson, url in zip(LESSONS, sidebar[1 : 1 + len(LESSONS)], strict=True):
        page.goto(url)
        assert page.inner_text("article h1").rstrip("#").strip() == title(lesson)
    # "next" at the foot of each page walks the whole book in order, from the landing page
    page.goto(sidebar[0])
    walked = []
    while page.locator("a.right-next").count():
        page.click("a.right-next")
        page.wait_for_load_state("load")
        walked.append(page_name(page.url))
    assert walked == expected
    assert seen.problems() == []


def word_only_in(lesson: Path) -> str:
    """A word of ``lesson``'s prose whose search stem no other page of the book holds.

    Sphinx indexes stems (``SearchEnglish.stem``): the other pages' text is split into
    runs of letters and stemmed the same way, from their sources (the other notebooks,
    the instructors' guide, the book's own pages, and the package, whose docstrings make
    the API page), so a word that only shares a stem with another page is not chosen.
    """
    from sphinx.search.en import SearchEnglish

    stem = SearchEnglish({}).stem
    others = [path.read_text() for path in LESSONS if path != lesson]
    others += [(ROOT / "docs" / "instructors.md").read_text()]
    others += [path.read_text() for path in sorted((ROOT / "book").glob("*.md"))]
    others += [path.read_text() for path in sorted((ROOT / "kdtutor").rglob("*.py"))]
    taken = {stem(word) for text in others for word in re.findall(r"[a-z]+", text.lower())}
    prose = " ".join(
        cell.source for cell in nbformat.read(lesson, as_version=4).cells
        if cell.cell_type == "markdown"
    )  # fmt: skip
    words = {word for word in re.findall(r"\w+", prose.lower()) if re.fullmatch(r"[a-z]{6,}", word)}
    unique = [word for word in words if stem(word) not in taken]
    assert unique, f"no word of {lesson.name}'s prose is on that page alone"
    return max(unique, key=lambda word: (len(word), word))  # the longest: a telling word


def test_search_finds_a_word_of_notebook_04_on_its_page_alone(built, visit):
    lesson = next(path for path in LESSONS if path.name.startswith("04_"))
    word = word_only_in(lesson)
    seen = visit(f"{page_url(built.site, 'search.html')}?q={word}")
    seen.page.wait_for_function(
        "() => /Search finished|did not match/.test("
        "document.querySelector('#search-results')?.innerText || '')"
    )
    found = seen.page.eval_on_selector_all(
        "#search-results ul.search li > a", "links => links.map(link => link.href)"
    )
    assert [page_name(url) for url in found] == [chapter(lesson)], (word, found)
    assert seen.problems() == []


def test_math_is_mathml_that_the_browser_lays_out(built, visit):
    lesson = next(path for path in LESSONS if path.name.startswith("02_"))
    assert "$$" in lesson.read_text()  # the notebook writes LaTeX
    seen = visit(page_url(built.site, chapter(lesson)))
    boxes = seen.page.evaluate(MATH_BOXES_JS)
    assert len(boxes) >= 3 and all(width > 0 and height > 0 for width, height in boxes), boxes
    prose = seen.page.evaluate(PROSE_JS)
    assert not re.search(r"\$[^$\n]+\$|\\(frac|sum|mathrm|partial)\b", prose), prose
    assert seen.page.locator("script[src*='mathjax' i], script[src*='katex' i]").count() == 0


def test_the_download_link_of_a_chapter_serves_its_notebook(built, visit):
    page = visit(page_url(built.site, "index.html")).page
    for lesson in LESSONS:
        page.goto(page_url(built.site, chapter(lesson)))
        href = page.eval_on_selector(
            "a.btn-download-source-button", "link => link.href"
        )  # resolved by the browser, as a click would
        assert href.startswith("file://") and href.endswith(".ipynb"), href
        served = nbformat.read(Path(href.removeprefix("file://")), as_version=4)
        nbformat.validate(served)
        source = nbformat.read(lesson, as_version=4)
        assert served.nbformat == 4 and len(served.cells) == len(source.cells), href


# --- kdtutor book --from a run folder, through the command line -----------------------------


@pytest.mark.slow
def test_a_book_from_a_run_shows_stored_outputs_and_executes_nothing(tmp_path):
    """A run folder whose notebook would raise if executed, with a report: built as is."""
    run = tmp_path / "run"
    run.mkdir()
    nb = nbformat.read(LESSONS[0], as_version=4)
    cell = next(cell for cell in nb.cells if cell.cell_type == "code" and cell.outputs
                and any(output.get("name") == "stdout" for output in cell.outputs))  # fmt: skip
    stored = next(output.text for output in cell.outputs if output.get("name") == "stdout")
    cell.source = 'raise RuntimeError("executed by the book")\n' + cell.source
    nbformat.write(nb, run / LESSONS[0].name)
    shutil.copy(ROOT / "docs" / "results" / "quick" / "results.json", run)
    report.write_report(run, notebooks.discover())

    result = subprocess.run(
        [sys.executable, "-m", "kdtutor", "book", "--from", str(run)],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    index = run / "book" / "index.html"
    assert str(index) in result.stdout.splitlines()[-1]
    assert result.stderr == ""  # no warning, and no TensorFlow start-up noise
    page = text_of(run / "book" / chapter(LESSONS[0]))
    assert page.count("executed by the book") == 1  # in the cell's source, never in an output
    assert stored.strip().splitlines()[0] in page and "Traceback" not in page
    report_page = (run / "book" / "report.html").read_text()
    assert 'src="_images/report_' in report_page
    assert "report.html" in (run / "book" / "index.html").read_text()  # in the contents


# --- bad arguments --------------------------------------------------------------------------


def test_bad_arguments_are_refused_with_one_line_and_exit_code_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = tmp_path / "file.txt"
    a_file.write_text("not a folder")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("someone's files")
    cases = [
        (["--from", str(empty)], "holds no numbered notebooks"),
        (["--from", str(tmp_path / "missing")], "is not a folder"),
        (["--out", str(a_file / "site")], "is a file, not a folder"),
        (["--out", str(a_file)], "exists and is not a folder"),
        (["--out", str(busy)], "holds files that are not an earlier book"),
    ]
    for arguments, message in cases:
        assert cli.main(["book", *arguments]) == 2, arguments
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("kdtutor book: error: ") and message in captured.err
        assert captured.err.count("\n") == 1, captured.err
    assert (busy / "notes.txt").is_file() and list(busy.iterdir()) == [busy / "notes.txt"]
    earlier = tmp_path / "earlier"
    earlier.mkdir()
    (earlier / ".buildinfo").write_text("# Sphinx build info version 1\n")
    assert book.check_arguments(None, earlier)[1] == earlier  # an earlier book is replaced
