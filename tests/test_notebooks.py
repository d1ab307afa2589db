"""Execute the notebooks once, with papermill and small injected parameters, and check them.

Each lesson notebook (01-05, in order, sharing the teacher through the artifact cache) and
then each solutions notebook is executed once per test session (the ``series`` fixture).
The tests read that execution: the numbers each notebook records, the outputs of the cells
marked ``# NBVAL_CHECK_OUTPUT`` against the committed outputs (their values do not depend
on the small parameters; timings and addresses are sanitized with the patterns of
``tests/nbval_sanitize.cfg``), and the solutions' own ``assert``s of the exercise checks.
``pytest --nbval-lax notebooks/`` still re-executes the committed notebooks with their
quick-profile parameters, outside the default run.
"""

import configparser
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path

import nbformat
import papermill
import pytest

from kdtutor.series import profiles, results

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
SOLUTIONS = NOTEBOOKS / "solutions"
SANITIZE = Path(__file__).resolve().parent / "nbval_sanitize.cfg"
pytestmark = pytest.mark.notebooks
TINY = {  # a few epochs: these runs check the plumbing, not the size of the effects
    "01_teacher_training": {"TEACHER_EPOCHS": 1},
    "02_soft_targets_and_temperature": {"TEACHER_EPOCHS": 1},
    "03_distilling_the_student": {
        "TEACHER_EPOCHS": 1,
        "STUDENT_EPOCHS": 2,
        "SEEDS": 2,
        "SWEEP_TEACHER_EPOCHS": 1,
        "SWEEP_TEMPERATURES": [1.0, 4.0],
        "SWEEP_ALPHAS": [0.5],
        "SWEEP_EPOCHS": [1, 2],
        "SWEEP_SEEDS": 2,
        "COMPARE_EPOCHS": 2,
    },
    "04_compression_tradeoffs": {
        "TEACHER_EPOCHS": 1,
        "STUDENT_EPOCHS": 2,  # as in 03, so that 04 reuses 03's students from the cache
        "PRUNE_EPOCHS": 3,  # the profile's: a checked output prints the pruning schedule
        "TINY_EPOCHS": 1,
        "CALIBRATION_SAMPLES": 20,
        "LATENCY_WARMUP": 1,
        "LATENCY_RUNS": 5,
        "LATENCY_ROUNDS": 1,
    },
    "05_when_distillation_helps": {
        "TEACHER_EPOCHS": 1,
        "LABEL_FRACTIONS": [0.01, 1.0],  # smallest as the profile's: a checked output says it
        "LABEL_FRACTION_SEEDS": 2,  # at least 2: the rule needs two seeds
        "EARLY_STOPPING_EVAL_STEPS": 10,
        "EARLY_STOPPING_PATIENCE": 1,
        "EARLY_STOPPING_MAX_STEPS": 20,
        "TREE_MAX_DEPTH": 3,
    },
}


def run(stem, tmp_path, artifacts, *, folder=NOTEBOOKS, **extra):
    parameters = {
        **TINY[stem],
        **extra,
        "RESULTS_DIR": str(tmp_path / "results"),
        "ARTIFACTS_DIR": str(artifacts),
    }
    output = tmp_path / folder.name / f"{stem}.ipynb"
    output.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(
        str(folder / f"{stem}.ipynb"),
        str(output),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(folder),
        progress_bar=False,
    )
    return results.load(tmp_path / "results")


@pytest.fixture(scope="module")
def series(tmp_path_factory):
    """The lessons run once in order (each records its numbers), then the solutions."""
    folder = tmp_path_factory.mktemp("series")
    artifacts, recorded, cached = folder / "artifacts", {}, {}
    for stem in TINY:
        recorded[stem] = run(stem, folder, artifacts)[stem]
        cached[stem] = sorted(path.name for path in artifacts.glob("*.keras"))
    for stem in TINY:
        run(stem, folder / "solutions_run", artifacts, folder=SOLUTIONS)
    return {"folder": folder, "recorded": recorded, "cached": cached}


def test_the_series_runs_in_order_and_shares_the_teacher(series):
    recorded, cached = series["recorded"], series["cached"]
    first = recorded["01_teacher_training"]
    assert first["teacher_params"] == 225_034
    assert 0.2 < first["teacher_accuracy"] <= 1.0  # one epoch: better than chance (0.1)
    assert [name.startswith("teacher_") for name in cached["01_teacher_training"]] == [True]

    second = recorded["02_soft_targets_and_temperature"]
    assert second["teacher_source"] == "cache"
    assert second["teacher_accuracy"] == pytest.approx(first["teacher_accuracy"], abs=1e-6)
    assert second["loss_by_hand_abs_error"] < 1e-5
    assert second["gradient_slope_without_t2"] == pytest.approx(-2.0, abs=0.1)
    assert second["gradient_slope_with_t2"] == pytest.approx(0.0, abs=0.1)
    by_temperature = sorted((float(t), h) for t, h in second["entropy_bits"].items())
    entropies = [h for _, h in by_temperature]
    assert entropies == sorted(entropies) and entropies[-1] <= 3.33

    third = recorded["03_distilling_the_student"]
    assert third["teacher_source"] == "cache"
    assert len(third["student_scratch_accuracy"]) == len(third["student_kd_accuracy"]) == 2
    assert all(0.1 < a <= 1 for a in third["student_kd_accuracy"])
    assert third["keras_distiller_loss_difference"] < 1e-3
    quick = profiles.PROFILES["quick"]
    assert (third["temperature"], third["alpha"]) == (quick["temperature"], quick["alpha"])
    assert len(third["sweep"]) == 4  # 2 temperatures x 1 alpha x 2 training lengths
    assert third["student_images"] == quick["student_images"]
    assert third["kd_verdict"] in ("a real gain", "a real loss", "within the noise")
    assert sum(name.startswith("student_kd_") for name in cached["03_distilling_the_student"]) == 1

    fourth = recorded["04_compression_tradeoffs"]
    assert fourth["teacher_source"] == "cache"
    assert fourth["student_sources"] == {"scratch": "cache", "kd": "cache"}
    rows = {row["model"]: row for row in fourth["tradeoffs"]}
    assert {
        "teacher_float",
        "teacher_dynamic",
        "teacher_int8",
        "teacher_pruned",
        "teacher_pruned_int8",
        "student_scratch_float",
        "student_kd_float",
        "student_kd_int8",
    } <= set(rows)
    assert rows["teacher_float"]["params"] == 225_034
    assert rows["teacher_pruned"]["sparsity"] >= 0.79
    # zeros do not shrink a file, only its compressed size
    assert rows["teacher_pruned"]["file_bytes"] == rows["teacher_float"]["file_bytes"]
    assert rows["teacher_pruned"]["gzip_bytes"] < rows["teacher_float"]["gzip_bytes"] / 2
    assert rows["teacher_int8"]["file_bytes"] < rows["teacher_float"]["file_bytes"] / 3.5
    assert all(row["latency_ms"] > 0 and 0 <= row["accuracy"] <= 1 for row in rows.values())

    fifth = recorded["05_when_distillation_helps"]
    assert fifth["teacher_source"] == "cache"
    assert fifth["label_fractions"] == [0.01, 1.0] and fifth["labelled_images"] == [40, 3600]
    assert [len(seeds) for seeds in fifth["fraction_kd_accuracy"]] == [2, 2]
    assert {"scratch", "distilled", "augmentation", "label smoothing"} <= set(fifth["baselines"])
    assert fifth["omitted_digit"] == 3 and fifth["omitted_test_images"] == 100
    assert fifth["feature_loss_difference"] < 1e-3  # Keras' FeatureDistillation = ours
    assert set(results.load(series["folder"] / "results")) == set(TINY)


def _sanitized(cell) -> list:
    """A cell's outputs as nbval compares them: text only, with the configured patterns."""
    config = configparser.ConfigParser()
    config.read(SANITIZE)
    patterns = [(re.compile(config[s]["regex"]), config[s]["replace"]) for s in config.sections()]
    texts = []
    for output in cell.get("outputs", []):
        if output["output_type"] == "stream":
            text = output["text"]
        elif output["output_type"] in ("execute_result", "display_data"):
            text = output["data"].get("text/plain", "")
        else:
            text = output.get("ename", "")
        for pattern, replacement in patterns:
            text = pattern.sub(replacement, text)
        texts.append((output["output_type"], text))
    return texts


@pytest.mark.parametrize("stem", list(TINY))
def test_checked_outputs_match_the_committed_notebook(series, stem):
    committed = nbformat.read(NOTEBOOKS / f"{stem}.ipynb", as_version=4)
    executed = nbformat.read(series["folder"] / "notebooks" / f"{stem}.ipynb", as_version=4)
    executed_cells = [
        cell for cell in executed.cells
        if "injected-parameters" not in cell.metadata.get("tags", [])
    ]  # fmt: skip
    assert [c.source for c in committed.cells] == [c.source for c in executed_cells]
    checked = [
        (index, cell, executed_cells[index])
        for index, cell in enumerate(committed.cells)
        if cell.cell_type == "code" and "NBVAL_CHECK_OUTPUT" in cell.source
    ]
    assert checked, f"{stem} has no cell marked # NBVAL_CHECK_OUTPUT"
    for index, before, after in checked:
        assert _sanitized(after) == _sanitized(before), f"{stem}, cell {index}"


def test_every_solution_passes_its_checks(series):
    # Each solution asserts its exercise's check, so a wrong one would have failed the run;
    # and each check said so in words.
    for stem in TINY:
        path = series["folder"] / "solutions_run" / "solutions" / f"{stem}.ipynb"
        checks = [
            cell for cell in nbformat.read(path, as_version=4).cells
            if cell.cell_type == "code" and "assert exercises.check_" in cell.source
        ]  # fmt: skip
        assert len(checks) >= 2, f"solutions/{stem}: {len(checks)} checked exercises"
        for cell in checks:
            printed = "".join(output.get("text", "") for output in cell.get("outputs", []))
            assert "Correct" in printed, f"solutions/{stem}: {cell.source[:60]!r}"


def test_a_notebook_runs_on_its_own_without_the_cache(tmp_path):
    recorded = run("02_soft_targets_and_temperature", tmp_path, tmp_path / "empty_cache")
    assert recorded["02_soft_targets_and_temperature"]["teacher_source"] == "trained"


def test_a_bad_parameter_fails_with_a_clear_error(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="Unknown PROFILE 'fast'"):
        run("01_teacher_training", tmp_path, tmp_path / "cache", PROFILE="fast")
