"""What a Keras user gives DistillModel: each input gets the right result or a clear error.

Every case here failed (a crash Keras users cannot read, or training on the wrong thing) before
DistillModel moved to Keras' public hooks. References are NumPy computations of the loss.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from kdtutor import DistillModel  # noqa: E402

CLASSES, FEATURES, N = 4, 6, 32


def dense(units=CLASSES, activation=None, seed=0):
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [keras.Input((FEATURES,)), keras.layers.Dense(units, activation=activation)]
    )


@pytest.fixture
def data():
    rng = np.random.default_rng(0)
    return rng.normal(size=(N, FEATURES)).astype("float32"), rng.integers(0, CLASSES, N)


def np_log_softmax(z):
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def reference_loss(model, x, y, weights, alpha, temperature):
    """alpha * mean(w * CE) + (1 - alpha) * mean(w * T^2 KL), in NumPy (Keras' weighting)."""
    s = keras.ops.convert_to_numpy(model.student(x)).astype(np.float64)
    t = keras.ops.convert_to_numpy(model.teacher(x)).astype(np.float64)
    ce = -np_log_softmax(s)[np.arange(len(y)), y]
    p, log_p, log_q = (
        np.exp(np_log_softmax(t / temperature)),
        *(np_log_softmax(z / temperature) for z in (t, s)),
    )
    kd = temperature**2 * (p * (log_p - log_q)).sum(-1)
    return alpha * np.mean(weights * ce) + (1 - alpha) * np.mean(weights * kd)


# -- sample weights with cached teacher logits --------------------------------------------------
@pytest.mark.parametrize("as_dict", [False, True])
def test_sample_weights_with_cached_logits_weigh_the_loss_as_keras_does(data, as_dict):
    x, y = data
    weights = np.linspace(0.0, 2.0, N).astype("float32")
    model = DistillModel(dense(seed=1), dense(seed=2), temperature=3.0, alpha=0.3)
    model.compile(optimizer="sgd")
    targets = model.cache_teacher_logits(x, y)
    given = {"labels": weights, "teacher_logits": weights} if as_dict else weights
    result = model.evaluate(x, targets, sample_weight=given, batch_size=N, verbose=0)
    expected = reference_loss(model, x, y, weights, alpha=0.3, temperature=3.0)
    np.testing.assert_allclose(result[0], expected, rtol=1e-5)
    # The same as the teacher run at every step, and fit() takes them too.
    direct = model.evaluate(x, y, sample_weight=weights, batch_size=N, verbose=0)
    np.testing.assert_allclose(direct[0], expected, rtol=1e-5)
    history = model.fit(x, targets, sample_weight=given, epochs=1, verbose=0).history
    assert np.isfinite(history["loss"][0])


# -- labelled and unlabelled fits on one model ----------------------------------------------------
@pytest.mark.parametrize("labelled_first", [False, True])
def test_labelled_and_unlabelled_fits_alternate_on_one_model(data, labelled_first):
    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2), alpha=0.0)
    model.compile(optimizer="adam", metrics=["accuracy"])
    unlabelled, labelled = model.cache_teacher_logits(x), model.cache_teacher_logits(x, y)
    order = [labelled, unlabelled] * 2 if labelled_first else [unlabelled, labelled] * 2
    with pytest.warns(UserWarning, match=r"\['accuracy'\] need labels"):
        for targets in order:
            history = model.fit(x, targets, epochs=1, verbose=0).history
            scores = model.evaluate(x, targets, verbose=0, return_dict=True)
            model.train_on_batch(x, targets)
            assert ("accuracy" in history) == (targets is labelled)
            assert ("accuracy" in scores) == (targets is labelled)
    # The accuracy is the student's, against the labels.
    predicted = keras.ops.convert_to_numpy(model.predict(x, verbose=0)).argmax(-1)
    scores = model.evaluate(x, labelled, verbose=0, return_dict=True)
    np.testing.assert_allclose(scores["accuracy"], np.mean(predicted == y), atol=1e-6)


# -- data without labels while alpha > 0 ----------------------------------------------------------
def unlabelled_sources(x):
    import tensorflow as tf

    class OnlyX(keras.utils.PyDataset):
        def __len__(self):
            return 2

        def __getitem__(self, index):
            return (x[index * 16 : (index + 1) * 16],)

    def generator():
        while True:
            yield (x[:16],)

    return {
        "generator": lambda: generator(),
        "PyDataset": lambda: OnlyX(),
        "tf.data": lambda: tf.data.Dataset.from_tensor_slices(x).batch(16),
    }


@pytest.mark.parametrize("source", ["generator", "PyDataset", "tf.data"])
def test_data_without_labels_is_refused_while_alpha_is_above_zero(data, source):
    x, _ = data
    make = unlabelled_sources(x)[source]
    pattern = r"alpha > 0 .*no labels.*\(x, y\).*alpha=0"

    def model(alpha):
        # A fresh one after each refusal: on JAX, Keras leaves a model whose fit() raised
        # without its variables' values.
        distiller = DistillModel(dense(seed=1), dense(seed=2), alpha=alpha)
        distiller.compile(optimizer="adam")
        return distiller

    with pytest.raises(ValueError, match=pattern):
        model(0.5).fit(make(), steps_per_epoch=2, epochs=1, verbose=0)
    with pytest.raises(ValueError, match=pattern):
        model(0.5).evaluate(make(), steps=2, verbose=0)
    # With alpha 0 the same data distills from the teacher alone...
    distiller = model(0.0)
    history = distiller.fit(make(), steps_per_epoch=2, epochs=1, verbose=0).history
    assert history["student_loss"] == [0.0] and history["distillation_loss"][0] > 0
    # ... and with alpha set above 0 it is refused again (the traced step is rebuilt).
    distiller.alpha = 0.2
    with pytest.raises(ValueError, match=pattern):
        distiller.fit(make(), steps_per_epoch=2, epochs=1, verbose=0)


def test_a_generator_of_x_and_labels_trains_both_terms(data):
    x, y = data

    def generator():
        while True:
            yield x[:16], y[:16]

    model = DistillModel(dense(seed=1), dense(seed=2), alpha=0.5)
    model.compile(optimizer="adam")
    history = model.fit(generator(), steps_per_epoch=2, epochs=1, verbose=0).history
    assert history["student_loss"][0] > 0 and history["distillation_loss"][0] > 0


# -- teachers whose outputs are not class logits -------------------------------------------------
def functional(make_outputs):
    keras.utils.set_random_seed(0)
    inputs = keras.Input((FEATURES,))
    return keras.Model(inputs, make_outputs(inputs))


@pytest.mark.parametrize(
    "kind, pattern",
    [
        ("two outputs", r"teacher.*2 outputs.*needs one"),
        ("dict output", r"teacher returned a dict of 1 outputs.*needs one tensor"),
        ("sequence output", r"teacher must output one logit per class.*\(None, 5, 4\)"),
        ("one logit", r"teacher must output one logit per class.*num_classes >= 2.*\(None, 1\)"),
        ("sigmoid", r"teacher.*ends in a sigmoid.*no activation"),
    ],
)
def test_teachers_that_do_not_output_class_logits_are_refused(kind, pattern):
    def teacher():
        if kind == "two outputs":
            return functional(lambda i: [keras.layers.Dense(CLASSES)(i)] * 2)
        if kind == "dict output":
            return functional(lambda i: {"logits": keras.layers.Dense(CLASSES)(i)})
        if kind == "sequence output":
            return functional(
                lambda i: keras.layers.Dense(CLASSES)(keras.layers.RepeatVector(5)(i))
            )
        if kind == "one logit":
            return dense(1)
        return dense(activation="sigmoid")

    student = dense(1) if kind == "one logit" else dense()
    with pytest.raises(ValueError, match=pattern):
        DistillModel(teacher(), student)


def test_log_softmax_outputs_are_logits(data):
    # log-probabilities differ from logits by a constant per row: the KD loss is the same.
    x, y = data
    plain = DistillModel(dense(seed=1), dense(seed=2))
    logged = DistillModel(
        keras.Sequential([plain.teacher, keras.layers.Activation("log_softmax")]), dense(seed=2)
    )
    for model in (plain, logged):
        model.compile(optimizer="sgd")
    results = [m.evaluate(x, y, batch_size=N, verbose=0) for m in (plain, logged)]
    np.testing.assert_allclose(results[0], results[1], rtol=1e-5)


# -- degenerate data ----------------------------------------------------------------------------
def test_an_empty_x_is_refused_by_the_cache(data):
    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2))
    with pytest.raises(ValueError, match="no examples"):
        model.cache_teacher_logits(x[:0], y[:0])


def test_non_finite_teacher_outputs_are_refused_by_the_cache(data):
    x, y = data
    x = x.copy()
    x[3, 0] = np.nan
    model = DistillModel(dense(seed=1), dense(seed=2))
    with pytest.raises(ValueError, match=r"NaN or infinite for 1 of 32 examples.*example 3"):
        model.cache_teacher_logits(x, y)


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="a TensorFlow assertion")
@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_cached_logits_that_are_not_finite_stop_training(data, value):
    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2))
    model.compile(optimizer="sgd")
    targets = model.cache_teacher_logits(x, y)
    targets["teacher_logits"][5, 1] = value
    with pytest.raises(Exception, match=r"cached teacher logits.*NaN or infinite"):
        model.fit(x, targets, epochs=1, verbose=0)


def test_a_generator_or_py_dataset_is_refused_by_the_cache_with_the_reason(data):
    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2))
    with pytest.raises(ValueError, match=r"arrays .* or a batched tf.data.Dataset.*generator"):
        model.cache_teacher_logits(row for row in x)
    with pytest.raises(ValueError, match="same number of examples; got 32 and 10"):
        model.cache_teacher_logits(x, y[:10])


def test_one_hot_metrics_are_refused_with_the_sparse_alternative():
    model = DistillModel(dense(seed=1), dense(seed=2))
    for metric in ("categorical_accuracy", keras.metrics.CategoricalAccuracy()):
        with pytest.raises(ValueError, match="class ids.*SparseCategoricalAccuracy"):
            model.compile(optimizer="sgd", metrics=[metric])


class SetAlphaAtBatch(keras.callbacks.Callback):
    def __init__(self, batch, alpha):
        super().__init__()
        self.batch, self.alpha, self.losses = batch, alpha, []

    def on_train_batch_begin(self, batch, logs=None):
        if batch == self.batch:
            self.model.alpha = self.alpha

    def on_train_batch_end(self, batch, logs=None):
        self.losses.append((logs["loss"], logs["student_loss"]))


def test_alpha_raised_from_zero_during_fit_takes_effect_at_once(data):
    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2), alpha=0.0)
    model.compile(optimizer="sgd", metrics=["accuracy"])
    callback = SetAlphaAtBatch(1, 1.0)
    model.fit(x, y, batch_size=16, epochs=1, verbose=0, callbacks=[callback])
    # Keras logs running means over the batches. Batch 0 trains at alpha = 0 (its loss is the
    # KD term), batch 1 at alpha = 1: its loss is its hard-label CE, whatever the KD term.
    (loss_0, ce_0), (mean_loss, mean_ce) = callback.losses
    ce_1 = 2 * mean_ce - ce_0
    assert loss_0 != pytest.approx(ce_0, rel=1e-3)  # the premise: the two terms differ
    np.testing.assert_allclose(mean_loss, (loss_0 + ce_1) / 2, rtol=1e-5)


def test_alpha_raised_from_zero_during_an_unlabelled_fit_is_refused(data):
    x, _ = data
    model = DistillModel(dense(seed=1), dense(seed=2), alpha=0.0)
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"alpha > 0 .*no labels"):
        model.fit(
            x, model.cache_teacher_logits(x), batch_size=16, epochs=1, verbose=0,
            callbacks=[SetAlphaAtBatch(1, 0.5)],
        )  # fmt: skip


def test_metric_objects_survive_recompiling_saving_and_loading(data, tmp_path):
    import subprocess
    import sys

    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2))
    model.compile(optimizer="adam", metrics=[keras.metrics.SparseCategoricalAccuracy()])
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "distiller.keras")
    model.save(path)
    model.compile(optimizer="adam", metrics=[keras.metrics.SparseCategoricalAccuracy()])
    assert "sparse_categorical_accuracy" in model.fit(x, y, epochs=1, verbose=0).history
    load = (
        "from kdtutor import DistillModel\nimport keras\n"
        f"print(type(keras.models.load_model({path!r})).__name__)"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", load], capture_output=True, text=True, timeout=300, check=False
    )
    assert loaded.stdout.strip() == "DistillModel", loaded.stderr[-2000:]


def test_an_unbatched_dataset_gets_keras_own_error_not_a_crash_of_ours(data):
    import tensorflow as tf

    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2))
    model.compile(optimizer="adam")
    with pytest.raises(ValueError, match=r"(?i)incompatible shape|expected shape"):
        model.fit(tf.data.Dataset.from_tensor_slices((x, y)), epochs=1, verbose=0)


@pytest.mark.parametrize("loaded_alpha, given_alpha", [(0.5, 0.0), (0.0, 0.5)])
def test_loaded_weights_decide_whether_labels_are_required(
    data, tmp_path, loaded_alpha, given_alpha
):
    x, y = data
    saved = DistillModel(dense(seed=1), dense(seed=2), alpha=loaded_alpha)
    saved.compile(optimizer="sgd")
    saved.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "distiller.weights.h5")
    saved.save_weights(path)
    model = DistillModel(dense(seed=1), dense(seed=2), alpha=given_alpha)
    model.compile(optimizer="sgd")
    model.evaluate(x, model.cache_teacher_logits(x, y), verbose=0)  # traced with given_alpha
    model.load_weights(path)
    assert model.alpha == loaded_alpha
    unlabelled = model.cache_teacher_logits(x)
    if loaded_alpha > 0:
        with pytest.raises(ValueError, match="alpha > 0"):
            model.evaluate(x, unlabelled, verbose=0)
    else:
        assert model.evaluate(x, unlabelled, verbose=0, return_dict=True)["student_loss"] == 0


@pytest.mark.parametrize("where", ["metrics", "weighted_metrics"])
@pytest.mark.parametrize("metric", ["categorical_accuracy", "AUC", "mse"])
def test_metrics_that_do_not_read_class_ids_are_refused(where, metric):
    metric = keras.metrics.AUC() if metric == "AUC" else metric
    model = DistillModel(dense(seed=1), dense(seed=2))
    with pytest.raises(ValueError, match="class ids.*'accuracy' or a sparse metric"):
        model.compile(optimizer="sgd", **{where: [metric]})


def test_a_metric_of_ones_own_is_trusted_with_class_ids(data):
    x, y = data

    def hits(labels, logits):
        return keras.ops.cast(
            keras.ops.equal(keras.ops.cast(labels, "int32"), keras.ops.argmax(logits, -1)),
            "float32",
        )

    model = DistillModel(dense(seed=1), dense(seed=2))
    model.compile(optimizer="sgd", metrics=[hits, "accuracy"])
    scores = model.evaluate(x, y, verbose=0, return_dict=True)
    assert scores["hits"] == pytest.approx(scores["accuracy"])


def test_a_student_that_shares_weights_with_the_teacher_is_refused():
    teacher = dense(seed=1)
    with pytest.raises(ValueError, match=r"shares 2 weights with the teacher.*never train"):
        DistillModel(teacher, teacher)
    hidden = keras.layers.Dense(5)
    shared_teacher = keras.Sequential([keras.Input((FEATURES,)), hidden, keras.layers.Dense(4)])
    student = keras.Sequential([keras.Input((FEATURES,)), hidden, keras.layers.Dense(4)])
    with pytest.raises(ValueError, match="shares 2 weights"):
        DistillModel(shared_teacher, student)


def test_export_student_takes_bytes_and_expands_the_home_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    model = DistillModel(dense(seed=1), dense(seed=2))
    assert model.export_student("~/out/s.keras") == str(tmp_path / "out" / "s.keras")
    assert (tmp_path / "out" / "s.keras").is_file()
    assert model.export_student(os.fsencode(tmp_path / "b.keras")) == str(tmp_path / "b.keras")


def test_teachers_and_students_built_by_the_first_batch_train(data):
    x, y = data

    def unbuilt(seed):
        keras.utils.set_random_seed(seed)
        return keras.Sequential([keras.layers.Dense(8, activation="relu"), keras.layers.Dense(4)])

    model = DistillModel(unbuilt(1), unbuilt(2))
    model.compile(optimizer="adam")
    history = model.fit(x, y, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert model.predict(x, verbose=0).shape == (N, CLASSES)


def test_datasets_the_cache_cannot_read_are_refused_with_the_fix(data):
    import tensorflow as tf

    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2))
    repeating = tf.data.Dataset.from_tensor_slices((x, y)).batch(8).repeat()
    with pytest.raises(ValueError, match=r"repeats forever.*before `.repeat\(\)`"):
        model.cache_teacher_logits(repeating)
    for unbatched in (
        tf.data.Dataset.from_tensor_slices((x, y)),
        tf.data.Dataset.from_tensor_slices(x),
    ):
        with pytest.raises(ValueError, match=r"unbatched.*dataset.batch\(256\)"):
            model.cache_teacher_logits(unbatched)


def test_crossentropy_metrics_must_read_logits(data):
    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2), alpha=1.0)
    for metric in (
        "sparse_categorical_crossentropy",
        keras.metrics.SparseCategoricalCrossentropy(),
    ):
        with pytest.raises(ValueError, match="logits|class ids"):
            model.compile(optimizer="sgd", metrics=[metric])
    model.compile(
        optimizer="sgd", metrics=[keras.metrics.SparseCategoricalCrossentropy(from_logits=True)]
    )
    scores = model.evaluate(x, y, batch_size=N, verbose=0, return_dict=True)
    logits = keras.ops.convert_to_numpy(model.student(x)).astype(np.float64)
    expected = -np_log_softmax(logits)[np.arange(N), y].mean()
    np.testing.assert_allclose(scores["sparse_categorical_crossentropy"], expected, rtol=1e-5)


def test_a_legacy_h5_file_loads_after_importing_distill_model(data, tmp_path):
    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2))
    model.compile(optimizer="sgd")
    model.fit(x, y, epochs=1, verbose=0)
    path = str(tmp_path / "distiller.h5")
    model.save(path)
    loaded = keras.models.load_model(path)
    assert type(loaded) is DistillModel
    np.testing.assert_allclose(loaded.predict(x, verbose=0), model.predict(x, verbose=0))


@pytest.mark.parametrize("temperature", [1e-300, 1e-40, 0.005])
def test_temperatures_too_small_for_float32_are_refused(temperature):
    from kdtutor import softened_softmax

    with pytest.raises(ValueError, match=r"temperature.*\[0.01, 100\]"):
        DistillModel(dense(seed=1), dense(seed=2), temperature=temperature)
    with pytest.raises(ValueError, match="MIN_TEMPERATURE"):
        softened_softmax(np.zeros((1, 3)), temperature)


def test_cached_targets_cached_again_are_refused_with_the_reason(data):
    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2))
    model.compile(optimizer="sgd")
    cached = model.cache_teacher_logits(x, y)
    with pytest.raises(ValueError, match=r"labels as `y` \(an array\), not a dict"):
        model.cache_teacher_logits(x, cached)
    with pytest.raises(ValueError, match=r"y\['labels'\] is a dict"):
        model.fit(x, {"labels": {"labels": y}}, epochs=1, verbose=0)


def test_a_weight_per_class_is_refused_with_the_keras_way(data):
    x, y = data
    model = DistillModel(dense(seed=1), dense(seed=2))
    model.compile(optimizer="sgd")
    with pytest.raises(ValueError, match=r"one weight per example.*\(32, 4\).*class_weight"):
        model.fit(x, y, sample_weight=np.ones((N, CLASSES)), epochs=1, verbose=0)


def test_the_two_loss_terms_are_reported_per_example_like_the_loss(data):
    # 33 examples in batches of 32, and a generator whose length Keras does not know: the
    # reported terms combine into the reported loss, as alpha weighs them.
    x, y = data
    x33, y33 = np.concatenate([x, x[:1]]), np.concatenate([y, y[:1]])
    model = DistillModel(dense(seed=1), dense(seed=2), alpha=0.3)
    model.compile(optimizer="sgd")
    scores = model.evaluate(x33, y33, batch_size=32, verbose=0, return_dict=True)
    combined = 0.3 * scores["student_loss"] + 0.7 * scores["distillation_loss"]
    np.testing.assert_allclose(scores["loss"], combined, rtol=1e-5)
    batches = ((x[i : i + 8], y[i : i + 8]) for i in range(0, N, 8))
    streamed = model.evaluate(batches, verbose=0, return_dict=True)
    whole = model.evaluate(x, y, batch_size=8, verbose=0, return_dict=True)
    for name in ("loss", "student_loss", "distillation_loss"):
        np.testing.assert_allclose(streamed[name], whole[name], rtol=1e-5)


def test_an_empty_batch_adds_nothing_to_the_losses(data):
    x, y = data

    def batches():
        yield x[:8], y[:8]
        yield x[:0], y[:0]
        yield x[8:16], y[8:16]

    model = DistillModel(dense(seed=1), dense(seed=2))
    model.compile(optimizer="sgd")
    streamed = model.evaluate(batches(), verbose=0, return_dict=True)
    whole = model.evaluate(x[:16], y[:16], batch_size=8, verbose=0, return_dict=True)
    for name in ("loss", "student_loss", "distillation_loss"):
        np.testing.assert_allclose(streamed[name], whole[name], rtol=1e-5)
