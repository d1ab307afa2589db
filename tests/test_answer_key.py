"""The committed answer key (docs/answer_key.md) is what the solutions notebooks give today,
and its generator finds every exercise. JSON and text only: nothing is executed."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from kdtutor.series import answer_key

ROOT = Path(__file__).resolve().parent.parent
KEY = ROOT / "docs" / "answer_key.md"
SOLUTIONS = sorted((ROOT / "notebooks" / "solutions").glob("[0-9][0-9]_*.ipynb"))
# Counted on the raw file, apart from the generator's own parsing: "**1.**", "**Exercise 1.**",
# "**Exercise 1 (implement).**" in the notebook's JSON text.
RAW_LABEL = re.compile(r"\*\*(?:Exercise\s+(\d+)|(\d+)\.\*\*)")


def test_the_committed_answer_key_is_up_to_date():
    fresh = answer_key.render(ROOT / "notebooks", KEY)
    assert KEY.is_file(), f"{KEY} is missing: run `{answer_key.COMMAND}`"
    assert KEY.read_text(encoding="utf-8") == fresh, (
        f"{KEY.relative_to(ROOT)} is stale (the solutions or the lessons' exercises changed): "
        f"run `{answer_key.COMMAND}` and commit the result"
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=[p.stem for p in SOLUTIONS])
def test_the_generator_finds_every_exercise(path):
    raw = path.read_text(encoding="utf-8")
    labelled = [int(a or b) for a, b in RAW_LABEL.findall(raw)]
    assert labelled, f"{path.name}: no exercise labels; is the solutions notebook empty?"
    _, found = answer_key.exercises_of(path)
    assert [exercise["number"] for exercise in found] == labelled
    assert labelled == list(range(1, len(labelled) + 1)), f"{path.name}: numbered {labelled}"
    key = answer_key.render(ROOT / "notebooks", KEY)
    for number in labelled:
        assert f"### {path.stem[:2]} · Exercise {number}" in key
    assert all(any(c["cell_type"] == "code" for c in e["cells"]) for e in found), (
        f"{path.name}: an exercise without solution code"
    )


def test_every_exercise_check_of_a_solution_is_in_the_key():
    key = answer_key.render(ROOT / "notebooks", KEY)
    for path in SOLUTIONS:
        for check in set(re.findall(r"exercises\.(check_\w+)\(", path.read_text(encoding="utf-8"))):
            assert f"`{check}`" in key, f"{check} of {path.name} is missing from the key"


def test_generic_labels_and_printed_outputs(tmp_path):
    """A made-up solutions notebook in the new style: an implement exercise defines a function."""
    cell = {"metadata": {}, "outputs": []}
    nb = {
        "cells": [
            {**cell, "cell_type": "markdown", "source": "# 09 · Made up: solutions"},
            {**cell, "cell_type": "code", "source": "import numpy as np", "execution_count": 1},
            {**cell, "cell_type": "markdown", "source": "**Exercise 1 (implement).** Subtract."},
            {
                **cell,
                "cell_type": "code",
                "execution_count": 2,
                "source": ["def f(x):\n", "    return x - x.max()\n", "print(f(np.ones(2)))"],
                "outputs": [{"output_type": "stream", "name": "stdout", "text": "[0. 0.]\n"}],
            },
            {**cell, "cell_type": "markdown", "source": "Note.\n\n**Exercise 2.** Count: 3."},
            {**cell, "cell_type": "code", "source": "answer_2 = 3", "execution_count": 3},
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (tmp_path / "solutions").mkdir()
    (tmp_path / "solutions" / "09_made_up.ipynb").write_text(json.dumps(nb), encoding="utf-8")
    setup, found = answer_key.exercises_of(tmp_path / "solutions" / "09_made_up.ipynb")
    assert [e["number"] for e in found] == [1, 2] and len(setup) == 1
    key = answer_key.render(tmp_path, tmp_path / "key.md")
    assert "## 09 · Made up\n" in key and "def f(x):" in key and "[0. 0.]" in key
    assert "Subtract." in key and "Count: 3." in key and "**Exercise" not in key
    assert key.index("Note.") < key.index("### 09 · Exercise 2")  # belongs to exercise 1


def test_the_generator_imports_no_tensorflow():
    code = (
        "import sys, kdtutor.series.answer_key as a; a.render(); "
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('tensorflow', 'keras')))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, cwd=ROOT
    )
    assert result.stdout.strip() == "[]"


def test_check_mode_says_how_to_regenerate(tmp_path, capsys):
    stale = tmp_path / "answer_key.md"
    stale.write_text("# old\n", encoding="utf-8")
    assert answer_key.main([str(stale), "--check"]) == 1
    assert answer_key.COMMAND in capsys.readouterr().out
    assert answer_key.main([str(stale)]) == 0
    assert answer_key.main([str(stale), "--check"]) == 0


# --- the instructors' guide that the key belongs to ---------------------------------------------

GUIDE = ROOT / "docs" / "instructors.md"
LESSONS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))


def _headings() -> set[str]:
    found = set()
    for path in LESSONS:
        for cell in json.loads(path.read_text(encoding="utf-8"))["cells"]:
            if cell["cell_type"] == "markdown":
                source = "".join(cell["source"])
                found |= {h.strip() for h in re.findall(r"(?m)^#{1,4} (.+)$", source)}
    return found


def test_the_guide_names_only_sections_that_exist():
    """docs/instructors.md quotes notebook sections as “Heading”, exactly as they read."""
    text = GUIDE.read_text(encoding="utf-8")
    quoted = {" ".join(q.split()) for q in re.findall(r"“([^”]+)”", text)}  # lines re-joined
    assert quoted, "the guide quotes no section"
    missing = sorted(quoted - _headings())
    assert not missing, f"docs/instructors.md names sections no notebook has: {missing}"


def test_the_guide_names_only_checks_that_exist():
    named = set(re.findall(r"\bcheck_\w+", GUIDE.read_text(encoding="utf-8")))
    used = {m for p in LESSONS for m in re.findall(r"\bcheck_\w+", p.read_text(encoding="utf-8"))}
    assert named, "the guide names no check"
    assert not sorted(named - used), f"checks no lesson notebook calls: {sorted(named - used)}"
