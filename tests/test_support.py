"""Profiles, the results file, the teacher cache and the plots used by the notebooks."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json

import numpy as np
import pandas as pd
import pytest

from kdtutor import plots, training
from kdtutor.data import Dataset
from kdtutor.series import artifacts, profiles, results


# -- profiles -----------------------------------------------------------------------------------
def test_profiles_resolve_overrides_and_refuse_typos():
    quick = profiles.resolve("quick")
    assert quick["dataset"] == "mnist-5k" and quick["profile"] == "quick"
    assert profiles.resolve("quick", student_epochs=3, dataset=None)["student_epochs"] == 3
    assert profiles.resolve("full")["dataset"] == "fashion_mnist"
    with pytest.raises(ValueError, match="valid profiles: quick, full"):
        profiles.resolve("fast")
    with pytest.raises(ValueError, match="epoch"):
        profiles.resolve("quick", epoch=3)
    assert profiles.describe({"a": 1, "long_name": "x"}) == "a         = 1\nlong_name = 'x'"


# -- results ------------------------------------------------------------------------------------
def test_record_merges_converts_and_keeps_other_notebooks(tmp_path):
    results.record(tmp_path, "01_teacher_training", {"teacher_accuracy": np.float32(0.5)})
    results.record(tmp_path, "03_distilling_the_student", {"acc": np.array([0.25, 0.75])})
    results.record(tmp_path, "01_teacher_training", {"teacher_params": np.int64(7)})
    on_disk = json.loads((tmp_path / "results.json").read_text())
    assert on_disk == {
        "01_teacher_training": {"teacher_accuracy": 0.5, "teacher_params": 7},
        "03_distilling_the_student": {"acc": [0.25, 0.75]},
    }
    assert results.load(tmp_path) == on_disk
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary files left


def test_record_refuses_bad_input_without_touching_the_file(tmp_path):
    results.record(tmp_path, "01_teacher_training", {"x": 1})
    before = (tmp_path / "results.json").read_text()
    with pytest.raises(ValueError, match="finite"):
        results.record(tmp_path, "01_teacher_training", {"x": float("nan")})
    with pytest.raises(ValueError, match="notebook stem"):
        results.record(tmp_path, "teacher", {"x": 1})
    with pytest.raises(TypeError, match="object"):
        results.record(tmp_path, "01_teacher_training", {"x": object()})
    assert (tmp_path / "results.json").read_text() == before
    (tmp_path / "results.json").write_text("{not json")
    with pytest.raises(ValueError, match="not valid JSON"):
        results.load(tmp_path)


# -- the teacher cache ----------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny_data():
    rng = np.random.default_rng(0)
    images = rng.random((40, 28, 28, 1), dtype=np.float32)
    labels = np.arange(40, dtype=np.int64) % 10
    return Dataset(
        images, labels, images[:10], labels[:10], "tiny", "test data", tuple("0123456789")
    )


def test_teacher_is_trained_once_then_loaded_from_the_cache(tiny_data, tmp_path):
    settings = dict(cache_dir=tmp_path, architecture="cnn", epochs=1, batch_size=20, seed=3)
    first, info = artifacts.load_or_train_teacher(tiny_data, **settings)
    assert info["source"] == "trained" and os.path.exists(info["path"])
    second, info2 = artifacts.load_or_train_teacher(tiny_data, **settings)
    assert info2["source"] == "cache" and info2["path"] == info["path"]
    np.testing.assert_array_equal(
        first.predict(tiny_data.x_test, verbose=0), second.predict(tiny_data.x_test, verbose=0)
    )
    # Other settings, other file: a cached teacher is never reused for a different recipe.
    _, info3 = artifacts.load_or_train_teacher(tiny_data, **{**settings, "seed": 4})
    assert info3["source"] == "trained" and info3["path"] != info["path"]


def test_unreadable_cache_file_is_retrained_and_reported(tiny_data, tmp_path):
    settings = dict(cache_dir=tmp_path, architecture="cnn", epochs=1, batch_size=20, seed=0)
    path = artifacts.teacher_cache_path(
        tmp_path,
        dataset="tiny",
        architecture="cnn",
        epochs=1,
        batch_size=20,
        learning_rate=1e-3,
        seed=0,
    )
    path.write_bytes(b"not a keras file")
    _, info = artifacts.load_or_train_teacher(tiny_data, **settings)
    assert info["source"] == "trained" and "could not load" in info["note"]
    assert artifacts.load_or_train_teacher(tiny_data, **settings)[1]["source"] == "cache"


def test_a_failed_save_leaves_the_cache_as_it_was(tmp_path, monkeypatch):
    import keras

    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)])
    path = tmp_path / "teacher.keras"
    artifacts.save_teacher(model, path, {"seconds": 1.0})
    before = {item.name: item.read_bytes() for item in tmp_path.iterdir()}

    def half_a_save(filepath, *args, **kwargs):
        with open(filepath, "wb") as stream:  # part of a model, then the disk is full
            stream.write(b"PK half a model")
        raise OSError("simulated: no space left on device")

    monkeypatch.setattr(model, "save", half_a_save)
    with pytest.raises(OSError, match="no space left"):
        artifacts.save_teacher(model, path, {"seconds": 2.0})
    # Neither the temporary file (.tmp-*.keras) nor a changed model or metadata is left.
    assert {item.name: item.read_bytes() for item in tmp_path.iterdir()} == before
    with pytest.raises(OSError):
        artifacts.save_teacher(model, tmp_path / "new" / "teacher.keras")
    assert list((tmp_path / "new").iterdir()) == []


def test_student_cache_path_changes_with_the_recipe(tmp_path):
    quick = profiles.resolve("quick")
    kd = artifacts.student_cache_path(tmp_path, "kd", quick)
    assert kd.parent == tmp_path and kd.name.startswith("student_kd_mnist-5k_128_e")
    assert kd == artifacts.student_cache_path(tmp_path, "kd", dict(quick))
    hotter = {**quick, "temperature": quick["temperature"] * 2}
    assert artifacts.student_cache_path(tmp_path, "kd", hotter) != kd
    # a scratch student does not depend on the temperature
    assert artifacts.student_cache_path(tmp_path, "scratch", hotter) == (
        artifacts.student_cache_path(tmp_path, "scratch", quick)
    )
    assert artifacts.student_cache_path(tmp_path, "kd", quick, seed=1) != kd
    with pytest.raises(ValueError, match="'scratch' or 'kd'"):
        artifacts.student_cache_path(tmp_path, "teacher", quick)


def test_unknown_architecture_is_refused(tiny_data, tmp_path):
    with pytest.raises(ValueError, match="valid: cnn, hinton"):
        artifacts.load_or_train_teacher(tiny_data, cache_dir=tmp_path, architecture="resnet")


def test_scratch_and_distilled_students_start_from_the_same_weights(tiny_data):
    common = dict(hidden_units=(8,), epochs=0, seed=5)
    scratch, _ = training.train_scratch_student(tiny_data.x_train, tiny_data.y_train, **common)
    teacher = training.build_teacher("cnn", seed=0)
    distiller, _ = training.train_distilled_student(
        tiny_data.x_train, tiny_data.y_train, teacher, **common
    )
    for a, b in zip(scratch.get_weights(), distiller.student.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_correct_at_epochs_records_what_predict_says_after_those_epochs(tiny_data):
    # Independent check: after the last recorded epoch, the record equals predict's answer.
    record = training.CorrectAtEpochs(tiny_data.x_test, tiny_data.y_test, [1, 3])
    student, _ = training.train_scratch_student(
        tiny_data.x_train, tiny_data.y_train, hidden_units=(8,), epochs=3, callbacks=[record]
    )
    assert sorted(record.right) == [1, 3]
    predicted = student.predict(tiny_data.x_test, verbose=0).argmax(axis=1)
    np.testing.assert_array_equal(record.right[3], predicted == tiny_data.y_test)
    assert record.right[1].shape == tiny_data.y_test.shape and record.right[1].dtype == bool


# -- plots ----------------------------------------------------------------------------------------
def test_confusion_matrix_counts_every_prediction_once():
    y_true = np.array([0, 0, 1, 2, 2, 2])
    y_pred = np.array([0, 1, 1, 2, 0, 2])
    fig = plots.confusion_matrix(y_true, y_pred, ["a", "b", "c"])
    cells = [int(text.get_text()) for text in fig.axes[0].texts]
    assert cells == [1, 1, 0, 0, 1, 0, 1, 0, 2]  # row = true, column = predicted
    assert "66.67%" in fig.axes[0].get_title()


def test_plots_draw_the_given_data(tiny_data):
    history = {"loss": [2.0, 1.0], "val_loss": [2.5, 1.5]}
    fig = plots.training_curves(history)
    lines = fig.axes[0].get_lines()
    assert [list(line.get_ydata()) for line in lines] == [[2.0, 1.0], [2.5, 1.5]]
    fig = plots.soft_targets(
        {1: np.eye(10)[3], 4: np.full(10, 0.1)},
        tiny_data.class_names,
        image=tiny_data.x_test[0],
        highlight=3,
    )
    assert len(fig.axes) == 3
    sweep = pd.DataFrame(
        {
            "temperature": [1, 1, 4, 4],
            "alpha": [0.1, 0.5, 0.1, 0.5],
            "accuracy": [0.9, 0.91, 0.93, 0.92],
        }
    )
    texts = [t.get_text() for t in plots.sweep_heatmap(sweep).axes[0].texts]
    assert texts == ["90.0", "93.0", "91.0", "92.0"]
    fig = plots.accuracy_per_seed([0, 1], {"a": [0.9, 0.8]}, reference=0.95)
    assert "mean 85.00%" in fig.axes[0].get_legend().get_texts()[0].get_text()


def test_profiles_have_the_same_settings():
    # A key that only one profile has would make the other fail in a notebook's resolve().
    quick, full = (set(profiles.PROFILES[name]) for name in ("quick", "full"))
    assert quick == full, f"only in quick: {quick - full}, only in full: {full - quick}"
    for name in ("quick", "full"):
        settings = profiles.resolve(name)
        assert 0 < settings["prune_sparsity"] < 1
        assert settings["latency_threads"] >= 1 and settings["latency_rounds"] >= 1


def brute_force_front(cost, value):
    """Indices not dominated by any other point, by checking every pair."""
    front = []
    for i in range(len(cost)):
        dominated = any(
            cost[j] <= cost[i]
            and value[j] >= value[i]
            and (cost[j], value[j]) != (cost[i], value[i])
            for j in range(len(cost))
        )
        if not dominated:
            front.append(i)
    return front


def test_pareto_front_matches_a_brute_force_check():
    #           a    b    c    d    e    f (a copy of c)
    cost = [10.0, 5.0, 2.0, 5.0, 1.0, 2.0]
    value = [0.9, 0.8, 0.7, 0.6, 0.5, 0.7]
    # d loses to b (same cost, less value); c and f tie, so both stay; cheapest first.
    assert plots.pareto_front(cost, value) == [4, 2, 5, 1, 0]
    rng = np.random.default_rng(0)
    for _ in range(50):
        cost = rng.integers(1, 6, size=12).astype(float)  # small ranges: many ties
        value = rng.integers(1, 6, size=12).astype(float)
        front = plots.pareto_front(cost, value)
        assert sorted(front) == brute_force_front(cost, value)
        assert list(cost[front]) == sorted(cost[front])
    with pytest.raises(ValueError, match="same length"):
        plots.pareto_front([1, 2], [1])


def test_tradeoff_plot_draws_every_model_and_the_front():
    table = pd.DataFrame(
        {
            "model": ["teacher_float", "teacher_int8", "student_kd_float", "student_kd_int8"],
            "gzip_kb": [800.0, 200.0, 350.0, 90.0],
            "accuracy": [0.97, 0.97, 0.94, 0.93],
        }
    )
    fig = plots.tradeoff(table, "gzip_kb", log_x=True)
    ax = fig.axes[0]
    points = [collection.get_offsets()[0].tolist() for collection in ax.collections]
    assert points == [[800.0, 97.0], [200.0, 97.0], [350.0, 94.0], [90.0, 93.0]]  # y in %
    # Every point carries its name on the axes (no legend to decode); the figure's key
    # explains markers, filling and the front, and covers no data (it sits below the axes).
    assert ax.get_legend() is None
    assert sorted(text.get_text() for text in ax.texts) == sorted(table["model"])
    (key,) = fig.legends
    assert [text.get_text() for text in key.get_texts()] == [
        "float",
        "int8",
        "filled: on the front",
        "hollow: dominated",
        "Pareto front",
    ]
    # Pareto points filled, the others hollow; a model and its int8 copy share a colour.
    faces = [collection.get_facecolors() for collection in ax.collections]
    assert [len(face) for face in faces] == [0, 1, 0, 1]
    edges = [tuple(collection.get_edgecolors()[0]) for collection in ax.collections]
    assert edges[0] == edges[1] and edges[2] == edges[3] and edges[0] != edges[2]
    (front,) = ax.get_lines()
    assert list(front.get_xdata()) == [90.0, 200.0, 200.0]  # staircase: flat, then up
    assert list(front.get_ydata()) == [93.0, 93.0, 97.0]
    assert ax.get_xscale() == "log" and ax.get_ylabel() == "accuracy (%)"
    latency = plots.tradeoff(table.set_index("model"), "gzip_kb", y="accuracy", xlabel="size")
    assert latency.axes[0].get_xscale() == "linear" and latency.axes[0].get_xlabel() == "size"
