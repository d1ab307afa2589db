"""What ``DistillModel`` checks and prepares about its inputs (private).

Its models (one output of class logits, no softmax), its targets (labels and/or cached
teacher logits), its sample weights and metrics, and the teacher logits it caches. Kept
apart so that :mod:`kdtutor.distill` reads as the lesson: the loss and the model.
"""

from __future__ import annotations

import contextlib
import sys

import keras
import numpy as np
from keras import ops

from kdtutor.logits import PROBABILITY_TOLERANCE as TOLERANCE
from kdtutor.logits import (
    final_activation,
    final_softmax_layer,
    how_to_output_logits,
    refuse_probabilities,
)

LABELS_KEY = "labels"
TEACHER_LOGITS_KEY = "teacher_logits"

# The Keras metrics that read class ids against logits, by name without "_" (lower case).
# (SparseCategoricalCrossentropy only with from_logits=True: DistillModel's outputs are logits.)
_CLASS_ID_METRICS = {
    "accuracy", "acc", "sparsecategoricalaccuracy", "sparsetopkcategoricalaccuracy",
}  # fmt: skip


def check_models(teacher, student) -> None:
    """Every check DistillModel makes of its two models before any data."""
    check_model("teacher", teacher)
    check_model("student", student)
    shapes = output_shape(teacher, "teacher"), output_shape(student, "student")
    check_logits_shapes(*shapes, "before training")
    refuse_shared_weights(teacher, student)


def check_model(role: str, model) -> None:
    """Refuse a ``role`` model that is not a Keras layer or that outputs probabilities.

    A final softmax layer shows in the layers; a softmax applied inside ``call()`` only in
    the values, so a model whose input shape is known is run once on random inputs.
    """
    if not isinstance(model, keras.layers.Layer):
        raise ValueError(
            f"`{role}` must be a Keras model; got {type(model).__name__}. Build it with "
            f"kdtutor.make_{role}() or any keras.Model that outputs logits."
        )
    fix = how_to_output_logits(role, model)
    layer = final_softmax_layer(model)
    if layer is not None:
        raise ValueError(
            f"The {role} ({model.name!r}) ends in a softmax (layer {layer.name!r}), so it "
            f"outputs probabilities, but distillation needs logits: the temperature "
            f"divides the logits before the softmax. {fix}"
        )
    if final_activation(model) == "sigmoid":
        raise ValueError(
            f"The {role} ({model.name!r}) ends in a sigmoid, so it outputs one probability per "
            "class, but distillation softens logits with a softmax. Fix: build its last layer "
            "with no activation (the values before the sigmoid are the logits)."
        )
    check_outputs_are_logits(role, model)


def check_single_output(role: str, output) -> None:
    """Refuse a list or dict of outputs where one tensor of logits is needed."""
    if isinstance(output, dict | list | tuple):
        raise ValueError(
            f"The {role} returned a {type(output).__name__} of {len(output)} outputs, but "
            "distillation needs one tensor: the class logits, shape (batch, num_classes). "
            "Pass a model that returns only them."
        )


def assert_cached_logits(cached_logits) -> None:
    """Fail a training step whose cached ``y["teacher_logits"]`` are not finite logits.

    Their values exist only when the traced step runs, so this is a TensorFlow assertion op,
    a few reductions per batch; JAX cannot raise from a compiled step (there, and for every
    backend, ``cache_teacher_logits()`` refuses such values when it computes them).
    """
    if keras.backend.backend() != "tensorflow":
        return
    import tensorflow as tf

    rows_sum_to_one = ops.all(ops.abs(ops.sum(cached_logits, axis=-1) - 1.0) <= TOLERANCE)
    probabilities = ops.logical_and(ops.all(cached_logits >= 0), rows_sum_to_one)
    where = f"The cached teacher logits (y[{TEACHER_LOGITS_KEY!r}])"
    fix = "Fix: compute them with `cache_teacher_logits()` from a teacher that outputs logits."
    tf.debugging.Assert(
        ops.logical_not(probabilities),
        [f"{where} look like probabilities (every row is non-negative and sums to 1), but "
         f"distillation needs logits. {fix}"],
    )  # fmt: skip
    tf.debugging.Assert(
        ops.all(ops.isfinite(cached_logits)), [f"{where} contain NaN or infinite values. {fix}"]
    )


def refuse_non_finite(logits, what: str) -> None:
    """Raise ``ValueError`` when ``logits`` hold NaN or infinite values."""
    bad = ~np.isfinite(logits).all(axis=tuple(range(1, np.ndim(logits))))
    if bad.any():
        raise ValueError(
            f"{what} are NaN or infinite for {int(bad.sum())} of {len(bad)} examples (the first "
            f"is example {int(np.argmax(bad))}). Check those inputs for NaN or infinite values "
            "(under mixed precision, the teacher's float16 logits may also overflow)."
        )


def check_logits_shapes(teacher_shape, student_shape, where: str) -> None:
    """Both outputs must be ``(batch, num_classes)`` logits with the same ``num_classes``."""
    for role, shape in (("teacher", teacher_shape), ("student", student_shape)):
        if shape is None:
            continue
        if len(shape) != 2 or (shape[1] is not None and shape[1] < 2):
            raise ValueError(
                f"The {role} must output one logit per class, shape (batch, num_classes) with "
                f"num_classes >= 2; {where} its output has shape {tuple(shape)}. A model with "
                "several outputs, a sequence output or a single binary logit cannot be distilled "
                "with this loss: give it a final Dense(num_classes) layer with no activation."
            )
    if teacher_shape is not None and student_shape is not None:
        if teacher_shape[1] is not None and teacher_shape[1] != student_shape[1]:
            raise ValueError(
                f"The teacher and student outputs must have the same shape, one logit per "
                f"class; got teacher output shape {tuple(teacher_shape)} and student output "
                f"shape {tuple(student_shape)} ({where}). Build both with the same `num_classes`."
            )


def output_shape(model, role: str):
    """``model``'s output shape when it is known before any data, else None."""
    try:
        shape = model.output_shape
    except (AttributeError, ValueError):
        return None
    if isinstance(shape, dict) or isinstance(shape, list) and len(shape) != 1:
        raise ValueError(
            f"The {role} ({model.name!r}) has {len(shape)} outputs, but distillation needs one: "
            "the class logits, shape (batch, num_classes). Pass a model that returns only them."
        )
    return tuple(shape[0] if isinstance(shape, list) else shape)


def probe_batch(model, input_shape=None):
    """Eight random images of ``model``'s float input, or None when its input is not known."""
    if input_shape is None:
        try:
            inputs = model.inputs  # Sequential and Functional models
        except (AttributeError, ValueError):
            inputs = None
        if inputs:
            if len(inputs) != 1 or "float" not in str(inputs[0].dtype):
                return None
            input_shape = inputs[0].shape
        elif model.built:  # a subclassed model that was built or called once
            input_shape = (model.get_build_config() or {}).get("input_shape")
    if not isinstance(input_shape, tuple | list) or not input_shape:
        return None
    shape = tuple(input_shape[1:])
    if not all(isinstance(size, int) for size in shape):
        return None
    return np.random.default_rng(0).random((8, *shape), dtype=np.float32)


def check_outputs_are_logits(role: str, model, input_shape=None) -> None:
    """Run ``model`` once on random inputs (when their shape is known); refuse probabilities.

    A softmax applied inside ``call()`` shows only in the values; a traced training step
    has none, so this runs eagerly, escaping the trace when called from ``build()``.
    """
    batch = probe_batch(model, input_shape)
    if batch is None:
        return
    with _eager():
        outputs = model(batch, training=False)
    check_single_output(role, outputs)
    fix = how_to_output_logits(role, model)
    refuse_probabilities(outputs, f"The {role}'s ({model.name!r}) outputs", fix)


def build_and_check_outputs(role: str, model, input_shape) -> None:
    """Build a model given without its input shape, then check its outputs are logits.

    Called from ``DistillModel.build()``, which Keras may call while tracing a step: both run
    eagerly, so the weights exist with their values when the model is run on random inputs.
    """
    with _eager():
        model.build(input_shape)
    check_outputs_are_logits(role, model, input_shape)


def _eager():
    """A context in which Keras ops on concrete values run eagerly, even while tracing."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.init_scope()
    if backend == "jax":
        import jax

        return jax.ensure_compile_time_eval()
    return contextlib.nullcontext()


def split_targets(y):
    """``(labels, teacher_logits)`` from what fit() was given as ``y``."""
    if not isinstance(y, dict):
        return y, None
    unknown = set(y) - {LABELS_KEY, TEACHER_LOGITS_KEY}
    if unknown:
        raise ValueError(
            f"Unknown target keys {sorted(unknown)}: DistillModel targets are labels, or "
            f"a dict with keys {LABELS_KEY!r} and/or {TEACHER_LOGITS_KEY!r}."
        )
    if isinstance(y.get(LABELS_KEY), dict):
        raise ValueError(
            f"y[{LABELS_KEY!r}] is a dict, but it must hold the labels (an array). Were cached "
            "targets cached again? Pass cache_teacher_logits() the plain labels or dataset."
        )
    return y.get(LABELS_KEY), y.get(TEACHER_LOGITS_KEY)


def per_example_weights(sample_weight):
    """One weight per example (Keras copies a `sample_weight` array onto each key of dict y)."""
    if isinstance(sample_weight, dict):
        sample_weight = sample_weight.get(LABELS_KEY, sample_weight.get(TEACHER_LOGITS_KEY))
    if sample_weight is None:
        return None
    shape = tuple(sample_weight.shape)
    if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
        raise ValueError(
            f"`sample_weight` must hold one weight per example, shape (N,) or (N, 1); got shape "
            f"{shape}. For a weight per class, pass class_weight={{class: weight}} with labels."
        )
    return ops.reshape(ops.cast(sample_weight, "float32"), (-1,))


def is_tf_dataset(data) -> bool:
    # Without importing TensorFlow: if it is not imported, `data` cannot be a tf.data.Dataset.
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(data, tf.data.Dataset)


def array_batches(x, y, batch_size: int):
    """``(x, y)`` batches of arrays, for cache_teacher_logits(); other kinds of data refused."""
    leaves = keras.tree.flatten(x)
    if not leaves or not all(
        hasattr(leaf, "shape") and hasattr(leaf, "__len__") for leaf in leaves
    ):
        raise ValueError(
            f"cache_teacher_logits() takes arrays (NumPy, tensors, pandas) or a batched "
            f"tf.data.Dataset as `x`; got {type(x).__name__}. A generator or PyDataset cannot "
            "be read twice in the same order: cache from the arrays it is built from."
        )
    size = len(leaves[0])
    if isinstance(y, dict):
        raise ValueError(
            "cache_teacher_logits() takes the labels as `y` (an array), not a dict of targets; "
            "the dict it returns already holds them."
        )
    if y is not None and len(y) != size:
        raise ValueError(
            f"`x` and `y` must hold the same number of examples; got {size} and {len(y)}."
        )
    for start in range(0, size, batch_size):
        part = keras.tree.map_structure(lambda a, s=start: np.asarray(a[s : s + batch_size]), x)
        yield (part,) if y is None else (part, np.asarray(y[start : start + batch_size]))


def refuse_metrics_of_other_labels(*metric_lists) -> None:
    """Refuse Keras' own metrics that do not read class ids (one-hot, binary, regression).

    DistillModel gives compiled metrics the labels as class ids; a metric written by the user
    (not from Keras) is trusted to read them.
    """
    for metric in keras.tree.flatten([m for m in metric_lists if m is not None]):
        if isinstance(metric, str):
            name, from_keras = metric, True
        else:
            is_function = hasattr(metric, "__name__") and not isinstance(metric, keras.Metric)
            kind = metric if is_function else type(metric)
            name, from_keras = kind.__name__, kind.__module__.startswith("keras.")
        if isinstance(metric, keras.metrics.SparseCategoricalCrossentropy):
            if not metric.get_config().get("from_logits"):
                raise ValueError(
                    "DistillModel's predictions are logits: compile with "
                    "keras.metrics.SparseCategoricalCrossentropy(from_logits=True)."
                )
        elif from_keras and name.replace("_", "").lower() not in _CLASS_ID_METRICS:
            raise ValueError(
                f"DistillModel gives compiled metrics the labels as class ids, which Keras' "
                f"{name!r} does not read (it expects one-hot or binary labels). Use 'accuracy' "
                "or a sparse metric (keras.metrics.SparseCategoricalAccuracy, "
                "SparseTopKCategoricalAccuracy), or evaluate model.student on other labels."
            )


def refuse_shared_weights(teacher, student) -> None:
    """Refuse a student that shares weights with the teacher: the frozen teacher's stay fixed."""
    frozen = {id(variable) for variable in teacher.weights}
    shared = [variable.path for variable in student.weights if id(variable) in frozen]
    if shared:
        raise ValueError(
            f"The student shares {len(shared)} weights with the teacher (e.g. {shared[0]!r}). "
            "The teacher is frozen, so those weights would never train. Give the student "
            "layers of its own (e.g. keras.models.clone_model(layer_or_model))."
        )


def check_finite_and_batched(dataset, teacher) -> None:
    """Refuse a tf.data.Dataset that never ends or yields one example at a time."""
    import tensorflow as tf

    if dataset.cardinality() == tf.data.INFINITE_CARDINALITY:
        raise ValueError(
            "cache_teacher_logits() got a tf.data.Dataset that repeats forever (`.repeat()` "
            "without a count), so it would never finish. Cache the dataset before `.repeat()`, "
            "then repeat the result."
        )
    x_spec, y_spec, _ = keras.utils.unpack_x_y_sample_weight(dataset.element_spec)
    label_ranks = [len(spec.shape) for spec in keras.tree.flatten(y_spec) if spec is not None]
    try:
        one_example = len(keras.tree.flatten(x_spec)[0].shape) == len(teacher.inputs[0].shape) - 1
    except (AttributeError, ValueError, IndexError, TypeError):  # input shape not known
        one_example = False
    if 0 in label_ranks or one_example:
        raise ValueError(
            "cache_teacher_logits() got an unbatched tf.data.Dataset (one example per "
            "element); the teacher runs on batches. Batch it first, e.g. `dataset.batch(256)`."
        )


def cache_teacher_logits(teacher, x, y, batch_size: int):
    """See ``DistillModel.cache_teacher_logits``: one pass of the teacher over the data."""
    dataset = is_tf_dataset(x)
    if dataset and y is not None:
        raise ValueError(
            "cache_teacher_logits() takes the labels from the dataset when `x` is a "
            f"tf.data.Dataset; got `y` of type {type(y).__name__} too. Pass y=None."
        )
    if dataset:
        check_finite_and_batched(x, teacher)
    columns = [[], [], [], []]  # x, y, sample_weight, teacher logits of each batch
    for batch in x if dataset else array_batches(x, y, batch_size):
        xb, yb, wb = keras.tree.map_structure(
            lambda a: None if a is None else ops.convert_to_numpy(a),
            keras.utils.unpack_x_y_sample_weight(batch),
        )
        # predict_on_batch(): training=False, in the same compiled function for every batch.
        check_single_output("teacher", logits := teacher.predict_on_batch(xb))
        for column, value in zip(columns, (xb, yb, wb, ops.convert_to_numpy(logits)), strict=True):
            column.append(value)
    if not columns[3]:
        raise ValueError("cache_teacher_logits() got no examples: `x` is empty.")
    xs, ys, ws, logits = (
        None if column[0] is None
        else keras.tree.map_structure(lambda *parts: np.concatenate(parts), *column)
        for column in columns
    )  # fmt: skip
    logits = logits.astype("float32")
    refuse_non_finite(logits, f"The teacher's ({teacher.name!r}) outputs")
    fix = how_to_output_logits("teacher", teacher)
    refuse_probabilities(logits, f"The teacher's ({teacher.name!r}) outputs", fix)
    targets = {TEACHER_LOGITS_KEY: logits}
    if ys is not None:
        targets[LABELS_KEY] = ys if dataset else y
    if not dataset:
        return targets
    import tensorflow as tf

    data = (xs, targets) if ws is None else (xs, targets, ws)
    return tf.data.Dataset.from_tensor_slices(data).batch(len(columns[3][0]))
