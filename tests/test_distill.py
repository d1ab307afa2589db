"""Tests of the KD loss and DistillModel against independent computations.

References: a NumPy implementation of softmax/KL written here from the
formulas, finite differences for the gradient, Keras' own cross-entropy and
``keras.distillation.Distiller`` as second implementations.
"""

import os
import warnings

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

import kdtutor
from kdtutor import DistillModel, distillation_loss, softened_softmax, strip_softmax
from kdtutor.distill import MAX_TEMPERATURE

TEMPERATURES = [1.0, 2.0, 4.0, 8.0, 20.0]
NUM_CLASSES = 10


# -- NumPy references (float64, written from the formulas) ----------------------------------
def np_log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def np_softmax(z):
    return np.exp(np_log_softmax(z))


def np_kd_loss(teacher_logits, student_logits, temperature, weights=None):
    log_p = np_log_softmax(np.asarray(teacher_logits) / temperature)
    log_q = np_log_softmax(np.asarray(student_logits) / temperature)
    per_example = temperature**2 * (np.exp(log_p) * (log_p - log_q)).sum(axis=-1)
    if weights is not None:
        per_example = per_example * weights
    return per_example.mean()


def np_cross_entropy(labels, logits, weights=None):
    per_example = -np_log_softmax(logits)[np.arange(len(labels)), labels]
    if weights is not None:
        per_example = per_example * weights
    return per_example.mean()


def random_logits(seed, batch=16, scale=5.0):
    rng = np.random.default_rng(seed)
    return (rng.normal(size=(batch, NUM_CLASSES)) * scale).astype(np.float32)


# -- small models and data so every test runs in seconds -------------------------------------
def tiny_teacher(seed=0, batch_norm=False):
    keras.utils.set_random_seed(seed)
    layers = [
        keras.Input((28, 28, 1)),
        keras.layers.Conv2D(4, 3, activation="relu"),
        keras.layers.MaxPooling2D(4),
        keras.layers.Flatten(),
    ]
    if batch_norm:
        layers.append(keras.layers.BatchNormalization())
    layers += [keras.layers.Dropout(0.5), keras.layers.Dense(NUM_CLASSES)]
    return keras.Sequential(layers, name="tiny_teacher")


def tiny_student(seed=1, num_classes=NUM_CLASSES):
    keras.utils.set_random_seed(seed)
    return kdtutor.make_student(hidden_units=(16,), num_classes=num_classes, name="tiny_student")


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(0)
    x = rng.random((96, 28, 28, 1), dtype=np.float32)
    y = rng.integers(0, NUM_CLASSES, size=96).astype(np.int64)
    return x, y


# -- the loss ---------------------------------------------------------------------------------
@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_softened_softmax_matches_numpy(temperature):
    logits = random_logits(1)
    got = keras.ops.convert_to_numpy(softened_softmax(logits, temperature))
    np.testing.assert_allclose(got, np_softmax(logits / temperature), rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(got.sum(axis=-1), 1.0, rtol=1e-6)


def test_high_temperature_approaches_uniform_and_keeps_ranking():
    logits = random_logits(2, scale=1.0)
    soft = keras.ops.convert_to_numpy(softened_softmax(logits, MAX_TEMPERATURE))
    # |logits| < 4 here: softmax(z / 100) stays within a factor exp(0.08) of uniform.
    np.testing.assert_allclose(soft, 1.0 / NUM_CLASSES, rtol=0.1)
    np.testing.assert_array_equal(np.argsort(soft, axis=-1), np.argsort(logits, axis=-1))


@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_distillation_loss_matches_numpy(temperature):
    teacher, student = random_logits(3), random_logits(4)
    got = float(distillation_loss(teacher, student, temperature))
    np.testing.assert_allclose(got, np_kd_loss(teacher, student, temperature), rtol=1e-5)


def test_distillation_loss_is_zero_for_identical_logits_and_stable_for_huge_ones():
    logits = random_logits(5)
    assert abs(float(distillation_loss(logits, logits, 4.0))) < 1e-6
    huge_teacher, huge_student = random_logits(6, scale=1e4), random_logits(7, scale=1e4)
    got = float(distillation_loss(huge_teacher, huge_student, 2.0))
    assert np.isfinite(got)
    np.testing.assert_allclose(got, np_kd_loss(huge_teacher, huge_student, 2.0), rtol=1e-4)


@pytest.mark.parametrize("temperature", TEMPERATURES)
def test_gradient_is_t_times_q_minus_p_over_batch(temperature):
    teacher, student = random_logits(8), random_logits(9)
    student_var = tf.Variable(student)
    with tf.GradientTape() as tape:
        loss = distillation_loss(teacher, student_var, temperature)
    grad = tape.gradient(loss, student_var).numpy()
    p = np_softmax(teacher / temperature)
    q = np_softmax(student / temperature)
    expected = temperature * (q - p) / len(student)
    np.testing.assert_allclose(grad, expected, rtol=1e-4, atol=1e-7)


@pytest.mark.parametrize("temperature", [1.0, 4.0])
def test_gradient_matches_finite_differences(temperature):
    teacher, student = random_logits(10, batch=4), random_logits(11, batch=4)
    student_var = tf.Variable(student.astype(np.float64))
    with tf.GradientTape() as tape:
        loss = distillation_loss(teacher, student_var, temperature)
    autodiff = tape.gradient(loss, student_var).numpy()
    eps = 1e-4
    finite = np.zeros_like(student, dtype=np.float64)
    for index in np.ndindex(student.shape):
        plus, minus = student.astype(np.float64), student.astype(np.float64)
        plus[index] += eps
        minus[index] -= eps
        finite[index] = (
            np_kd_loss(teacher, plus, temperature) - np_kd_loss(teacher, minus, temperature)
        ) / (2 * eps)
    np.testing.assert_allclose(autodiff, finite, rtol=1e-3, atol=1e-5)


def test_loss_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="same shape"):
        distillation_loss(random_logits(1), random_logits(2)[:, :5], 2.0)


# -- DistillModel: the loss it trains on ----------------------------------------------------
@pytest.mark.parametrize("temperature,alpha", [(1.0, 0.5), (4.0, 0.1), (20.0, 0.0), (2.0, 1.0)])
def test_total_loss_is_alpha_ce_plus_one_minus_alpha_kd(data, temperature, alpha):
    x, y = data
    teacher, student = tiny_teacher(), tiny_student()
    model = DistillModel(teacher, student, temperature=temperature, alpha=alpha)
    model.compile(optimizer="sgd")
    student_logits = keras.ops.convert_to_numpy(student(x, training=False))
    teacher_logits = keras.ops.convert_to_numpy(teacher(x, training=False))
    got = float(model.compute_loss(x=x, y=y, y_pred=student_logits, training=False))
    expected = alpha * np_cross_entropy(y, student_logits) + (1 - alpha) * np_kd_loss(
        teacher_logits, student_logits, temperature
    )
    # float32 against float64; T**2 = 400 amplifies rounding at T = 20.
    np.testing.assert_allclose(got, expected, rtol=1e-4)


def test_cached_logits_one_hot_labels_and_sample_weights(data):
    x, y = data
    teacher, student = tiny_teacher(), tiny_student()
    model = DistillModel(teacher, student, temperature=3.0, alpha=0.3)
    model.compile(optimizer="sgd")
    student_logits = keras.ops.convert_to_numpy(student(x, training=False))
    targets = model.cache_teacher_logits(x, y)
    assert targets["teacher_logits"].shape == (len(x), NUM_CLASSES)
    uncached = float(model.compute_loss(x=x, y=y, y_pred=student_logits))
    cached = float(model.compute_loss(x=x, y=targets, y_pred=student_logits))
    one_hot = float(model.compute_loss(x=x, y=np.eye(NUM_CLASSES)[y], y_pred=student_logits))
    np.testing.assert_allclose(cached, uncached, rtol=1e-6)
    np.testing.assert_allclose(one_hot, uncached, rtol=1e-5)

    weights = np.random.default_rng(1).random(len(x)).astype(np.float32)
    weighted = float(
        model.compute_loss(x=x, y=targets, y_pred=student_logits, sample_weight=weights)
    )
    teacher_logits = targets["teacher_logits"]
    expected = 0.3 * np_cross_entropy(y, student_logits, weights) + 0.7 * np_kd_loss(
        teacher_logits, student_logits, 3.0, weights
    )
    np.testing.assert_allclose(weighted, expected, rtol=1e-5)


def test_same_total_loss_as_keras_distiller(data):
    x, y = data
    temperature, alpha = 4.0, 0.1
    teacher, student = tiny_teacher(), tiny_student()
    ours = DistillModel(teacher, student, temperature=temperature, alpha=alpha)
    ours.compile(optimizer="adam")
    theirs = keras.distillation.Distiller(
        teacher=teacher,
        student=student,
        distillation_losses=keras.distillation.LogitsDistillation(
            temperature=temperature, loss=keras.losses.KLDivergence()
        ),
        student_loss_weight=alpha,
    )
    theirs.compile(
        optimizer="adam", loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    )
    student_logits = student(x, training=False)
    ours_loss = float(ours.compute_loss(x=x, y=y, y_pred=student_logits, training=False))
    theirs_loss = float(theirs.compute_loss(x=x, y=y, y_pred=student_logits, training=False))
    # Keras' KLDivergence clips probabilities to [1e-7, 1]: agreement to ~1e-5, not bit-exact.
    np.testing.assert_allclose(ours_loss, theirs_loss, rtol=1e-4)


def test_keras_distiller_default_loss_is_not_the_kd_loss(data):
    """Documents the pitfall the notebooks explain (measured with Keras 3.15.1).

    LogitsDistillation's default loss="kl_divergence" resolves to the plain
    function, which is applied to temperature-scaled *logits* with no softmax
    (and no T**2). If a Keras release fixes this, this test fails and the
    notebooks' text must change with it.
    """
    x, _ = data
    teacher, student = tiny_teacher(), tiny_student()
    teacher_logits = keras.ops.convert_to_numpy(teacher(x, training=False))
    student_logits = keras.ops.convert_to_numpy(student(x, training=False))
    default = keras.distillation.LogitsDistillation(temperature=4.0)
    default_value = float(default.compute_loss(teacher_logits, student_logits))
    kd_value = np_kd_loss(teacher_logits, student_logits, 4.0)
    assert not np.isclose(default_value, kd_value, rtol=1e-2)
    # What it does compute: Keras' kl_divergence on clipped logits / T, no T**2.
    t = np.clip(teacher_logits / 4.0, 1e-7, 1.0)
    s = np.clip(student_logits / 4.0, 1e-7, 1.0)
    np.testing.assert_allclose(default_value, np.mean((t * np.log(t / s)).sum(-1)), rtol=1e-4)


# -- DistillModel: training ---------------------------------------------------------------------
def test_teacher_is_frozen_and_run_in_inference_mode(data):
    x, y = data
    # Dropout(0.5) changes the teacher's logits when it runs with training=True; BatchNorm's
    # moving statistics would change if it were trainable.
    teacher = tiny_teacher(batch_norm=True)
    before = [w.copy() for w in teacher.get_weights()]
    student = tiny_student()
    teacher_logits = keras.ops.convert_to_numpy(teacher(x, training=False))
    student_logits = keras.ops.convert_to_numpy(student(x, training=False))
    # On an identical copy: training=True also moves BatchNorm's statistics.
    dropped = keras.ops.convert_to_numpy(tiny_teacher(batch_norm=True)(x, training=True))
    assert np_kd_loss(dropped, student_logits, 4.0) > 1.01 * np_kd_loss(
        teacher_logits, student_logits, 4.0
    )  # so the check below can tell the two modes apart

    model = DistillModel(teacher, student, temperature=4.0, alpha=0.0)
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # weights stay, the loss is exact
    history = model.fit(x, y, epochs=1, batch_size=len(x), verbose=0)
    np.testing.assert_allclose(
        history.history["distillation_loss"][0],
        np_kd_loss(teacher_logits, student_logits, 4.0),
        rtol=1e-5,
    )

    model = DistillModel(teacher, tiny_student(), temperature=4.0, alpha=0.1)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    after = teacher.get_weights()
    assert teacher.trainable is False
    assert len(before) == len(after)
    for old, new in zip(before, after, strict=True):
        np.testing.assert_array_equal(old, new)


def test_student_learns_and_history_reports_every_loss(data):
    x, y = data
    student = tiny_student()
    start = [w.copy() for w in student.get_weights()]
    model = DistillModel(tiny_teacher(), student, temperature=4.0, alpha=0.1)
    model.compile(optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"])
    history = model.fit(x, y, validation_data=(x[:32], y[:32]), epochs=3, batch_size=32, verbose=0)
    for key in ("loss", "student_loss", "distillation_loss", "accuracy"):
        assert key in history.history and f"val_{key}" in history.history, key
    assert history.history["distillation_loss"][-1] < history.history["distillation_loss"][0]
    # model.student is the trained student: its weights moved, and it is what predicts.
    assert any(not np.array_equal(a, b) for a, b in zip(start, student.get_weights(), strict=True))
    np.testing.assert_array_equal(model.predict(x, verbose=0), student.predict(x, verbose=0))
    # the reported total is alpha * student_loss + (1 - alpha) * distillation_loss
    result = model.evaluate(x, y, verbose=0, return_dict=True, batch_size=len(x))
    np.testing.assert_allclose(
        result["loss"], 0.1 * result["student_loss"] + 0.9 * result["distillation_loss"], rtol=1e-5
    )


def test_same_seed_gives_same_starting_student():
    first, second = tiny_student(seed=7), tiny_student(seed=7)
    for a, b in zip(first.get_weights(), second.get_weights(), strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(first.get_weights()[0], tiny_student(seed=8).get_weights()[0])


def test_alpha_one_trains_exactly_like_a_scratch_student(data):
    """With alpha=1 the KD loss is plain CE: same start, same batches -> same weights."""
    x, y = data
    scratch = tiny_student(seed=3)
    scratch.compile(
        optimizer=keras.optimizers.SGD(0.1),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
    )
    scratch.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0)

    distilled = tiny_student(seed=3)
    model = DistillModel(tiny_teacher(), distilled, temperature=4.0, alpha=1.0)
    model.compile(optimizer=keras.optimizers.SGD(0.1))
    model.fit(x, y, epochs=2, batch_size=32, shuffle=False, verbose=0)
    for a, b in zip(scratch.get_weights(), distilled.get_weights(), strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_cached_teacher_logits_train_the_same_student(data):
    x, y = data
    teacher = tiny_teacher()
    students = []
    for cached in (False, True):
        student = tiny_student(seed=4)
        model = DistillModel(teacher, student, temperature=4.0, alpha=0.2)
        model.compile(optimizer=keras.optimizers.SGD(0.1))
        targets = model.cache_teacher_logits(x, y) if cached else y
        model.fit(x, targets, epochs=2, batch_size=32, shuffle=False, verbose=0)
        students.append(student.get_weights())
    for a, b in zip(*students, strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_alpha_zero_distills_without_labels(data):
    x, _ = data
    model = DistillModel(tiny_teacher(), tiny_student(), temperature=2.0, alpha=0.0)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    targets = model.cache_teacher_logits(x)
    assert "labels" not in targets
    history = model.fit(x, targets, epochs=3, batch_size=32, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]


def test_changing_temperature_after_fit_takes_effect(data):
    x, y = data
    teacher, student = tiny_teacher(), tiny_student()
    model = DistillModel(teacher, student, temperature=2.0, alpha=0.0)
    model.compile(optimizer="sgd")
    model.evaluate(x, y, verbose=0, batch_size=len(x))
    model.temperature = 8.0
    got = model.evaluate(x, y, verbose=0, batch_size=len(x), return_dict=True)["loss"]
    expected = np_kd_loss(
        keras.ops.convert_to_numpy(teacher(x)), keras.ops.convert_to_numpy(student(x)), 8.0
    )
    np.testing.assert_allclose(got, expected, rtol=1e-5)


# -- DistillModel: bad input ------------------------------------------------------------------
@pytest.mark.parametrize("temperature", [0, -1.0, float("nan"), float("inf"), "4", None, True])
def test_bad_temperature_is_refused(temperature):
    with pytest.raises(ValueError, match="temperature"):
        DistillModel(tiny_teacher(), tiny_student(), temperature=temperature)
    with pytest.raises(ValueError, match="temperature"):
        distillation_loss(random_logits(1), random_logits(2), temperature)


@pytest.mark.parametrize("alpha", [-0.1, 1.5, float("nan"), "0.5", None])
def test_bad_alpha_is_refused(alpha):
    with pytest.raises(ValueError, match="alpha"):
        DistillModel(tiny_teacher(), tiny_student(), alpha=alpha)


def test_setting_a_bad_temperature_later_is_refused():
    model = DistillModel(tiny_teacher(), tiny_student())
    with pytest.raises(ValueError, match="temperature"):
        model.temperature = -2
    assert model.temperature == 8.0


def test_mismatched_output_shapes_are_refused():
    with pytest.raises(ValueError, match=r"teacher output shape .*10.*student output shape .*5"):
        DistillModel(tiny_teacher(), tiny_student(num_classes=5))


def test_cached_logits_of_the_wrong_shape_are_refused(data):
    x, y = data
    model = DistillModel(tiny_teacher(), tiny_student())
    model.compile(optimizer="sgd")
    bad = {"labels": y, "teacher_logits": np.zeros((len(x), 5), np.float32)}
    with pytest.raises(ValueError, match=r"teacher output shape .*5.*cached y\['teacher_logits'\]"):
        model.fit(x, bad, epochs=1, verbose=0)


@pytest.mark.parametrize("final", ["dense_softmax", "softmax_layer", "activation_layer"])
@pytest.mark.parametrize("role", ["teacher", "student"])
def test_models_ending_in_softmax_are_refused_and_strip_softmax_fixes_them(data, final, role):
    x, _ = data
    keras.utils.set_random_seed(0)
    if final == "dense_softmax":
        head = [keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probs")]
    elif final == "softmax_layer":
        head = [keras.layers.Dense(NUM_CLASSES), keras.layers.Softmax(name="probs")]
    else:
        head = [keras.layers.Dense(NUM_CLASSES), keras.layers.Activation("softmax", name="probs")]
    probs_model = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten(), *head])
    models = {"teacher": tiny_teacher(), "student": tiny_student()}
    models[role] = probs_model
    with pytest.raises(ValueError, match=rf"{role}.*softmax.*logits.*strip_softmax"):
        DistillModel(models["teacher"], models["student"])

    logits_model = strip_softmax(probs_model)
    assert not kdtutor.ends_in_softmax(logits_model)
    logits = keras.ops.convert_to_numpy(logits_model(x))
    np.testing.assert_allclose(np_softmax(logits), probs_model(x), rtol=1e-4, atol=1e-6)
    models[role] = logits_model
    DistillModel(models["teacher"], models["student"])


def test_other_bad_arguments_name_what_is_wrong(data, tmp_path):
    x, y = data
    with pytest.raises(ValueError, match="`teacher` must be a Keras model"):
        DistillModel("teacher.keras", tiny_student())
    model = DistillModel(tiny_teacher(), tiny_student(), alpha=0.5)
    with pytest.raises(ValueError, match="computes its own loss"):
        model.compile(optimizer="adam", loss="sparse_categorical_crossentropy")
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match="no labels"):
        model.fit(
            x,
            {"teacher_logits": model.cache_teacher_logits(x)["teacher_logits"]},
            epochs=1,
            verbose=0,
        )
    with pytest.raises(ValueError, match="Unknown target keys"):
        model.fit(x, {"label": y}, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=r"\.keras"):
        model.export_student(tmp_path / "student.h5")


# -- DistillModel: serialization ----------------------------------------------------------------
def test_config_round_trip():
    model = DistillModel(tiny_teacher(), tiny_student(), temperature=6.0, alpha=0.25)
    clone = DistillModel.from_config(model.get_config())
    assert (clone.temperature, clone.alpha) == (6.0, 0.25)
    assert clone.teacher.trainable is False
    assert [w.shape for w in clone.student.weights] == [w.shape for w in model.student.weights]


def test_save_load_round_trip_and_student_export(data, tmp_path):
    x, y = data
    model = DistillModel(tiny_teacher(), tiny_student(), temperature=5.0, alpha=0.3)
    model.compile(optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    path = tmp_path / "distiller.keras"
    model.save(path)
    loaded = keras.models.load_model(path)
    assert isinstance(loaded, DistillModel)
    assert (loaded.temperature, loaded.alpha) == (5.0, 0.3)
    np.testing.assert_array_equal(loaded.predict(x, verbose=0), model.predict(x, verbose=0))
    np.testing.assert_array_equal(
        loaded.teacher.predict(x, verbose=0), model.teacher.predict(x, verbose=0)
    )
    # It comes back compiled and can keep training.
    loaded.fit(x, y, epochs=1, batch_size=32, verbose=0)

    student_path = model.export_student(tmp_path / "export" / "student.keras")
    student = keras.models.load_model(student_path)
    assert not isinstance(student, DistillModel)
    np.testing.assert_array_equal(student.predict(x, verbose=0), model.predict(x, verbose=0))


# -- labels as Keras accepts them ---------------------------------------------------------------
def np_accuracy(labels, logits):
    return float(np.mean(np.argmax(logits, axis=-1) == labels))


@pytest.mark.parametrize("form", ["ids", "column", "one_hot", "pandas_series"])
def test_labels_shaped_as_keras_accepts_them_give_the_right_loss_and_accuracy(data, form):
    x, y = data
    labels = {
        "ids": y,
        "column": y[:, None],
        "one_hot": np.eye(NUM_CLASSES, dtype=np.float32)[y],
        "pandas_series": pd.Series(y),
    }[form]
    teacher, student = tiny_teacher(), tiny_student()
    model = DistillModel(teacher, student, temperature=4.0, alpha=0.5)
    model.compile(optimizer=keras.optimizers.Adam(0.01), metrics=["accuracy"])
    history = model.fit(x, labels, epochs=2, batch_size=32, verbose=0)
    assert np.isfinite(history.history["loss"]).all()

    result = model.evaluate(x, labels, batch_size=len(x), verbose=0, return_dict=True)
    student_logits = keras.ops.convert_to_numpy(student(x, training=False))
    teacher_logits = keras.ops.convert_to_numpy(teacher(x, training=False))
    expected_loss = 0.5 * np_cross_entropy(y, student_logits) + 0.5 * np_kd_loss(
        teacher_logits, student_logits, 4.0
    )
    np.testing.assert_allclose(result["loss"], expected_loss, rtol=1e-5)
    np.testing.assert_allclose(
        result["student_loss"], np_cross_entropy(y, student_logits), rtol=1e-5
    )
    # The same accuracy as NumPy's, and as a plain Keras model given the same labels.
    assert result["accuracy"] == pytest.approx(np_accuracy(y, student_logits), abs=1e-6)
    plain = keras.models.clone_model(student)
    plain.set_weights(student.get_weights())
    if form == "one_hot":
        plain_loss = keras.losses.CategoricalCrossentropy(from_logits=True)
    else:
        plain_loss = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    plain.compile(loss=plain_loss, metrics=["accuracy"])
    plain_accuracy = plain.evaluate(x, labels, batch_size=len(x), verbose=0, return_dict=True)
    assert result["accuracy"] == pytest.approx(plain_accuracy["accuracy"], abs=1e-6)


def test_labels_of_another_shape_are_refused_with_the_shapes_accepted(data):
    x, y = data
    model = DistillModel(tiny_teacher(), tiny_student())
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"\(N,\) or \(N, 1\).*\(N, 10\); got shape .*5"):
        model.fit(x, np.eye(5, dtype=np.float32)[y % 5], epochs=1, verbose=0)


# -- probabilities that no layer shows ----------------------------------------------------------
class SoftmaxInCall(keras.Model):
    """A subclassed teacher that returns ops.softmax(...) from call()."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.flatten = keras.layers.Flatten()
        self.dense = keras.layers.Dense(NUM_CLASSES)

    def call(self, inputs, training=None):
        return keras.ops.softmax(self.dense(self.flatten(inputs)))


def probability_teacher(kind):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((28, 28, 1))
    flat = keras.layers.Flatten()(inputs)
    if kind == "subclassed_ops_softmax":
        return SoftmaxInCall(name="subclassed")
    if kind == "functional_ops_softmax":
        return keras.Model(inputs, keras.ops.softmax(keras.layers.Dense(NUM_CLASSES)(flat)))
    if kind == "nested_sequential":
        head = keras.Sequential([keras.layers.Dense(NUM_CLASSES), keras.layers.Softmax()])
        return keras.Sequential([inputs, keras.layers.Flatten(), head])
    if kind == "nested_in_functional":
        head = keras.Sequential(
            [keras.Input((784,)), keras.layers.Dense(NUM_CLASSES, activation="softmax")]
        )
        return keras.Model(inputs, head(flat))
    raise AssertionError(kind)


@pytest.mark.parametrize(
    "kind",
    [
        "subclassed_ops_softmax",
        "functional_ops_softmax",
        "nested_sequential",
        "nested_in_functional",
    ],
)
def test_teachers_that_output_probabilities_are_refused(data, kind):
    x, y = data
    teacher = probability_teacher(kind)
    probabilities = keras.ops.convert_to_numpy(teacher(x[:8]))
    np.testing.assert_allclose(probabilities.sum(-1), 1.0, rtol=1e-5)  # the premise
    if kind.startswith("nested"):
        # Seen in the layers: refused at construction, and strip_softmax() fixes it.
        pattern = r"teacher.*ends in a softmax.*probabilities.*logits.*strip_softmax\(teacher\)"
        with pytest.raises(ValueError, match=pattern):
            DistillModel(teacher, tiny_student())
        logits_model = strip_softmax(teacher)
        np.testing.assert_allclose(
            np_softmax(keras.ops.convert_to_numpy(logits_model(x))), teacher(x), atol=1e-6
        )
        teacher = logits_model
        model = DistillModel(teacher, tiny_student(), alpha=0.0)
        model.compile(optimizer="sgd")
        model.fit(x, y, epochs=1, verbose=0)
        return
    # Seen only in the outputs: refused at construction, from its outputs on random inputs.
    pattern = r"teacher.*look like probabilities.*softmax.*logits.*Fix.*return its logits"
    with pytest.raises(ValueError, match=pattern) as error:
        DistillModel(teacher, tiny_student())
    assert "strip_softmax" not in str(error.value)  # it cannot fix these


def test_an_unbuilt_subclassed_teacher_with_a_softmax_in_call_is_refused_when_fit_starts(data):
    x, y = data
    model = DistillModel(SoftmaxInCall(name="subclassed"), tiny_student())  # shape unknown yet
    model.compile(optimizer="sgd")
    pattern = r"teacher.*look like probabilities.*Fix.*return its logits"
    with pytest.raises(ValueError, match=pattern):
        model.fit(x, y, epochs=1, verbose=0)


def test_a_bare_softmax_layer_as_teacher_is_refused_and_strip_softmax_fixes_it():
    keras.utils.set_random_seed(0)
    x = np.random.default_rng(0).random((16, 20), dtype=np.float32)
    layer = keras.layers.Dense(NUM_CLASSES, activation="softmax", name="probs")
    probabilities = keras.ops.convert_to_numpy(layer(x))
    student = keras.Sequential([keras.Input((20,)), keras.layers.Dense(NUM_CLASSES)])
    with pytest.raises(ValueError, match=r"teacher.*softmax.*logits.*strip_softmax\(teacher\)"):
        DistillModel(layer, student)
    logits_layer = strip_softmax(layer)
    np.testing.assert_allclose(
        np_softmax(keras.ops.convert_to_numpy(logits_layer(x))), probabilities, atol=1e-6
    )
    DistillModel(logits_layer, student)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="a TensorFlow assertion")
def test_cached_probabilities_are_refused(data):
    x, y = data
    model = DistillModel(tiny_teacher(), tiny_student())
    model.compile(optimizer="sgd")
    targets = model.cache_teacher_logits(x, y)
    targets["teacher_logits"] = np_softmax(targets["teacher_logits"]).astype(np.float32)
    with pytest.raises(Exception, match=r"cached teacher logits.*probabilities"):
        model.fit(x, targets, epochs=1, verbose=0)
    model.fit(x, model.cache_teacher_logits(x, y), epochs=1, verbose=0)  # logits: trains


def test_the_output_check_runs_at_construction_not_during_training(data, monkeypatch):
    import kdtutor.logits

    x, y = data
    checked = []
    original = kdtutor.logits.looks_like_probabilities
    monkeypatch.setattr(
        kdtutor.logits,
        "looks_like_probabilities",
        lambda outputs: checked.append(np.shape(outputs)) or original(outputs),
    )
    model = DistillModel(tiny_teacher(), tiny_student())
    assert checked == [(8, NUM_CLASSES), (8, NUM_CLASSES)]  # teacher and student, once
    model.compile(optimizer="sgd")
    model.fit(x, y, epochs=2, batch_size=16, verbose=0)
    model.evaluate(x, y, verbose=0)
    assert len(checked) == 2


# -- hyper-parameters that change during fit --------------------------------------------------
def test_defaults_are_the_recipe_the_notebooks_teach():
    # The quick profile is what the notebooks run; a distiller made with no arguments is it.
    from kdtutor.series.profiles import PROFILES

    model = DistillModel(tiny_teacher(), tiny_student())
    quick = PROFILES["quick"]
    assert (model.temperature, model.alpha) == (quick["temperature"], quick["alpha"])


class ChangeAtBatch(keras.callbacks.Callback):
    def __init__(self, batch, **changes):
        super().__init__()
        self.batch, self.changes = batch, changes

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.batch:
            for name, value in self.changes.items():
                setattr(self.model, name, value)


def test_a_callback_may_change_temperature_and_alpha_during_fit(data):
    x, y = data
    x, y = x[:64], y[:64]
    teacher, student = tiny_teacher(), tiny_student()
    model = DistillModel(teacher, student, temperature=2.0, alpha=0.2)
    model.compile(optimizer=keras.optimizers.SGD(0.0))  # weights stay: exact references
    history = model.fit(
        x,
        y,
        epochs=2,
        batch_size=32,
        shuffle=False,
        verbose=0,
        callbacks=[ChangeAtBatch(1, temperature=8.0, alpha=0.6)],
    )
    assert (model.temperature, model.alpha) == (8.0, 0.6)
    t = keras.ops.convert_to_numpy(teacher(x, training=False))
    s = keras.ops.convert_to_numpy(student(x, training=False))

    def np_total(rows, temperature, alpha):
        return alpha * np_cross_entropy(y[rows], s[rows]) + (1 - alpha) * np_kd_loss(
            t[rows], s[rows], temperature
        )

    first, second = slice(0, 32), slice(32, 64)
    # Epoch 1: batch 0 at the old values, batch 1 at the new ones (the mean of the two).
    epoch_1 = (np_total(first, 2.0, 0.2) + np_total(second, 8.0, 0.6)) / 2
    np.testing.assert_allclose(history.history["loss"][0], epoch_1, rtol=1e-5)
    np.testing.assert_allclose(
        history.history["distillation_loss"][0],
        (np_kd_loss(t[first], s[first], 2.0) + np_kd_loss(t[second], s[second], 8.0)) / 2,
        rtol=1e-5,
    )
    # Epoch 2: the new values throughout.
    np.testing.assert_allclose(
        history.history["loss"][1], np_total(slice(0, 64), 8.0, 0.6), rtol=1e-5
    )


def test_a_bad_value_set_during_fit_is_refused(data):
    x, y = data
    model = DistillModel(tiny_teacher(), tiny_student())
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match="alpha"):
        model.fit(x, y, epochs=1, verbose=0, callbacks=[ChangeAtBatch(1, alpha=2.0)])
    assert model.alpha == 0.5


# -- the temperature's upper bound --------------------------------------------------------------
def test_max_temperature_is_where_float32_keeps_one_in_a_thousand():
    assert MAX_TEMPERATURE == 100.0
    rng = np.random.default_rng(12)
    teacher = (rng.normal(size=(64, NUM_CLASSES)) * 5).astype(np.float32)
    student = (rng.normal(size=(64, NUM_CLASSES)) * 5).astype(np.float32)
    for temperature in (1.0, 10.0, MAX_TEMPERATURE):
        for row in range(len(teacher)):
            one = slice(row, row + 1)
            got = float(distillation_loss(teacher[one], student[one], temperature))
            expected = np_kd_loss(teacher[one], student[one], temperature)  # float64
            np.testing.assert_allclose(got, expected, rtol=1e-3, err_msg=f"T={temperature}")


@pytest.mark.parametrize("temperature", [MAX_TEMPERATURE * 1.01, 1e3, 1e4, 1e6])
def test_temperatures_above_the_bound_are_refused(temperature):
    pattern = r"temperature.*at most .*MAX_TEMPERATURE = 100.*float32"
    with pytest.raises(ValueError, match=pattern):
        distillation_loss(random_logits(1), random_logits(2), temperature)
    with pytest.raises(ValueError, match=pattern):
        softened_softmax(random_logits(1), temperature)
    with pytest.raises(ValueError, match=pattern):
        DistillModel(tiny_teacher(), tiny_student(), temperature=temperature)
    model = DistillModel(tiny_teacher(), tiny_student(), temperature=MAX_TEMPERATURE)
    with pytest.raises(ValueError, match=pattern):
        model.temperature = temperature
    assert model.temperature == MAX_TEMPERATURE


# -- alpha = 0 without labels, with metrics that need them ------------------------------------
def test_alpha_zero_without_labels_skips_label_metrics_with_one_warning(data):
    x, y = data
    teacher, student = tiny_teacher(), tiny_student()
    model = DistillModel(teacher, student, temperature=2.0, alpha=0.0)
    model.compile(optimizer=keras.optimizers.SGD(0.0), metrics=["accuracy"])
    targets = model.cache_teacher_logits(x)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        history = model.fit(
            x,
            targets,
            epochs=2,
            batch_size=32,
            verbose=0,
            validation_data=(x[:32], y[:32]),  # with labels: val_accuracy is reported
        )
        result = model.evaluate(x, targets, verbose=0, return_dict=True, batch_size=len(x))
    messages = [str(w.message) for w in caught if "need labels" in str(w.message)]
    assert len(messages) == 1, messages
    assert "'accuracy'" in messages[0] and "cache_teacher_logits(x, y)" in messages[0]
    assert "accuracy" not in history.history and "accuracy" not in result
    t = keras.ops.convert_to_numpy(teacher(x, training=False))
    s = keras.ops.convert_to_numpy(student(x, training=False))
    np.testing.assert_allclose(result["loss"], np_kd_loss(t, s, 2.0), rtol=1e-5)
    np.testing.assert_allclose(
        history.history["val_accuracy"][-1], np_accuracy(y[:32], s[:32]), atol=1e-6
    )


# -- caching over a tf.data pipeline ------------------------------------------------------------
def test_cache_teacher_logits_on_a_shuffling_dataset_keeps_pairs_together(data):
    x, y = data
    teacher = tiny_teacher()
    model = DistillModel(teacher, tiny_student(), temperature=4.0, alpha=0.5)
    model.compile(optimizer="sgd")
    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y))
        .shuffle(len(x), seed=1, reshuffle_each_iteration=True)
        .batch(32)
    )
    cached = model.cache_teacher_logits(dataset)
    assert isinstance(cached, tf.data.Dataset)
    index_of = {row.tobytes(): i for i, row in enumerate(x)}
    seen = []
    for _ in range(2):  # the same pairs at every pass
        for images, targets in cached.as_numpy_iterator():
            assert len(images) == 32
            rows = [index_of[image.tobytes()] for image in images]
            recomputed = keras.ops.convert_to_numpy(teacher(x[rows], training=False))
            np.testing.assert_allclose(targets["teacher_logits"], recomputed, rtol=1e-5, atol=1e-6)
            np.testing.assert_array_equal(targets["labels"], y[rows])
            seen += rows
    assert sorted(seen) == sorted(list(range(len(x))) * 2)
    assert seen[:32] != list(range(32))  # the pass really was shuffled
    reshuffled = cached.unbatch().shuffle(len(x)).batch(16)
    history = model.fit(reshuffled, epochs=1, shuffle=False, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


# -- mixed precision ----------------------------------------------------------------------------
@pytest.fixture
def mixed_precision():
    previous = keras.mixed_precision.global_policy()
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        yield
    finally:
        keras.mixed_precision.set_global_policy(previous)


def test_mixed_precision_training_keeps_the_kd_loss_in_float32(data, mixed_precision):
    x, y = data
    teacher, student = tiny_teacher(), tiny_student()
    model = DistillModel(teacher, student, temperature=4.0, alpha=0.5)
    model.compile(optimizer=keras.optimizers.Adam(0.01))
    history = model.fit(x, y, epochs=2, batch_size=32, verbose=0)
    for key in ("loss", "student_loss", "distillation_loss"):
        assert np.isfinite(history.history[key]).all(), key
    student_logits = student(x, training=False)
    teacher_logits = teacher(x, training=False)
    assert student_logits.dtype == "float16"  # the premise: a float16 forward pass
    loss = model.compute_loss(x=x, y=y, y_pred=student_logits, training=False)
    assert keras.backend.standardize_dtype(loss.dtype) == "float32"
    # float16 arithmetic would be ~1e-3 off; float32 on the same float16 logits is ~1e-6 off.
    t = keras.ops.convert_to_numpy(teacher_logits).astype(np.float64)
    s = keras.ops.convert_to_numpy(student_logits).astype(np.float64)
    expected = 0.5 * np_cross_entropy(y, s) + 0.5 * np_kd_loss(t, s, 4.0)
    np.testing.assert_allclose(float(loss), expected, rtol=1e-5)
    soft = distillation_loss(teacher_logits, student_logits, 4.0)
    assert keras.backend.standardize_dtype(soft.dtype) == "float32"
    np.testing.assert_allclose(float(soft), np_kd_loss(t, s, 4.0), rtol=1e-5)


# -- config ----------------------------------------------------------------------------------
def test_get_config_builds_on_the_keras_config():
    model = DistillModel(tiny_teacher(), tiny_student(), temperature=6.0, alpha=0.25, name="kd")
    config = model.get_config()
    base = keras.Model.get_config(model)  # what super().get_config() gives
    assert set(base) >= {"name", "trainable", "dtype"}
    for key, value in base.items():
        assert config[key] == value, key
    clone = DistillModel.from_config(config)
    assert clone.name == "kd" and (clone.temperature, clone.alpha) == (6.0, 0.25)
