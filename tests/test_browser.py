"""The run's artifacts as a CI reader opens them: each executed notebook's HTML copy and
the report, in a real browser (headless Chromium), with no network.

One real ``kdtutor run --only 02`` on tiny parameters feeds the browser checks of a run
that worked; a three-cell notebook that raises feeds those of a run that failed (whose
copy is the page a CI reader needs most). The browser tests skip without Playwright or a
Chromium (see conftest.py); the checks of the files themselves always run.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import subprocess
import sys

import nbformat
import pytest

# Every test here reads a `kdtutor run` (or drives Chromium): all slow (pytest -m slow).
pytestmark = pytest.mark.slow

STEM = "02_soft_targets_and_temperature"
TINY_02 = ["-p", "TEACHER_EPOCHS=1"]  # plumbing, not accuracy
FAILING = "01_failing_on_purpose"

# Every <img> of the page, and whether the browser decoded it.
IMAGES_JS = """() => [...document.images].map(image => ({
    src: image.src.slice(0, 60), decoded: image.complete && image.naturalWidth > 0}))"""
# The rendered size of each MathML formula: zero when the browser did not lay it out.
MATH_WIDTHS_JS = """() => [...document.querySelectorAll('math')].map(
    formula => formula.getBoundingClientRect().width)"""


def kdtutor(*arguments: str) -> subprocess.CompletedProcess:
    """Run the ``kdtutor`` command line in a fresh process, as CI and a learner do."""
    return subprocess.run(
        [sys.executable, "-m", "kdtutor", *arguments],
        capture_output=True, text=True, check=False, timeout=600,
    )  # fmt: skip


@pytest.fixture(scope="module")
def run_02(tmp_path_factory):
    """The folder of a real ``kdtutor run --only 02`` (tiny parameters, its own model cache)."""
    root = tmp_path_factory.mktemp("run_02")
    out, artifacts = root / "out", root / "artifacts"
    result = kdtutor(
        "run", "--only", "02", *TINY_02, "--out", str(out), "--artifacts", str(artifacts)
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return out


@pytest.fixture(scope="module")
def failed_run(tmp_path_factory):
    """A ``kdtutor run --force`` of a notebook that raises, into a folder holding an earlier
    run's files: ``{"result", "out"}``."""
    root = tmp_path_factory.mktemp("failed_run")
    notebooks, out = root / "notebooks", root / "out"
    notebooks.mkdir()
    out.mkdir()
    cells = [
        nbformat.v4.new_markdown_cell(
            "# 01 · Failing on purpose\n\nInline math $T^2$, and display math:\n\n"
            "$$p_i = \\frac{\\exp(z_i / T)}{\\sum_j \\exp(z_j / T)}$$"
        ),
        nbformat.v4.new_code_cell("SEED: int = 0", metadata={"tags": ["parameters"]}),
        nbformat.v4.new_code_cell('print("the cell before the error ran")'),
        nbformat.v4.new_code_cell("1 / 0"),
    ]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {
        "name": "python3", "display_name": "Python 3", "language": "python",
    }  # fmt: skip
    nbformat.write(notebook, notebooks / f"{FAILING}.ipynb")
    for name in ("07_earlier.ipynb", "07_earlier.html", "notes.html"):
        (out / name).write_text("an earlier run's file")
    result = kdtutor(
        "run", "--notebooks", str(notebooks), "--out", str(out), "--force",
        "--artifacts", str(root / "artifacts"),
    )  # fmt: skip
    return {"result": result, "out": out}


def assert_reads_offline(seen, *, images: int) -> None:
    """Assert that the page of ``seen`` (a conftest ``Visit``) loaded with no console error,
    failed request or network request, and shows at least ``images`` images, all decoded."""
    assert seen.problems() == []
    found = seen.page.evaluate(IMAGES_JS)
    assert len(found) >= images, f"expected at least {images} image(s); found {found}"
    assert [image for image in found if not image["decoded"]] == []


def assert_math_rendered(page, formulas: int) -> None:
    """Assert that ``page`` lays out at least ``formulas`` MathML formulas (none left as TeX)."""
    widths = page.evaluate(MATH_WIDTHS_JS)
    assert len(widths) >= formulas and min(widths) > 0, widths


# --- the files --------------------------------------------------------------------------------


def test_a_failed_notebook_gets_its_html_copy_too(failed_run):
    result, out = failed_run["result"], failed_run["out"]
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"FAILED: notebook {FAILING}" in result.stderr
    page = (out / f"{FAILING}.html").read_text()
    assert "the cell before the error ran" in page and "ZeroDivisionError" in page
    # Standalone: no script (nbconvert's defaults load require.js and MathJax from a CDN),
    # the math as MathML instead of TeX for MathJax.
    assert "<script" not in page and "cdnjs" not in page
    assert page.count("<math") == 2 and "\\frac" not in page and "$$" not in page
    # --force clears an earlier run's notebooks and their copies, and nothing else.
    assert sorted(path.name for path in out.glob("*.html")) == [
        f"{FAILING}.html", "notes.html", "report.html",
    ]  # fmt: skip
    assert not (out / "07_earlier.ipynb").exists()
    markdown = (out / "report.md").read_text()
    assert f"[{FAILING}.ipynb]({FAILING}.ipynb) | [{FAILING}.html]({FAILING}.html) |" in markdown


def test_the_report_links_a_copy_only_where_one_was_written(run_02):
    markdown = (run_02 / "report.md").read_text()
    assert f"| [{STEM}.html]({STEM}.html) |" in markdown
    assert "| 01_teacher_training | Training the teacher | not run | — | — | — | — |" in markdown


# --- in the browser ---------------------------------------------------------------------------
# `browser` comes first in each signature so that, without a browser, the test skips before
# its (slower) run fixture is built.


def test_the_notebook_copy_reads_offline(browser, run_02, visit):
    seen = visit((run_02 / f"{STEM}.html").as_uri())
    assert_reads_offline(seen, images=1)
    assert_math_rendered(seen.page, formulas=3)  # notebook 02's three formulas
    assert seen.page.get_by_text("quick profile, mnist-5k, seed 0").is_visible()  # Setup's line


def test_the_report_reads_offline_and_links_the_notebook_copy(browser, run_02, visit):
    seen = visit((run_02 / "report.html").as_uri())
    assert_reads_offline(seen, images=0)  # --only 02 draws no figure; see the next test
    with seen.page.expect_navigation():
        seen.page.locator(f'a[href="{STEM}.html"]').click()
    assert seen.page.url == (run_02 / f"{STEM}.html").as_uri()
    seen.page.wait_for_load_state("load")
    assert seen.page.locator("h1").first.inner_text().startswith("02 · Soft targets")
    assert_reads_offline(seen, images=1)


def test_the_report_figures_decode(browser, tmp_path, visit):
    from kdtutor.series import report, results

    accuracies = {"student_scratch_accuracy": [0.90, 0.92], "student_kd_accuracy": [0.93, 0.91]}
    results.record(tmp_path, "03_distilling_the_student", {**accuracies, "seeds": [0, 1]})
    page = report.write_report(tmp_path, notebooks=[])[1]
    assert_reads_offline(visit(page.as_uri()), images=1)


def test_the_failed_copy_shows_the_error_offline(browser, failed_run, visit):
    seen = visit((failed_run["out"] / f"{FAILING}.html").as_uri())
    assert_reads_offline(seen, images=0)
    assert_math_rendered(seen.page, formulas=2)
    error = seen.page.locator('[data-mime-type="application/vnd.jupyter.stderr"]')
    assert "ZeroDivisionError" in error.inner_text() and error.is_visible()
