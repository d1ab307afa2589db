"""Execute the real notebooks with papermill, with small injected parameters.

The committed outputs are compared separately by nbval (``pytest`` collects the
notebooks with ``--nbval-lax``, see pyproject.toml); these tests check that every
notebook runs with injected parameters, on its own or after the previous ones,
and that it records sensible numbers in the results file.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

from pathlib import Path

import papermill
import pytest

from kdtutor.series import profiles, results

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
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
        "PRUNE_EPOCHS": 1,
        "TINY_EPOCHS": 1,
        "CALIBRATION_SAMPLES": 20,
        "LATENCY_WARMUP": 1,
        "LATENCY_RUNS": 5,
        "LATENCY_ROUNDS": 1,
    },
    "05_when_distillation_helps": {
        "TEACHER_EPOCHS": 1,
        "LABEL_FRACTIONS": [0.1, 1.0],
        "LABEL_FRACTION_SEEDS": 2,  # at least 2: the rule needs two seeds
        "EARLY_STOPPING_EVAL_STEPS": 10,
        "EARLY_STOPPING_PATIENCE": 1,
        "EARLY_STOPPING_MAX_STEPS": 20,
        "TREE_MAX_DEPTH": 3,
    },
}


def run(stem, tmp_path, artifacts, **extra):
    parameters = {
        **TINY[stem],
        **extra,
        "RESULTS_DIR": str(tmp_path / "results"),
        "ARTIFACTS_DIR": str(artifacts),
    }
    papermill.execute_notebook(
        str(NOTEBOOKS / f"{stem}.ipynb"),
        str(tmp_path / f"{stem}.ipynb"),
        parameters=parameters,
        kernel_name="python3",
        cwd=str(NOTEBOOKS),
        progress_bar=False,
    )
    return results.load(tmp_path / "results")


def test_the_series_runs_in_order_and_shares_the_teacher(tmp_path):
    artifacts = tmp_path / "artifacts"
    recorded = run("01_teacher_training", tmp_path, artifacts)
    first = recorded["01_teacher_training"]
    assert first["teacher_params"] == 225_034
    assert 0.2 < first["teacher_accuracy"] <= 1.0  # one epoch: better than chance (0.1)
    assert len(list(artifacts.glob("teacher_*.keras"))) == 1

    second = run("02_soft_targets_and_temperature", tmp_path, artifacts)[
        "02_soft_targets_and_temperature"
    ]
    assert second["teacher_source"] == "cache"
    assert second["teacher_accuracy"] == pytest.approx(first["teacher_accuracy"], abs=1e-6)
    assert second["loss_by_hand_abs_error"] < 1e-5
    assert second["gradient_slope_without_t2"] == pytest.approx(-2.0, abs=0.1)
    assert second["gradient_slope_with_t2"] == pytest.approx(0.0, abs=0.1)
    by_temperature = sorted((float(t), h) for t, h in second["entropy_bits"].items())
    entropies = [h for _, h in by_temperature]
    assert entropies == sorted(entropies) and entropies[-1] <= 3.33

    third = run("03_distilling_the_student", tmp_path, artifacts)["03_distilling_the_student"]
    assert third["teacher_source"] == "cache"
    assert len(third["student_scratch_accuracy"]) == len(third["student_kd_accuracy"]) == 2
    assert all(0.1 < a <= 1 for a in third["student_kd_accuracy"])
    assert third["keras_distiller_loss_difference"] < 1e-3
    quick = profiles.PROFILES["quick"]
    assert (third["temperature"], third["alpha"]) == (quick["temperature"], quick["alpha"])
    assert len(third["sweep"]) == 4  # 2 temperatures x 1 alpha x 2 training lengths
    assert third["student_images"] == quick["student_images"]
    assert third["kd_verdict"] in ("a real gain", "a real loss", "within the noise")
    assert len(list(artifacts.glob("student_kd_*.keras"))) == 1

    fourth = run("04_compression_tradeoffs", tmp_path, artifacts)["04_compression_tradeoffs"]
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

    fifth = run("05_when_distillation_helps", tmp_path, artifacts)["05_when_distillation_helps"]
    assert fifth["teacher_source"] == "cache"
    assert fifth["label_fractions"] == [0.1, 1.0] and fifth["labelled_images"] == [360, 3600]
    assert [len(seeds) for seeds in fifth["fraction_kd_accuracy"]] == [2, 2]
    assert {"scratch", "distilled", "augmentation", "label smoothing"} <= set(fifth["baselines"])
    assert fifth["omitted_digit"] == 3 and fifth["omitted_test_images"] == 100
    assert fifth["feature_loss_difference"] < 1e-3  # Keras' FeatureDistillation = ours
    assert set(results.load(tmp_path / "results")) == set(TINY)


def test_a_notebook_runs_on_its_own_without_the_cache(tmp_path):
    recorded = run("02_soft_targets_and_temperature", tmp_path, tmp_path / "empty_cache")
    assert recorded["02_soft_targets_and_temperature"]["teacher_source"] == "trained"


def test_a_bad_parameter_fails_with_a_clear_error(tmp_path):
    with pytest.raises(papermill.PapermillExecutionError, match="Unknown PROFILE 'fast'"):
        run("01_teacher_training", tmp_path, tmp_path / "cache", PROFILE="fast")
