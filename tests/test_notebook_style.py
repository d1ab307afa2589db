"""The shape every notebook of the series keeps, checked on the committed files.

What a learner meets first (title, what they will learn, prerequisites, run and study
time), one `parameters` cell followed by one setup call, short code cells, exercises that
call a check instead of asserting an answer, stored outputs without errors or stderr, and
the size limits the series sets itself (counted by benchmarks/notebook_stats.py).
"""

import importlib.util
import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
SOLUTIONS = ROOT / "notebooks" / "solutions"
MAX_CELL_LINES = 25

# Code lines and prose words per notebook, a little above their size after the notebooks
# were made to state every result in words, teach one rule for "is it real" and train 05's
# students to one criterion (01 and 02 had 914 and 1,296 words before); a notebook that
# grows past them should be cut, not the limit raised again.
LIMITS = {
    "01_teacher_training": {"code_lines": 125, "words": 1000},
    "02_soft_targets_and_temperature": {"code_lines": 200, "words": 1350},
    "03_distilling_the_student": {"code_lines": 300, "words": 2700},
    "04_compression_tradeoffs": {"code_lines": 360, "words": 2150},
    "05_when_distillation_helps": {"code_lines": 390, "words": 2800},
}


def _stats_module():
    spec = importlib.util.spec_from_file_location(
        "notebook_stats", ROOT / "benchmarks" / "notebook_stats.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _read(path):
    return nbformat.read(str(path), as_version=4)


def _lines(cell) -> int:
    # Every line between the first and the last non-blank one: what a reader scrolls past.
    return len(cell.source.strip().splitlines())


@pytest.fixture(params=NOTEBOOKS, ids=lambda path: path.stem)
def notebook(request):
    return request.param, _read(request.param)


def test_the_notebooks_are_numbered_from_01_without_gaps():
    # The order the series is read (and run) in: 01, 02, ... with no number missing or twice.
    numbers = [int(path.stem[:2]) for path in NOTEBOOKS]
    assert numbers == list(range(1, len(NOTEBOOKS) + 1)) and len(numbers) >= 4, numbers


def test_the_top_tells_what_when_and_how_long(notebook):
    path, nb = notebook
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {path.stem[:2]} · ")
    top = "\n".join(cell.source for cell in nb.cells[:3] if cell.cell_type == "markdown")
    for needed in ("You will learn", "Prerequisites", "Run time", "Study time"):
        assert needed.lower() in top.lower(), f"{path.name}: the top does not say {needed!r}"


def test_one_parameters_cell_first_then_one_setup_call(notebook):
    path, nb = notebook
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    tagged = [cell for cell in code if "parameters" in cell.metadata.get("tags", [])]
    assert len(tagged) == 1 and code[0] is tagged[0], f"{path.name}: parameters cell first"
    setup_calls = [cell for cell in code if "setup.start(" in cell.source]
    assert len(setup_calls) == 1 and code[1] is setup_calls[0], f"{path.name}: setup call second"
    assert f'setup.start("{path.stem}"' in setup_calls[0].source


def test_code_cells_are_short(notebook):
    path, nb = notebook
    long = [
        (index, _lines(cell))
        for index, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        and _lines(cell) > MAX_CELL_LINES
        # 03 writes its own distiller on the page: the one long cell of the series.
        and not ("distiller" in cell.metadata.get("tags", []) or "# the distiller" in cell.source)
    ]
    assert not long, f"{path.name}: cells (index, lines) over {MAX_CELL_LINES} lines: {long}"
    distillers = [c for c in nb.cells if "# the distiller" in c.source and c.cell_type == "code"]
    assert all(_lines(cell) <= 40 for cell in distillers)


def test_the_notebook_stays_within_its_size(notebook):
    path, _ = notebook
    stats = _stats_module().stats(path)
    for key, limit in LIMITS.get(path.stem, {}).items():
        assert stats[key] <= limit, f"{path.name}: {key} = {stats[key]} > {limit}"


def test_stored_outputs_are_clean(notebook):
    path, nb = notebook
    assert nb.metadata.kernelspec.name == "python3"
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code":
            continue
        assert cell.execution_count is not None, f"{path.name}: cell {index} was not executed"
        for output in cell.outputs:
            assert output.output_type != "error", f"{path.name}: cell {index} holds an error"
            assert output.get("name") != "stderr", f"{path.name}: cell {index} printed to stderr"
    counts = [c.execution_count for c in nb.cells if c.cell_type == "code"]
    assert counts == sorted(counts), f"{path.name}: not executed top to bottom"


def test_exercises_are_checked_by_kdtutor_not_given_away(notebook):
    path, nb = notebook
    exercise_cells = [
        cell for cell in nb.cells if cell.cell_type == "code" and "exercises.check_" in cell.source
    ]
    assert 2 <= len(exercise_cells) <= 4, f"{path.name}: {len(exercise_cells)} exercises"
    implement = 0
    for cell in exercise_cells:
        assert "assert" not in cell.source, f"{path.name}: an exercise asserts its answer"
        if re.search(r"^answer_\w* = ", cell.source, re.M):
            assert re.search(r"^answer_\w* = None\b", cell.source, re.M), "answers start at None"
        else:  # an implement exercise: every function to write starts empty
            stubs = re.findall(r"^\s+return None  # your code here$", cell.source, re.M)
            defs = re.findall(r"^\s*def \w+\(", cell.source, re.M)
            assert stubs and len(stubs) == len(defs), f"{path.name}: a function is written out"
            implement += 1
    # From 02 on, the learner writes at least one of the lesson's mechanisms.
    assert implement >= (1 if path.stem >= "02" else 0), f"{path.name}: nothing to implement"


def test_every_notebook_has_an_executed_solutions_notebook(notebook):
    path, _ = notebook
    solution = SOLUTIONS / path.name
    assert solution.exists(), f"no reference solutions at {solution}"
    nb = _read(solution)
    checks = [c for c in nb.cells if c.cell_type == "code" and "exercises.check_" in c.source]
    assert checks and all("assert exercises.check_" in c.source for c in checks)
    assert all(c.execution_count is not None for c in nb.cells if c.cell_type == "code")
