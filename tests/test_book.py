"""The series as a book (``kdtutor book``): built once from the committed notebooks, with no
network, then read in a real browser (headless Chromium) from file://, offline.

One in-process build, with every socket connection refused, feeds the checks of the site:
each page loads with no console error and no request outside its folder, the sidebar and
the prev/next links reach every chapter (the instructors' guide last), search finds a word
of notebook 04 alone, math is MathML the browser lays out, printed lines wrap and wide
tables scroll, images decode, and each chapter's download link serves its notebook. One
``kdtutor book --from`` of a small run folder (a notebook whose code would raise, a report)
shows that nothing is executed. Small books of one-cell chapters show that a folder is
replaced only when it holds an earlier book and nothing else, only once the new book is
complete (an interrupted or failed build leaves it as it was), and that warnings name the
user's files. The browser tests skip without Playwright or a Chromium (see conftest.py);
the checks of the files themselves always run. Every test that builds a book is slow; the
refusals of bad arguments are not.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import dataclasses
import html
import io
import json
import re
import shutil
import socket
import subprocess
import sys
import tempfile
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
OTHER_PAGES = ["api.html", "instructors.html"]  # the guide last: not "next" after 05

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
    """A built page's text: its tags removed, its entities decoded, its quotes straight (the
    HTML writer curls them)."""
    text = html.unescape(re.sub(r"<[^>]+>", "", page.read_text()))
    return text.translate(str.maketrans("\u2018\u2019\u201c\u201d", "''\"\""))


# --- the build -----------------------------------------------------------------------------


@pytest.mark.slow
def test_the_build_makes_no_network_request_and_no_warning(built):
    assert built.connections == []
    assert built.warnings == "", built.warnings


@pytest.mark.slow
def test_the_build_writes_nothing_outside_its_folder(built):
    """MyST-NB writes jupyter_execute/ next to Sphinx's output folder: in the temporary one."""
    assert [path.name for path in built.site.parent.iterdir()] == [built.site.name]


@pytest.mark.slow
def test_the_book_has_every_page_and_no_solutions(built):
    pages = {path.name for path in built.site.glob("*.html")}
    assert {"index.html", "search.html", *OTHER_PAGES, *map(chapter, LESSONS)} <= pages
    assert "report.html" not in pages  # the committed notebooks come without a run's report
    assert not list(built.site.rglob("*solutions*")) and not list(built.site.rglob("answer_key*"))


@pytest.mark.slow
def test_the_api_page_documents_every_public_name_and_the_modules_the_chapters_call(built):
    import kdtutor
    from kdtutor import compare, training

    api = (built.site / "api.html").read_text()
    names = [f"kdtutor.{name}" for name in kdtutor.__all__]
    names += [f"kdtutor.compare.{name}" for name in compare.__all__]
    names += [f"kdtutor.training.{name}" for name in training.__all__]
    missing = [name for name in names if f'id="{name}"' not in api]
    assert missing == [], f"not on the API page: {missing}"
    assert "Built-in immutable sequence" not in api  # DATASET_NAMES without tuple's docstring
    lesson = next(path for path in LESSONS if path.name.startswith("03_"))
    assert "compare_paired(" in lesson.read_text()  # what a learner of 03 looks up


@pytest.mark.slow
def test_the_footer_names_the_authors(built):
    pages = sorted(built.site.glob("*.html"))
    assert [page.name for page in pages if "Author name not set" in page.read_text()] == []
    assert "By the kdtutor authors" in text_of(built.site / "index.html")


def printed(lesson: Path) -> str:
    """What the notebook's cells printed (their stream and text outputs), as one text."""
    cells = nbformat.read(lesson, as_version=4).cells
    return "\n".join(
        output.get("text", "") or output.get("data", {}).get("text/plain", "")
        for cell in cells if cell.cell_type == "code" for output in cell.outputs
    )  # fmt: skip


@pytest.mark.slow
def test_the_landing_page_says_what_the_chapters_print(built):
    landing = " ".join(text_of(built.site / "index.html").split())
    split = r"([\d,]+) real MNIST digits \(([\d,]+) to train, ([\d,]+) to test\)"
    found = re.search(split, landing)
    assert found, "the landing page does not say how the quick profile's digits are split"
    total, train, test = (int(number.replace(",", "")) for number in found.groups())
    first = printed(LESSONS[0])
    assert total == train + test and f"train: images ({train}," in first
    assert f" in {test:,} test images" in first
    # 05 removes the digit from the student's images; it learns part of it, not all of it
    last = printed(next(path for path in LESSONS if path.name.startswith("05_")))
    assert re.search(r"transfer set: [\d,]+ images, 0 of digit \d", last)
    assert "never saw labelled it can learn from the teacher's logits" in landing
    assert "from soft targets alone" not in landing
    assert "from a checkout of the kdtutor repository" in landing


@pytest.mark.slow
def test_the_instructors_guide_comes_last_with_a_note_for_learners(built):
    def next_page(page: str) -> str | None:
        link = re.search(r'<a class="right-next"\s+href="([^"]+)"', (built.site / page).read_text())
        return link and page_name(link.group(1))

    assert next_page(chapter(LESSONS[-1])) == "api.html"  # the Reference follows the chapters
    assert next_page("api.html") == "instructors.html" and next_page("instructors.html") is None
    guide = " ".join(text_of(built.site / "instructors.html").split())
    note = (
        "For instructors This page holds short answers to the discussion questions; "
        "learners: do the chapters' exercises first."
    )
    assert note in guide
    assert guide.index(note) < guide.index("For an instructor who teaches")  # its first words
    assert "learners: do the chapters" not in (ROOT / "docs" / "instructors.md").read_text()


def remote_in_css(text: str) -> list[str]:
    """The remote URLs of ``url(...)`` and ``@import`` in a stylesheet's text."""
    urls = re.findall(r"url\(\s*['\"]?((?:https?:)?//[^'\")\s]+)", text, re.IGNORECASE)
    return urls + re.findall(r"@import\s+['\"]((?:https?:)?//[^'\"]+)", text, re.IGNORECASE)


def remote_hosts(text: str) -> list[str]:
    """String literals of a script or stylesheet that name a host: something it could load.
    The XML namespaces (``http://www.w3.org/2000/svg``) are names, never fetched."""
    found = re.findall(r"""["'`]((?:https?:)?//[a-z0-9-]+(?:\.[a-z0-9-]+)+[^"'`\s]*)""", text, re.I)
    return [url for url in found if not re.match(r"https?://www\.w3\.org/", url)]


def remote_loads(page: str) -> list[str]:
    """What a page loads from outside the site, by the scan the build itself runs
    (``book_site.RemoteLoads``, checked against written-out pages below)."""
    from kdtutor.series.book_site import RemoteLoads

    scan = RemoteLoads()
    scan.feed(page)
    return scan.urls


def test_the_scan_for_remote_resources_finds_each_kind():
    """The scan below would find what a theme could slip in: a test that cannot fail is none."""
    page = """<html><head><script src="https://cdn.example.org/x.js"></script>
        <style>.a { background: url("//fonts.example.org/f.woff2") }</style></head>
        <body><img src="_images/a.png" srcset="_images/a.png 1x, https://example.org/b.png 2x">
        <div style="background-image: url(https://example.org/c.png)">text</div>
        <svg xmlns="http://www.w3.org/2000/svg"></svg><a href="https://example.org/">a link</a>
        <style>@import "https://example.org/d.css";</style></body></html>"""
    assert remote_loads(page) == [
        "https://cdn.example.org/x.js",
        "//fonts.example.org/f.woff2",
        "https://example.org/b.png",
        "https://example.org/c.png",
        "https://example.org/d.css",
    ]
    script = """const svg = "http://www.w3.org/2000/svg"; fetch('https://api.example.org/q');"""
    assert remote_hosts(script) == ["https://api.example.org/q"]


@pytest.mark.slow
def test_no_page_script_or_stylesheet_loads_anything_from_outside_the_site(built):
    for page in sorted(built.site.rglob("*.html")):
        assert remote_loads(page.read_text()) == [], f"{page.name} loads from the network"
    shipped = [*built.site.rglob("*.css"), *built.site.rglob("*.js")]
    assert len(shipped) > 10  # the theme's, Sphinx's, MyST-NB's and the book's own
    for path in shipped:
        text = path.read_text(errors="replace")
        assert remote_in_css(text) == [] and remote_hosts(text) == [], path


@pytest.mark.slow
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


# What of a cell's output the reader cannot see: a printed block wider than its box (it must
# wrap), or a table wider than the article that is not in a box of its own that scrolls
# sideways. Also how many tables are wider than their column (and so scroll).
HIDDEN_OUTPUT_JS = """() => {
  const article = document.querySelector('article');
  const right = article.getBoundingClientRect().right + 1, hidden = [], scrolling = [];
  for (const pre of article.querySelectorAll('.cell_output pre'))
    if (pre.scrollWidth > pre.clientWidth)
      hidden.push(`printed ${pre.scrollWidth}px in ${pre.clientWidth}px: ${pre.innerText}`);
  for (const table of article.querySelectorAll('table')) {
    const width = table.getBoundingClientRect().width;
    let box = table.parentElement;
    while (box !== article && !/auto|scroll/.test(getComputedStyle(box).overflowX))
      box = box.parentElement;
    if (box !== article && box.getBoundingClientRect().right <= right) {
      if (width > box.clientWidth + 1) scrolling.push(box.scrollWidth);
    } else if (table.getBoundingClientRect().right > right)
      hidden.push(`table ${width}px: ${table.innerText.slice(0, 60)}`);
  }
  return {hidden, scrolling}; }"""


def test_printed_lines_wrap_and_wide_tables_scroll_in_their_own_box(built, visit):
    seen = visit(page_url(built.site, "index.html"))
    seen.page.set_viewport_size({"width": 1300, "height": 900})  # a laptop: three columns
    scrolling = []
    for lesson in LESSONS:
        seen.page.goto(page_url(built.site, chapter(lesson)))
        found = seen.page.evaluate(HIDDEN_OUTPUT_JS)
        assert found["hidden"] == [], f"{lesson.name}: {found['hidden']}"
        scrolling += found["scrolling"]
    assert scrolling, "no table is wider than its column: the scrolling is not tested"  # 04's


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


# --- small books: what --out may hold, and what a failed build leaves ------------------------


def tiny_chapter(path: Path, words: str = "the first edition") -> Path:
    """A one-cell chapter with a stored output, quick to build: its H1 names its stem."""
    notebook = nbformat.v4.new_notebook(metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"},
        "language_info": {"name": "python"},
    })  # fmt: skip
    notebook.cells = [
        nbformat.v4.new_markdown_cell(f"# {path.stem}\n\nA small chapter: {words}."),
        nbformat.v4.new_code_cell("print(6 * 7)", execution_count=1, outputs=[
            nbformat.v4.new_output("stream", name="stdout", text="42\n")
        ]),
    ]  # fmt: skip
    nbformat.write(notebook, path)
    return path


def tiny_run(folder: Path) -> Path:
    """A run folder: two small chapters and a report, each with a link to nowhere (a warning)."""
    folder.mkdir()
    tiny_chapter(folder / "01_first.ipynb")
    second = nbformat.read(tiny_chapter(folder / "02_second.ipynb"), as_version=4)
    second.cells.insert(1, nbformat.v4.new_markdown_cell("More.\n\nSee [a plan](nosuch)."))
    nbformat.write(second, folder / "02_second.ipynb")  # a warning in its cell 2, line 3
    (folder / "report.md").write_text("# The report\n\nSee [the plan](nosuch).\n")
    return folder


def files_of(folder: Path) -> dict[str, bytes]:
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*")) if path.is_file()
    }  # fmt: skip


@pytest.fixture(scope="module")
def small_book(tmp_path_factory):
    """A book of :func:`tiny_run`, built in this process: its run folder, site and warnings."""
    run = tiny_run(tmp_path_factory.mktemp("small") / "run")
    warnings = io.StringIO()
    book.build_book(run, run.parent / "site", warnings=warnings)
    return run, run.parent / "site", warnings.getvalue()


@pytest.fixture
def earlier_book(small_book, tmp_path):
    """A copy of :func:`small_book`'s run folder and site, for a test to build over."""
    run, site, _ = small_book
    shutil.copytree(run, tmp_path / "run")
    shutil.copytree(site, tmp_path / "site", symlinks=True)
    return tmp_path / "run", tmp_path / "site"


@pytest.mark.slow
def test_warnings_name_the_users_files_not_the_temporary_copies(small_book):
    run, site, warnings = small_book
    assert f"{run / 'report.md'}:3" in warnings and "nosuch" in warnings, warnings
    assert "kdtutor-book-" not in warnings and tempfile.gettempdir() not in warnings.replace(
        str(run.parent), ""
    ), warnings  # fmt: skip
    assert sorted(path.name for path in run.parent.iterdir()) == ["run", "site"]


@pytest.mark.slow
def test_a_folder_is_replaced_only_when_it_holds_an_earlier_book_and_nothing_else(
    earlier_book, capsys
):
    run, site = earlier_book
    marker = json.loads((site / ".kdtutor-book.json").read_text())
    assert {"index.html", "01_first.html", "_static"} <= set(marker["entries"])
    (site / "notes.txt").write_text("mine")
    assert cli.main(["book", "--from", str(run), "--out", str(site)]) == 2
    error = capsys.readouterr().err
    assert "files it did not write (notes.txt)" in error and error.count("\n") == 1, error
    assert (site / "notes.txt").read_text() == "mine"

    (site / "notes.txt").unlink()
    (run / "02_second.ipynb").unlink()
    tiny_chapter(run / "01_first.ipynb", "the second edition")
    assert cli.main(["book", "--from", str(run), "--out", str(site)]) == 0, capsys.readouterr()
    assert "the second edition" in text_of(site / "01_first.html")
    assert not (site / "02_second.html").exists()  # replaced whole, not written over
    assert sorted(path.name for path in site.parent.iterdir()) == ["run", "site"]


@pytest.mark.slow
def test_an_interrupted_or_failed_build_leaves_the_earlier_book_as_it_was(
    earlier_book, capsys, monkeypatch
):
    from sphinx.application import Sphinx

    run, site = earlier_book
    before = files_of(site)
    arguments = ["book", "--from", str(run), "--out", str(site)]

    def interrupt(self, *args, **kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patch:
        patch.setattr(Sphinx, "build", interrupt)
        try:
            code = cli.main(arguments)
        except KeyboardInterrupt:
            code = "KeyboardInterrupt escaped"
    assert code == 130
    assert capsys.readouterr().err == f"kdtutor book: interrupted; {site} is unchanged\n"
    assert files_of(site) == before

    staged = book.stage

    def stage_no_chapter(source, target):  # a build whose chapters vanished from its sources
        pages = staged(source, target)
        for copy in [copy for copy in pages if copy.suffix == ".ipynb"]:
            copy.unlink()
            del pages[copy]
        return pages

    monkeypatch.setattr(book, "stage", stage_no_chapter)
    assert cli.main(arguments) == 1
    assert "rendered no page for any chapter" in capsys.readouterr().err
    assert files_of(site) == before
    assert sorted(path.name for path in site.parent.iterdir()) == ["run", "site"]


# --- bad arguments --------------------------------------------------------------------------


def test_bad_arguments_are_refused_with_one_line_and_exit_code_2(tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    a_file = tmp_path / "file.txt"
    a_file.write_text("not a folder")
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("someone's files")
    sphinx_build = tmp_path / "sphinx"  # another project's Sphinx output, with the user's notes
    sphinx_build.mkdir()
    (sphinx_build / ".buildinfo").write_text("# Sphinx build info version 1\n")
    (sphinx_build / "notes.txt").write_text("someone's files")
    run = tmp_path / "run"
    run.mkdir()
    tiny_chapter(run / "01_first.ipynb")
    not_json = tmp_path / "not_json"
    not_json.mkdir()
    (not_json / "01_first.ipynb").write_text("print('a script, not a notebook')\n")
    no_cells = tmp_path / "no_cells"
    no_cells.mkdir()
    (no_cells / "01_first.ipynb").write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}}')
    unnumbered = tmp_path / "unnumbered"
    unnumbered.mkdir()
    tiny_chapter(unnumbered / "First steps.ipynb")
    tiny_chapter(unnumbered / "1_first.ipynb")
    cases = [
        (["--from", str(empty)], "holds no numbered notebooks"),
        (["--from", str(unnumbered)], "1_first.ipynb, 'First steps.ipynb' are not named lower"),
        (["--from", str(tmp_path / "missing")], "is not a folder"),
        (["--from", ""], "--from is empty"),
        (["--out", ""], "--out is empty"),
        (["--from", str(not_json)], "01_first.ipynb is not a notebook (NotJSONError"),
        (["--from", str(no_cells)], "01_first.ipynb is not a notebook (ValidationError"),
        (["--out", str(a_file / "site")], "is a file, not a folder"),
        (["--out", str(a_file)], "exists and is not a folder"),
        (["--out", str(busy)], "holds files and no book of kdtutor book (notes.txt)"),
        (["--out", str(sphinx_build)], "holds files and no book of kdtutor book (.buildinfo"),
        (["--from", str(run), "--out", str(run)], "is or holds the notebooks' folder"),
        (["--from", str(run), "--out", str(tmp_path)], "is or holds the notebooks' folder"),
        (["--out", str(ROOT / "book" / "site")], "the repository's book/"),
        (["--out", str(ROOT / "book")], "the repository's book/"),
        (["--out", str(ROOT / "notebooks" / "site")], "the repository's notebooks/"),
        (["--from", str(run), "--out", str(ROOT)], "the repository's notebooks/"),
    ]
    for arguments, message in cases:
        assert cli.main(["book", *arguments]) == 2, arguments
        captured = capsys.readouterr()
        assert captured.out == ""
        assert captured.err.startswith("kdtutor book: error: ") and message in captured.err, (
            arguments, captured.err,
        )  # fmt: skip
        assert captured.err.count("\n") == 1, captured.err
    assert files_of(busy) == {"notes.txt": b"someone's files"}
    assert set(files_of(sphinx_build)) == {".buildinfo", "notes.txt"}
    assert not (ROOT / "book" / "site").exists() and not (ROOT / "notebooks" / "site").exists()


def test_an_earlier_book_with_nothing_else_in_it_may_be_replaced(tmp_path):
    earlier = tmp_path / "earlier"
    (earlier / "_static").mkdir(parents=True)
    (earlier / "index.html").write_text("<html></html>")
    (earlier / "_static" / "book.css").write_text("")
    written = {"entries": ["_static", "_static/book.css", "index.html"], "by": "kdtutor book"}
    (earlier / ".kdtutor-book.json").write_text(json.dumps(written))
    assert book.check_arguments(None, earlier)[1] == earlier
    (earlier / "_static" / "mine.css").write_text("")  # the user's, among the book's files
    with pytest.raises(notebooks.UsageError, match=r"files it did not write \(_static/mine.css\)"):
        book.check_arguments(None, earlier)


def test_the_committed_notebooks_default_to_book_build_html(monkeypatch, tmp_path):
    """Also when named with --from: the site never goes into the repository's notebooks/."""
    monkeypatch.setattr(book, "DEFAULT_OUT", tmp_path / "html")
    monkeypatch.chdir(ROOT)
    for source in (None, "notebooks", str(ROOT / "notebooks")):
        assert book.check_arguments(source) == (notebooks.NOTEBOOKS_DIR, tmp_path / "html")
    run = tmp_path / "run"
    run.mkdir()
    tiny_chapter(run / "01_first.ipynb")
    assert book.check_arguments(run) == (run, run / "book")


def test_notebooks_not_named_as_chapters_are_named_on_stderr(tmp_path, capsys, monkeypatch):
    run = tmp_path / "run"
    run.mkdir()
    tiny_chapter(run / "01_first.ipynb")
    for name in ("My notes.ipynb", "2_draft.ipynb", "03_Über.ipynb"):
        tiny_chapter(run / name)
    monkeypatch.setattr(book, "build_book", lambda source, out: out / "index.html")
    assert cli.main(["book", "--from", str(run)]) == 0
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and error.startswith("kdtutor book: skipped "), error
    assert all(name in error for name in ("My notes.ipynb", "2_draft.ipynb", "03_Über.ipynb"))
    assert "NN_name.ipynb" in error and "lowercase" in error


# --- what a notebook's content may not do: execute, load from the network, vanish ------------


def build_run(run: Path, capsys) -> tuple[int, str]:
    """``kdtutor book --from run`` in this process: its exit code and its stderr."""
    code = cli.main(["book", "--from", str(run), "--out", str(run.parent / "site")])
    return code, capsys.readouterr().err


@pytest.mark.slow
@pytest.mark.parametrize("key", ["mystnb", "kdtutor-book-no-overrides"])  # conf.py's own too
def test_a_notebooks_own_metadata_cannot_turn_execution_on(tmp_path, capsys, key):
    run = tmp_path / "run"
    run.mkdir()
    chapter_path = tiny_chapter(run / "01_first.ipynb")
    notebook = nbformat.read(chapter_path, as_version=4)
    executed = tmp_path / "executed"
    notebook.metadata[key] = {"execution_mode": "force"}
    notebook.cells[1].source = f"open({str(executed)!r}, 'w').write('ran')"
    nbformat.write(notebook, chapter_path)
    code, error = build_run(run, capsys)
    assert code == 0, error
    assert not executed.exists(), "the build executed the notebook"
    assert (tmp_path / "site" / "01_first.html").is_file()


@pytest.mark.slow
def test_a_page_that_loads_from_the_network_fails_the_build(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    tiny_chapter(run / "01_first.ipynb")
    notebook = nbformat.read(run / "01_first.ipynb", as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(
        "A picture ![x](https://example.org/p.png) and [a link](https://example.org/)."
    ))  # fmt: skip
    nbformat.write(notebook, run / "01_first.ipynb")
    code, error = build_run(run, capsys)
    assert code == 1, error
    assert "01_first.ipynb" in error and "https://example.org/p.png" in error, error
    assert "offline" in error and "https://example.org/\n" not in error, error
    assert not (tmp_path / "site").exists()


def test_a_chapter_without_a_title_is_refused(tmp_path, capsys):
    run = tmp_path / "run"
    run.mkdir()
    tiny_chapter(run / "01_first.ipynb")
    notebook = nbformat.read(tiny_chapter(run / "02_x.ipynb"), as_version=4)
    notebook.cells[0].source = "## Not a title\n\nA chapter whose first heading is no H1."
    nbformat.write(notebook, run / "02_x.ipynb")
    assert cli.main(["book", "--from", str(run)]) == 2
    error = capsys.readouterr().err
    assert "02_x.ipynb has no title: its first Markdown cell must start with '# '" in error, error
    assert error.count("\n") == 1, error
    assert not (run / "book").exists()


def test_a_symlink_loop_is_refused_with_exit_code_2(tmp_path, capsys):
    loop = tmp_path / "loop"
    loop.symlink_to(loop)
    run = tmp_path / "run"
    run.mkdir()
    tiny_chapter(run / "01_first.ipynb")
    for arguments in (["--from", str(loop)], ["--from", str(run), "--out", str(loop)],
                      ["--from", str(run), "--out", str(loop / "site")]):  # fmt: skip
        assert cli.main(["book", *arguments]) == 2, arguments
        error = capsys.readouterr().err
        assert error.startswith("kdtutor book: error: ") and "symbolic link" in error, error
        assert error.count("\n") == 1, error


def test_no_space_left_while_staging_says_so_in_one_sentence(tmp_path, capsys, monkeypatch):
    import errno

    run = tmp_path / "run"
    run.mkdir()
    tiny_chapter(run / "01_first.ipynb")

    def full(source, target, *args, **kwargs):
        raise shutil.Error([(str(source), str(target), "[Errno 28] No space left on device")])

    with monkeypatch.context() as patch:
        patch.setattr(shutil, "copytree", full)
        assert cli.main(["book", "--from", str(run)]) == 1
    error = capsys.readouterr().err
    assert "No space left" in error and "room for both" in error, error
    assert "Traceback" not in error and error.count("\n") == 1, error

    def full_copy(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "copy2", full_copy)
    assert cli.main(["book", "--from", str(run)]) == 1
    error = capsys.readouterr().err
    assert "No space left" in error and error.count("\n") == 1, error
    assert not (run / "book").exists()


@pytest.mark.slow
def test_no_space_left_while_putting_the_book_in_place_leaves_the_earlier_one(
    earlier_book, capsys, monkeypatch
):
    import errno

    run, site = earlier_book
    before = files_of(site)

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(shutil, "move", full)
    assert cli.main(["book", "--from", str(run), "--out", str(site)]) == 1
    error = capsys.readouterr().err
    assert "No space left" in error and "room for both" in error, error
    assert files_of(site) == before
    assert sorted(path.name for path in site.parent.iterdir()) == ["run", "site"]


@pytest.mark.slow
def test_the_book_has_a_local_favicon(small_book):
    _, site, _ = small_book
    icons = re.findall(r'<link rel="icon" href="([^"]+)"', (site / "index.html").read_text())
    assert len(icons) == 1 and not re.match(r"\w+:|//", icons[0]), icons
    assert (site / icons[0]).is_file()


@pytest.mark.slow
def test_warnings_in_a_notebook_name_its_cell_and_line(small_book):
    run, _, warnings = small_book
    assert f"{run / '02_second.ipynb'}, cell 2, line 3: WARNING" in warnings, warnings


@pytest.mark.slow
def test_a_title_hidden_in_a_comment_is_no_title(tmp_path, capsys):
    """'# ' at a line's start inside an HTML comment passes the up-front check; the page
    would still have no title in the navigation, so the build fails and names it."""
    run = tmp_path / "run"
    run.mkdir()
    tiny_chapter(run / "01_first.ipynb")
    notebook = nbformat.read(run / "01_first.ipynb", as_version=4)
    notebook.cells[0].source = "<!--\n# draft\n-->\n\nSome text."
    nbformat.write(notebook, run / "01_first.ipynb")
    code, error = build_run(run, capsys)
    assert code == 1, error
    assert "01_first.ipynb" in error and "no title" in error, error
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize(
    "html, loads",
    [
        ('<script>var p={"vega":"https://cdn.example.org/v.js"}; s.src=p.vega;</script>', 1),
        ('<script>fetch("https://api.example.org/q")</script>', 1),
        ('<video poster="https://example.org/p.png"></video>', 1),
        ('<input type="image" src="//example.org/i.png">', 1),
        ('<svg><image href="https://example.org/i.png"/></svg>', 1),
        ("<p style=\"background: image-set('https://example.org/a.png' 1x)\"></p>", 1),
        ('<script>document.createElementNS("http://www.w3.org/2000/svg", "g")</script>', 0),
        ('<a href="https://example.org/">a link</a>', 0),
        ('<pre>&lt;img src="https://example.org/x.png"&gt;</pre>', 0),  # shown, not loaded
        ('<img src="data:image/png;base64,AAAA">', 0),
        ('<script type="application/json">{"home": "https://example.org/docs"}</script>', 0),
        ('<iframe srcdoc="&lt;script src=&quot;https://cdn.example.org/m.js&quot;&gt;'
         '&lt;/script&gt;"></iframe>', 1),  # fmt: skip  (how folium shows a map)
        ('<svg><script href="https://example.org/a.js"></script></svg>', 1),
        ('<table background="https://example.org/b.png"></table>', 1),
        ('<base href="https://example.org/">', 1),  # every relative load becomes remote
        ('<meta http-equiv="refresh" content="0;url=https://example.org/x">', 1),
        ('<svg><feImage href="https://example.org/i.png"/></svg>', 1),
        ('<script type="text/ecmascript">var u = "https://example.org/a.js"</script>', 1),
        ('<script type="application/ld+json">{"url": "https://example.org/"}</script>', 0),
    ],
)
def test_the_build_s_scan_finds_what_a_page_loads_from_outside(html, loads):
    from kdtutor.series.book_site import RemoteLoads

    scan = RemoteLoads()
    scan.feed(html)
    assert len(scan.urls) == loads, scan.urls


def test_a_file_sphinx_could_not_write_is_remembered():
    """Sphinx logs a page or static file it could not write and goes on with status 0; the
    warning stream keeps those lines so that the build fails instead."""
    import io

    from kdtutor.series.book_site import OriginalPaths

    stream = OriginalPaths(io.StringIO(), {})
    stream.write("WARNING: a reference target not found: x\n")
    assert stream.unwritten == []
    stream.write("/tmp/error writing file/01_a.ipynb:3: WARNING: image file not readable\n")
    assert stream.unwritten == []  # the words in a folder's name are not Sphinx's message
    stream.write("WARNING: error writing file /tmp/s/01.html: [Errno 28] No space left\n")
    assert len(stream.unwritten) == 1 and "No space left" in stream.unwritten[0]


@pytest.mark.slow
def test_only_the_api_page_may_import_python_code(tmp_path, capsys):
    """autodoc's directives import a module while the book is built: a run's report (or a
    notebook) using one is refused, naming the page and the directive."""
    run = tmp_path / "run"
    run.mkdir()
    tiny_chapter(run / "01_first.ipynb")
    (run / "report.md").write_text("# Report\n\n```{automodule} this\n```\n")
    code, error = build_run(run, capsys)
    assert code == 1, error
    assert "report" in error and "automodule" in error and "API page" in error, error
    assert "The Zen of Python" not in capsys.readouterr().out
    assert not (tmp_path / "site").exists()


@pytest.mark.slow
def test_a_page_can_neither_insert_local_files_nor_call_autodoc_by_another_name(
    tmp_path, capsys
):
    """docutils' file insertion is off (include, literalinclude, raw :file:/:url:): a local
    file never reaches the site. autodoc's directives refuse to run outside the API page
    whatever case a page writes them in."""
    secret = tmp_path / "secret.txt"
    secret.write_text("a line that must not reach the site\n")
    run = tmp_path / "run"
    run.mkdir()
    tiny_chapter(run / "01_first.ipynb")
    notebook = nbformat.read(run / "01_first.ipynb", as_version=4)
    notebook.cells.insert(1, nbformat.v4.new_markdown_cell(
        f"```{{eval-rst}}\n.. literalinclude:: {secret}\n\n.. raw:: html\n   :file: {secret}\n```"
    ))  # fmt: skip
    nbformat.write(notebook, run / "01_first.ipynb")
    code, error = build_run(run, capsys)
    assert code == 0, error
    site = tmp_path / "site"
    assert not [p for p in site.rglob("*") if p.is_file() and b"must not reach" in p.read_bytes()]

    notebook.cells[1].source = "```{eval-rst}\n.. AutoModule:: this\n```"
    nbformat.write(notebook, run / "01_first.ipynb")
    code, error = build_run(run, capsys)
    assert code == 1 and "AutoModule" in error and "API page" in error, error
