"""Tests of kdtutor.prune and kdtutor.litert: schedules, callback, LiteRT conversion, sizes.

References are computed independently: the schedules from Zhu & Gupta's formula in NumPy,
the masks from ``np.argsort`` of the weights before pruning, zero counts with
``np.count_nonzero``, int8 (de)quantization by hand through the LiteRT interpreter, and
Keras' own predictions for the converted models.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gzip
import json
import math

import keras
import numpy as np
import pandas as pd
import pytest
from ai_edge_litert.interpreter import Interpreter

import kdtutor
from kdtutor import litert
from kdtutor.litert import (
    file_size,
    gzip_size,
    keras_file_bytes,
    latency_ms,
    tflite_accuracy,
    tflite_predict,
    to_tflite,
)
from kdtutor.prune import (
    MagnitudePruning,
    SparsitySchedule,
    count_nonzero_params,
    magnitude_mask,
    prunable_layers,
    prune_weights,
    sparsity_report,
    strip_pruning,
)


def expected_pruned(sparsity, size):
    return math.floor(sparsity * size + 0.5)


def zeros(array):
    array = np.asarray(array)
    return int(array.size - np.count_nonzero(array))


# -- models and data --------------------------------------------------------------------------
@pytest.fixture(scope="module")
def data():
    return kdtutor.load_dataset("mnist-5k")


def fit_briefly(model, data, callbacks, *, images=512, batch_size=64):
    """One silent epoch on the first `images` training images, with `callbacks`."""
    x, y = data.x_train[:images], data.y_train[:images]
    return model.fit(x, y, epochs=1, batch_size=batch_size, verbose=0, callbacks=callbacks)


def mlp(seed=0, hidden=32):
    """784 -> hidden -> 10 with random (non-zero) biases, so a pruned bias would show."""
    keras.utils.set_random_seed(seed)
    bias = keras.initializers.RandomNormal(stddev=0.1, seed=seed)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden, activation="relu", bias_initializer=bias, name="hidden"),
            keras.layers.Dense(10, bias_initializer=bias, name="logits"),
        ],
        name="mlp",
    )
    compile_model(model)
    return model


def conv_net(seed=0):
    """Conv2D -> BatchNorm -> pool -> Dropout -> Dense: BN and Dropout test inference mode."""
    keras.utils.set_random_seed(seed)
    bias = keras.initializers.RandomNormal(stddev=0.1, seed=seed)
    model = keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(8, 3, activation="relu", bias_initializer=bias, name="conv"),
            keras.layers.BatchNormalization(beta_initializer=bias, name="bn"),
            keras.layers.MaxPooling2D(2),
            keras.layers.Flatten(),
            keras.layers.Dropout(0.3),
            keras.layers.Dense(10, bias_initializer=bias, name="logits"),
        ],
        name="conv_net",
    )
    compile_model(model)
    return model


def compile_model(model, learning_rate=1e-3, **kwargs):
    model.compile(
        keras.optimizers.Adam(learning_rate),
        keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
        **kwargs,
    )


def kernel(model, name):
    return keras.ops.convert_to_numpy(model.get_layer(name).kernel)


@pytest.fixture(scope="module")
def trained_mlp(data):
    # Three epochs on mnist-5k: about 90 % test accuracy, enough for accuracy to mean something.
    model = mlp(seed=1)
    model.fit(data.x_train, data.y_train, epochs=3, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def tflite_models(trained_mlp, data):
    return {
        "float": to_tflite(trained_mlp),
        "dynamic": to_tflite(trained_mlp, quantization="dynamic"),
        "int8": to_tflite(trained_mlp, quantization="int8", representative_data=data.x_train),
    }


# -- schedules ----------------------------------------------------------------------------------
def np_polynomial(steps, s_i, s_f, begin, end, frequency):
    """Zhu & Gupta's s_t, held between updates every `frequency` steps, 0 before `begin`."""
    steps = np.asarray(steps)
    held = begin + np.floor((steps - begin) / frequency) * frequency
    ramp = s_f + (s_i - s_f) * (1.0 - (held - begin) / (end - begin)) ** 3
    return np.where(steps < begin, 0.0, np.where(steps >= end, s_f, ramp))


@pytest.mark.parametrize("frequency", [1, 4, 7])
def test_sparsity_schedule_ramp_matches_the_formula(frequency):
    begin, end, s_i, s_f = 10, 50, 0.2, 0.9
    schedule = SparsitySchedule(
        s_f, initial_sparsity=s_i, begin_step=begin, end_step=end, frequency=frequency
    )
    steps = np.arange(0, 70)
    got = [schedule(int(t)) for t in steps]
    np.testing.assert_allclose(got, np_polynomial(steps, s_i, s_f, begin, end, frequency))
    assert all(isinstance(value, float) for value in got)
    assert got[begin - 1] == 0.0 and got[begin] == pytest.approx(s_i)
    assert got[end] == pytest.approx(s_f) and got[-1] == pytest.approx(s_f)
    assert np.all(np.diff(got[begin:]) >= 0), "the sparsity must never decrease once pruning began"


def test_sparsity_schedule_hand_values_and_update_steps():
    schedule = SparsitySchedule(0.8, end_step=100, frequency=10)
    # Halfway, (1 - 1/2)**3 = 1/8 of the gap remains.
    assert schedule(50) == pytest.approx(0.8 - 0.8 / 8)
    assert schedule(55) == schedule(50), "the value is held between updates"
    # 0 -> 100 in steps of 10, plus `end_step` itself, which is always an update.
    values = [schedule(t) for t in range(120)]
    changes = [t for t in range(1, 120) if values[t] != values[t - 1]]
    assert changes == list(range(10, 101, 10))
    # end_step not a multiple of the frequency: the final value is still reached at end_step.
    odd = SparsitySchedule(0.5, initial_sparsity=0.1, begin_step=3, end_step=20, frequency=5)
    assert odd(17) == pytest.approx(np_polynomial(17, 0.1, 0.5, 3, 20, 5))
    assert odd(19) == odd(18) < 0.5 and odd(20) == 0.5


def test_sparsity_schedule_without_end_step_is_one_jump():
    values = [SparsitySchedule(0.75, begin_step=3)(t) for t in range(6)]
    assert values == [0.0, 0.0, 0.0, 0.75, 0.75, 0.75]
    assert SparsitySchedule(0.5)(0) == 0.5
    assert SparsitySchedule(0.5, begin_step=2)(1) == 0.0


@pytest.mark.parametrize(
    "schedule",
    [
        SparsitySchedule(0.9, initial_sparsity=0.2, begin_step=10, end_step=50, frequency=7),
        SparsitySchedule(0.75, begin_step=3),
    ],
    ids=["ramp", "one-jump"],
)
def test_sparsity_schedule_config_round_trip(schedule):
    config = schedule.get_config()
    restored = SparsitySchedule.from_config(json.loads(json.dumps(config)))
    assert restored is not schedule and restored.get_config() == config
    assert [restored(t) for t in range(70)] == [schedule(t) for t in range(70)]
    from_repr = eval(repr(schedule), {"SparsitySchedule": SparsitySchedule})
    assert from_repr.get_config() == config


@pytest.mark.parametrize(
    "kwargs, argument",
    [
        ({"final_sparsity": 1.0}, "final_sparsity"),
        ({"initial_sparsity": -0.1}, "initial_sparsity"),
        ({"initial_sparsity": 0.9, "final_sparsity": 0.5}, "initial_sparsity"),
        ({"begin_step": 60, "end_step": 50}, "end_step"),
        ({"begin_step": 50, "end_step": 50}, "end_step"),
        ({"begin_step": -1}, "begin_step"),
        ({"end_step": 2.5}, "end_step"),
        ({"frequency": 0}, "frequency"),
        ({"frequency": 2.5}, "frequency"),
        # A ramp's arguments without `end_step` would be ignored: a forgotten end_step.
        ({"end_step": None, "initial_sparsity": 0.2}, "initial_sparsity"),
        ({"end_step": None, "frequency": 5}, "frequency"),
    ],
)
def test_sparsity_schedule_rejects_bad_arguments_when_made(kwargs, argument):
    arguments = dict(final_sparsity=0.8, begin_step=0, end_step=50)
    arguments.update(kwargs)
    with pytest.raises(ValueError, match=f"`{argument}`"):
        SparsitySchedule(**arguments)


@pytest.mark.parametrize("sparsity", [1.0, -0.5, True, "0.5"])
def test_sparsity_schedule_rejects_bad_sparsity_and_steps(sparsity):
    with pytest.raises(ValueError, match="`final_sparsity`.*\\[0, 1\\).*got"):
        SparsitySchedule(sparsity)
    with pytest.raises(ValueError, match="`step`"):
        SparsitySchedule(0.5)(-1)
    with pytest.raises(ValueError, match="`step`"):
        SparsitySchedule(0.5, end_step=10)(2.5)


# -- masks --------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape", [(37, 11), (3, 3, 2, 5)])
@pytest.mark.parametrize("sparsity", [0.0, 0.3, 0.75, 0.99])
def test_magnitude_mask_zeroes_the_smallest_magnitudes(shape, sparsity):
    weights = np.random.default_rng(0).normal(size=shape).astype(np.float32)
    mask = magnitude_mask(weights, sparsity)
    assert mask.shape == shape and mask.dtype == bool
    count = expected_pruned(sparsity, weights.size)
    smallest = np.argsort(np.abs(weights).ravel(), kind="stable")[:count]
    assert set(np.flatnonzero(~mask.ravel())) == set(smallest.tolist())


# -- the pruning callback -----------------------------------------------------------------------
def test_callback_prunes_each_kernel_to_target_smallest_first_and_not_biases(data):
    model = mlp(seed=2)
    before = {name: kernel(model, name) for name in ("hidden", "logits")}
    pruning = MagnitudePruning(SparsitySchedule(0.75))
    fit_briefly(model, data, [pruning], images=512, batch_size=64)

    assert pruning.step == 8 and pruning.sparsity == 0.75
    for name, initial in before.items():
        weights = kernel(model, name)
        count = expected_pruned(0.75, weights.size)
        assert abs(zeros(weights) - count) <= 1, name
        # Ranked before the first step, so on the initial weights.
        smallest = np.argsort(np.abs(initial).ravel(), kind="stable")[:count]
        pruned = np.flatnonzero(~pruning.masks[name].ravel())
        assert set(pruned.tolist()) == set(smallest.tolist()), name
        assert np.all(weights[~pruning.masks[name]] == 0)
        assert zeros(model.get_layer(name).bias) == 0, f"{name}'s bias must not be pruned"

    report = sparsity_report(model)
    assert list(report) == ["hidden", "logits"]
    for name, (pruned_count, total, fraction) in report.items():
        weights = kernel(model, name)
        assert (pruned_count, total) == (zeros(weights), weights.size)
        assert fraction == pytest.approx(pruned_count / total)
    nonzero, total = count_nonzero_params(model)
    all_weights = [np.asarray(w) for w in model.get_weights()]
    assert total == model.count_params() == sum(w.size for w in all_weights)
    assert nonzero == sum(int(np.count_nonzero(w)) for w in all_weights)


def test_callback_follows_the_polynomial_schedule_step_by_step(data):
    model = conv_net(seed=3)
    bn_before = [np.asarray(w) for w in model.get_layer("bn").get_weights()]
    schedule = SparsitySchedule(0.8, initial_sparsity=0.1, begin_step=2, end_step=12, frequency=3)
    pruning = MagnitudePruning(schedule)
    measured = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            measured.append({name: zeros(kernel(self.model, name)) for name in ("conv", "logits")})

    fit_briefly(model, data, [pruning, Record()], images=512, batch_size=32)

    assert len(measured) == 16
    for step, counts in enumerate(measured):
        for name, count in counts.items():
            size = kernel(model, name).size
            expected = expected_pruned(schedule(step), size)
            assert abs(count - expected) <= 1, (step, name, count, expected)
    assert sparsity_report(model)["conv"][2] == pytest.approx(0.8, abs=1 / 72)
    assert sparsity_report(model)["logits"][2] == pytest.approx(0.8, abs=1e-3)
    # Not prunable: biases and batch-norm parameters get no forced zeros (they did train).
    for name in ("conv", "logits"):
        assert zeros(model.get_layer(name).bias) == 0
    bn_after = [np.asarray(w) for w in model.get_layer("bn").get_weights()]
    assert all(zeros(w) == 0 for w in bn_after)
    assert not all(np.array_equal(a, b) for a, b in zip(bn_before, bn_after, strict=True))


def test_pruned_weights_stay_zero_while_training_continues(data):
    model = mlp(seed=4)
    pruning = MagnitudePruning(SparsitySchedule(0.8))
    x, y = data.x_train[:512], data.y_train[:512]
    model.fit(x, y, epochs=1, batch_size=64, verbose=0, callbacks=[pruning])
    mask = pruning.masks["hidden"]
    after_pruning = kernel(model, "hidden")

    model.fit(x, y, epochs=2, batch_size=64, verbose=0, callbacks=[pruning])
    assert pruning.step == 24, "the step count continues across fit() calls"
    later = kernel(model, "hidden")
    assert np.all(later[~mask] == 0), "pruned weights came back to life"
    assert not np.array_equal(later[mask], after_pruning[mask]), "the survivors must train"
    assert np.array_equal(pruning.masks["hidden"], mask), "a constant schedule fixes the mask"

    # Without the callback the zeros do grow back, which is what the callback prevents.
    model.fit(x, y, epochs=1, batch_size=64, verbose=0)
    assert zeros(kernel(model, "hidden")) < 0.5 * zeros(later)


def test_layers_argument_limits_pruning_to_the_named_layers(data):
    model = mlp(seed=5)
    pruning = MagnitudePruning(SparsitySchedule(0.5), layers=["hidden"])
    fit_briefly(model, data, [pruning], images=128, batch_size=64)
    assert list(pruning.masks) == ["hidden"]
    assert abs(zeros(kernel(model, "hidden")) - expected_pruned(0.5, 784 * 32)) <= 1
    assert zeros(kernel(model, "logits")) == 0
    assert list(sparsity_report(model, ["logits"])) == ["logits"]


def test_callback_reused_on_another_model_starts_over(data):
    pruning = MagnitudePruning(SparsitySchedule(0.5))
    x, y = data.x_train[:128], data.y_train[:128]
    first, second = mlp(seed=8), mlp(seed=9)
    first.fit(x, y, epochs=1, batch_size=64, verbose=0, callbacks=[pruning])
    first_masks = pruning.masks
    second.fit(x, y, epochs=1, batch_size=32, verbose=0, callbacks=[pruning])
    assert pruning.step == 4
    # Same layer names, but each model is ranked on its own weights.
    assert not np.array_equal(pruning.masks["hidden"], first_masks["hidden"])
    assert np.all(kernel(second, "hidden")[~pruning.masks["hidden"]] == 0)
    assert abs(zeros(kernel(second, "hidden")) - expected_pruned(0.5, 784 * 32)) <= 1


def tiny_net(name, hidden, seed):
    """A logits MLP whose layers are named like every other one's ("hidden", "logits")."""
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden, activation="relu", name="hidden"),
            keras.layers.Dense(10, name="logits"),
        ],
        name=name,
    )


def test_callback_on_a_distill_model_prunes_the_student_only(data):
    teacher, student = tiny_net("teacher", 24, seed=10), tiny_net("student", 8, seed=11)
    teacher_before = [np.array(w) for w in teacher.get_weights()]
    student_before = {name: kernel(student, name) for name in ("hidden", "logits")}
    distiller = kdtutor.DistillModel(teacher, student, temperature=4.0, alpha=0.1)
    distiller.compile(keras.optimizers.Adam(1e-3), metrics=["accuracy"])
    assert not distiller.built, "a DistillModel is built by fit(), after on_train_begin"
    # A ramp to 75 % at step 6 of 8, so masks change while distilling.
    schedule = SparsitySchedule(0.75, end_step=6, frequency=2)
    pruning = MagnitudePruning(schedule)
    fit_briefly(distiller, data, [pruning], images=512, batch_size=64)

    assert pruning.step == 8 and pruning.sparsity == 0.75
    assert sorted(pruning.masks) == ["hidden", "logits"]
    for name, initial in student_before.items():
        weights = kernel(student, name)
        assert weights.size - np.count_nonzero(weights) == expected_pruned(0.75, weights.size)
        assert np.all(weights[~pruning.masks[name]] == 0)
        assert not np.array_equal(weights[pruning.masks[name]], initial[pruning.masks[name]])
    for before, after in zip(teacher_before, teacher.get_weights(), strict=True):
        assert np.array_equal(before, np.asarray(after)), "the frozen teacher must not change"
    # What the callback pruned, as prunable_layers() reports it, and the student stripped.
    trained = prunable_layers(distiller, trainable_only=True)
    assert [id(layer) for layer in trained] == [id(layer) for layer in student.layers[1:]]
    stripped = strip_pruning(student, pruning)
    assert sparsity_report(stripped) == sparsity_report(distiller, trained)


def test_callback_leaves_frozen_layers_alone(data):
    model = mlp(seed=12)
    model.get_layer("hidden").trainable = False
    compile_model(model)
    frozen = kernel(model, "hidden")
    x, y = data.x_train[:128], data.y_train[:128]
    pruning = MagnitudePruning(SparsitySchedule(0.5))
    model.fit(x, y, epochs=1, batch_size=64, verbose=0, callbacks=[pruning])
    assert list(pruning.masks) == ["logits"]
    assert np.array_equal(kernel(model, "hidden"), frozen)
    assert zeros(kernel(model, "logits")) == expected_pruned(0.5, 32 * 10)
    # One-shot pruning and reports still see every kernel: they do not train.
    assert list(sparsity_report(model)) == ["hidden", "logits"]

    with pytest.raises(ValueError, match="names 'hidden'.*does not train"):
        model.fit(x, y, verbose=0, callbacks=[MagnitudePruning(lambda s: 0.5, layers=["hidden"])])
    model.trainable = False
    compile_model(model)
    with pytest.raises(ValueError, match="no kernel to prune in model 'mlp'.*trainable"):
        model.fit(x, y, verbose=0, callbacks=[MagnitudePruning(lambda s: 0.5)])


def test_callback_prunes_a_model_that_fit_builds(data):
    keras.utils.set_random_seed(13)
    model = keras.Sequential(
        [
            keras.layers.Flatten(),
            keras.layers.Dense(16, activation="relu", name="hidden"),
            keras.layers.Dense(10, name="logits"),
        ]
    )
    compile_model(model)
    assert not model.built, "no keras.Input: the first training step builds the model"
    pruning = MagnitudePruning(SparsitySchedule(0.5))
    fit_briefly(model, data, [pruning], images=128, batch_size=32)
    assert pruning.step == 4
    for name in ("hidden", "logits"):
        weights = kernel(model, name)
        assert zeros(weights) == expected_pruned(0.5, weights.size)
        assert np.all(weights[~pruning.masks[name]] == 0)


def test_callback_rejects_bad_arguments():
    model = mlp(seed=6)
    x, y = np.zeros((8, 28, 28, 1), np.float32), np.zeros(8, np.int64)
    with pytest.raises(TypeError, match="`schedule`"):
        MagnitudePruning(0.5)
    with pytest.raises(ValueError, match="`schedule`.*returned 1.2"):
        MagnitudePruning(lambda step: 1.2)
    with pytest.raises(ValueError, match="no layer of that name.*'hidden'"):
        model.fit(x, y, verbose=0, callbacks=[MagnitudePruning(lambda s: 0.5, layers=["hiden"])])
    with pytest.raises(ValueError, match="Flatten.*no `kernel`"):
        prune_weights(model, 0.5, layers=[model.layers[0]])
    with pytest.raises(ValueError, match="`sparsity`"):
        prune_weights(model, 1.0)
    compile_model(model, steps_per_execution=2)
    with pytest.raises(ValueError, match="steps_per_execution=1"):
        model.fit(x, y, verbose=0, callbacks=[MagnitudePruning(lambda s: 0.5)])


# -- strip --------------------------------------------------------------------------------------
def test_strip_pruning_gives_a_plain_model_with_the_same_predictions(data, tmp_path):
    model = mlp(seed=7)
    pruning = MagnitudePruning(SparsitySchedule(0.8))
    fit_briefly(model, data, [pruning], images=256, batch_size=64)
    stripped = strip_pruning(model, pruning)

    assert stripped is not model and not stripped.compiled
    assert all(type(layer).__module__.startswith("keras.") for layer in stripped.layers)
    x = data.x_test[:64]
    np.testing.assert_allclose(
        stripped.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=1e-6
    )
    assert sparsity_report(stripped) == sparsity_report(model)

    path = tmp_path / "pruned.keras"
    stripped.save(path)
    loaded = keras.models.load_model(path)
    np.testing.assert_allclose(
        loaded.predict(x, verbose=0), model.predict(x, verbose=0), rtol=0, atol=1e-6
    )
    assert sparsity_report(loaded) == sparsity_report(model)

    # Weights changed after training (here by hand) get their mask again.
    layer = model.get_layer("hidden")
    layer.kernel.assign(layer.kernel + 1.0)
    again = strip_pruning(model, pruning)
    assert np.all(kernel(again, "hidden")[~pruning.masks["hidden"]] == 0)


# -- sizes --------------------------------------------------------------------------------------
def test_gzip_size_and_file_size(tmp_path):
    payload = bytes(range(256)) * 40 + b"\0" * 5000
    path = tmp_path / "blob.bin"
    path.write_bytes(payload)
    assert gzip_size(payload) == len(gzip.compress(payload, compresslevel=9))
    assert gzip_size(path) == gzip_size(str(path)) == gzip_size(bytearray(payload))
    assert file_size(payload) == file_size(path) == len(payload)
    with pytest.raises(TypeError, match="`data`"):
        gzip_size(123)


def test_keras_file_bytes_leaves_out_the_optimizer(trained_mlp, tmp_path):
    deployable = keras_file_bytes(trained_mlp)
    with_optimizer = keras_file_bytes(trained_mlp, include_optimizer=True)
    float_bytes = 4 * trained_mlp.count_params()
    # Weights plus a little config and HDF5 overhead; Adam's two moments would triple it.
    assert float_bytes < len(deployable) < 1.2 * float_bytes
    assert len(with_optimizer) > 2.5 * float_bytes
    path = tmp_path / "model.keras"
    path.write_bytes(deployable)
    loaded = keras.models.load_model(path)
    for a, b in zip(loaded.get_weights(), trained_mlp.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)


def test_pruning_pays_off_after_gzip_not_in_the_raw_file(trained_mlp, tflite_models):
    pruned = strip_pruning(trained_mlp)
    prune_weights(pruned, 0.8)
    dense_keras, pruned_keras = keras_file_bytes(trained_mlp), keras_file_bytes(pruned)
    dense_tflite, pruned_tflite = tflite_models["float"], to_tflite(pruned)

    for dense, sparse in ((dense_keras, pruned_keras), (dense_tflite, pruned_tflite)):
        assert abs(len(sparse) - len(dense)) <= 0.01 * len(dense), "same shape, same raw size"
        assert gzip_size(dense) > 0.7 * len(dense), "dense float32 weights compress little"
        assert gzip_size(dense) / gzip_size(sparse) > 1.5


# -- LiteRT conversion and inference --------------------------------------------------------------
def test_float_tflite_matches_keras_in_inference_mode(data):
    # Batch norm with trained statistics and dropout: both must run in inference mode.
    model = conv_net(seed=8)
    model.fit(data.x_train[:256], data.y_train[:256], epochs=1, batch_size=64, verbose=0)
    x = data.x_test[:100]
    converted = tflite_predict(to_tflite(model), x, batch_size=32)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    assert converted.dtype == np.float32 and converted.shape == (100, 10)
    assert np.max(np.abs(converted - expected)) <= 1e-4


def test_float_and_dynamic_tflite_of_the_mlp(trained_mlp, tflite_models, data):
    x = data.x_test[:500]
    expected = trained_mlp.predict(x, verbose=0)
    float_logits = tflite_predict(tflite_models["float"], x)
    assert np.max(np.abs(float_logits - expected)) <= 1e-4
    # Dynamic range: int8 weights, so logits move a little and the class almost never.
    dynamic_logits = tflite_predict(tflite_models["dynamic"], x)
    assert np.max(np.abs(dynamic_logits - expected)) <= 0.05 * np.max(np.abs(expected))
    assert np.mean(dynamic_logits.argmax(1) == expected.argmax(1)) >= 0.98
    assert len(tflite_models["float"]) > 3 * len(tflite_models["dynamic"])
    # The batch size is a matter of speed only.
    np.testing.assert_allclose(
        tflite_predict(tflite_models["float"], x, batch_size=7), float_logits, rtol=0, atol=1e-5
    )


def test_int8_tflite_is_small_integer_and_accurate(trained_mlp, tflite_models, data):
    int8 = tflite_models["int8"]
    interpreter = Interpreter(model_content=int8)
    (input_detail,), (output_detail,) = (
        interpreter.get_input_details(),
        interpreter.get_output_details(),
    )
    assert input_detail["dtype"] == np.int8 and output_detail["dtype"] == np.int8
    assert len(tflite_models["float"]) >= 3 * len(int8)

    keras_accuracy = trained_mlp.evaluate(data.x_test, data.y_test, verbose=0)[1]
    assert keras_accuracy > 0.8, "the reference model must have learnt something"
    assert abs(tflite_accuracy(int8, data.x_test, data.y_test) - keras_accuracy) <= 0.02
    assert tflite_accuracy(tflite_models["float"], data.x_test, data.y_test) == pytest.approx(
        keras_accuracy, abs=0.002
    )


def test_tflite_predict_quantizes_and_dequantizes_like_the_formulas(tflite_models, data):
    int8 = tflite_models["int8"]
    interpreter = Interpreter(model_content=int8, num_threads=1)
    interpreter.allocate_tensors()
    input_detail = interpreter.get_input_details()[0]
    output_detail = interpreter.get_output_details()[0]
    in_scale, in_zero = input_detail["quantization"]
    out_scale, out_zero = output_detail["quantization"]
    assert in_scale > 0 and out_scale > 0

    x = data.x_test[:6]
    manual = []
    for example in x:
        q = np.clip(np.round(example / in_scale + in_zero), -128, 127).astype(np.int8)
        interpreter.set_tensor(input_detail["index"], q[np.newaxis])
        interpreter.invoke()
        out = interpreter.get_tensor(output_detail["index"])[0]
        manual.append((out.astype(np.float64) - out_zero) * out_scale)
    got = tflite_predict(int8, x)
    assert got.dtype == np.float32
    np.testing.assert_allclose(got, np.array(manual), rtol=0, atol=1e-5)
    labels = np.array(manual).argmax(1)
    assert tflite_accuracy(int8, x, labels) == 1.0
    assert tflite_accuracy(int8, x, np.eye(10)[labels]) == 1.0


def test_tflite_accuracy_is_the_same_for_every_label_shape(tflite_models, data):
    # Keras accepts class ids (N,) and (N, 1) and one-hot rows, and turns a pandas Series
    # into (N, 1); (N, 1) labels once scored 0.12 where the same labels as (N,) scored 0.97.
    x, y = data.x_test[:300], data.y_test[:300]
    predicted = tflite_predict(tflite_models["float"], x).argmax(axis=1)
    expected = float(np.mean(predicted == y))
    assert 0.5 < expected < 1, "the reference must tell right from wrong labels"
    for labels in (
        y,
        y.reshape(-1, 1),
        np.eye(10, dtype=np.float32)[y],
        pd.Series(y),
        pd.DataFrame({"label": y}),
        y.tolist(),
    ):
        assert tflite_accuracy(tflite_models["float"], x, labels) == expected, np.shape(labels)


def test_int8_calibration_draws_from_every_class_of_sorted_data(trained_mlp, data):
    # A train split sorted by class: its first 100 images are all of class 0, so calibrating
    # on the first `num_calibration` samples would see one class only.
    order = np.argsort(data.y_train, kind="stable")
    x_sorted, y_sorted = data.x_train[order], data.y_train[order]
    assert set(y_sorted[:100].tolist()) == {0}
    samples = litert._calibration_samples(trained_mlp, x_sorted, 100)
    assert samples.shape == (100, 28, 28, 1) and samples.dtype == np.float32
    row_of = {image.tobytes(): row for row, image in enumerate(x_sorted)}
    chosen = [row_of[image.tobytes()] for image in samples]  # KeyError: not from the data
    assert len(set(chosen)) == 100, "no sample twice"
    assert set(y_sorted[chosen].tolist()) == set(range(10)), "every class calibrates"

    # ... and to_tflite() calibrates on exactly those: the int8 output's scale is their
    # logits' range (stretched to hold 0) over 255 steps. (Accuracy shows no effect on this
    # MLP: 0.889 calibrated on all classes, 0.892 on the first 100, within noise.)
    def output_scale(x):
        logits = trained_mlp.predict(x, verbose=0)
        return (max(logits.max(), 0.0) - min(logits.min(), 0.0)) / 255

    int8 = to_tflite(
        trained_mlp, quantization="int8", representative_data=x_sorted, num_calibration=100
    )
    scale, _ = Interpreter(model_content=int8).get_output_details()[0]["quantization"]
    assert scale == pytest.approx(output_scale(samples), rel=1e-4)
    # The first 100 give a scale 2 % off here: 200 times the tolerance above.
    assert abs(output_scale(x_sorted[:100]) / scale - 1) > 10 * 1e-4


def test_to_tflite_argument_checks(trained_mlp, data):
    with pytest.raises(ValueError, match="`quantization`.*'float', 'dynamic', 'int8'.*'int4'"):
        to_tflite(trained_mlp, quantization="int4")
    with pytest.raises(ValueError, match="int8.*`representative_data`"):
        to_tflite(trained_mlp, quantization="int8")
    with pytest.raises(ValueError, match="`representative_data` is only used with"):
        to_tflite(trained_mlp, quantization="dynamic", representative_data=data.x_train)
    with pytest.raises(ValueError, match="`representative_data`.*\\(N, 28, 28, 1\\).*\\(5, 784\\)"):
        to_tflite(trained_mlp, quantization="int8", representative_data=np.zeros((5, 784)))
    with pytest.raises(ValueError, match="`num_calibration`"):
        to_tflite(
            trained_mlp, quantization="int8", representative_data=data.x_train, num_calibration=0
        )
    with pytest.raises(ValueError, match="built model"):
        to_tflite(keras.Sequential([keras.layers.Dense(3)]))
    with pytest.raises(TypeError, match="Keras 3 model"):
        to_tflite("model.keras")


def test_to_tflite_refuses_ops_the_interpreter_cannot_run():
    # Keras' LiteRT export would embed TensorFlow's MatrixDeterminant as a "Select TF op",
    # and the LiteRT interpreter would then fail at the first inference.
    inputs = keras.Input((3, 3))
    determinant = keras.layers.Lambda(lambda t: keras.ops.expand_dims(keras.ops.det(t), -1))
    with pytest.raises(Exception, match="MatrixDeterminant"):
        to_tflite(keras.Model(inputs, determinant(inputs)))


def test_tflite_predict_and_latency_checks(tflite_models, data, tmp_path):
    model = tflite_models["float"]
    with pytest.raises(ValueError, match="`x`.*\\(N, 28, 28, 1\\).*\\(28, 28, 1\\)"):
        tflite_predict(model, data.x_test[0])
    with pytest.raises(ValueError, match="`x` is empty"):
        tflite_predict(model, data.x_test[:0])
    with pytest.raises(TypeError, match="`tflite_model`"):
        tflite_predict([1, 2], data.x_test[:2])
    with pytest.raises(ValueError, match="`batch_size`"):
        tflite_predict(model, data.x_test[:2], batch_size=0)
    with pytest.raises(ValueError, match="`y`"):
        tflite_accuracy(model, data.x_test[:4], data.y_test[:3])
    path = tmp_path / "model.tflite"
    path.write_bytes(model)
    np.testing.assert_array_equal(
        tflite_predict(path, data.x_test[:3]), tflite_predict(model, data.x_test[:3])
    )

    for kind in ("float", "int8"):
        for x_one in (data.x_test[0], data.x_test[:1]):
            ms = latency_ms(tflite_models[kind], x_one, warmup=2, runs=5)
            assert isinstance(ms, float) and math.isfinite(ms) and ms > 0
    with pytest.raises(ValueError, match="`runs`"):
        latency_ms(model, data.x_test[0], runs=0)
    with pytest.raises(ValueError, match="`x_one` must be a single example"):
        latency_ms(model, data.x_test[:2])


def test_conversion_and_inference_print_nothing(trained_mlp, data, capfd):
    # Jupyter stores what reaches file descriptors 1 and 2 in the notebook: the int8
    # calibration's "fully_quantize: ..." (C++), LiteRT's "Created TensorFlow Lite XNNPACK
    # delegate" (C++) and, in an interactive session where TensorFlow's logger runs at INFO,
    # the export's "Assets written to: <temporary folder>" must not get there.
    import logging

    import tensorflow as tf

    logger = tf.get_logger()
    level = logger.level
    logger.setLevel(logging.INFO)
    try:
        capfd.readouterr()
        model = to_tflite(
            trained_mlp, quantization="int8", representative_data=data.x_train, num_calibration=20
        )
        tflite_predict(model, data.x_test[:2])
        latency_ms(model, data.x_test[0], warmup=1, runs=2)
        out, err = capfd.readouterr()
        assert logger.level == logging.INFO, "to_tflite() must restore the logger's level"
    finally:
        logger.setLevel(level)
    assert (out, err) == ("", "")
