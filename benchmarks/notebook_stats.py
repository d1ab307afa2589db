"""Print each notebook's size as a reader meets it: code lines, longest code cell, prose words.

Run from the repository root: ``python benchmarks/notebook_stats.py [NOTEBOOK ...]``
(default: every ``notebooks/NN_*.ipynb``). Code lines are the non-blank lines of code
cells; words are the whitespace-separated words of markdown cells. The limits the series
keeps are checked in ``tests/test_notebook_style.py``, which uses these same counts.
"""

from __future__ import annotations

import sys
from pathlib import Path

import nbformat

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"


def stats(path) -> dict:
    """Return ``{"code_lines", "longest_cell", "code_cells", "words"}`` for one notebook."""
    nb = nbformat.read(str(path), as_version=4)
    code = [cell for cell in nb.cells if cell.cell_type == "code"]
    lines = [sum(1 for line in cell.source.splitlines() if line.strip()) for cell in code]
    words = sum(len(cell.source.split()) for cell in nb.cells if cell.cell_type == "markdown")
    return {
        "code_lines": sum(lines),
        "longest_cell": max(lines, default=0),
        "code_cells": len(code),
        "words": words,
    }


def main(paths) -> None:
    paths = [Path(p) for p in paths] or sorted(NOTEBOOKS.glob("[0-9][0-9]_*.ipynb"))
    print(f"{'notebook':<36} {'code lines':>10} {'longest cell':>12} {'cells':>6} {'words':>6}")
    for path in paths:
        s = stats(path)
        print(
            f"{path.stem:<36} {s['code_lines']:>10} {s['longest_cell']:>12} "
            f"{s['code_cells']:>6} {s['words']:>6}"
        )


if __name__ == "__main__":
    main(sys.argv[1:])
