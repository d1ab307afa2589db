"""The exercises' self-checks: right or wrong, with a hint, never the answer.

Each notebook ends with exercises; each one is checked by a ``check_<name>(answer, ...)``
function here. A check computes the right answer itself, from what the notebook passes in
(a model, the data, the run's numbers), so neither the learner's cell nor this message
holds it. It prints one line and returns ``True`` for a right answer, ``False`` otherwise;
an answer left at ``None`` only says how to start. Reference solutions live in
``notebooks/solutions/``.
"""

from __future__ import annotations

import math
import numbers

__all__: list[str] = []


def _verdict(correct: bool, hint: str) -> bool:
    """Print "Correct!" or "Not yet" with ``hint`` (which must not contain the answer)."""
    print("Correct!" if correct else f"Not yet. {hint}")
    return bool(correct)


def _unanswered(answer, name: str = "answer") -> bool:
    """True (after saying what to do) when the learner has not answered yet."""
    if answer is None:
        print(f"Set `{name}` to your answer at the top of this cell, then run the cell again.")
        return True
    return False


def _is_number(value) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _close(answer, expected: float, *, rel: float = 0.02, abs_: float = 0.0) -> bool:
    """A numeric answer within ``rel`` (relative) or ``abs_`` of ``expected``."""
    return _is_number(answer) and math.isclose(float(answer), expected, rel_tol=rel, abs_tol=abs_)


# Each notebook's checks follow, in notebook order; each name is added to __all__.


# --- notebook 01 ---
__all__ += [
    "check_dense_parameters",
    "check_most_missed_class",
    "check_one_epoch_accuracy",
]


def check_dense_parameters(answer, conv2_filters: int = 128) -> bool:
    """Exercise 1 of notebook 01: the parameters of the CNN teacher's ``dense`` layer, changed.

    The quick profile's teacher (:func:`kdtutor.make_teacher`) is rebuilt with
    ``conv2_filters`` filters in its second convolution instead of 64; ``answer`` is the number
    of parameters (weights and biases) of its ``dense`` layer then. The check builds that
    model, counts them and prints the verdict with a hint that names the usual slip.
    """
    if _unanswered(answer, "answer_1"):
        return False
    if not _is_number(answer) or float(answer) != int(answer):
        return _verdict(False, "Answer with one whole number of parameters.")
    from kdtutor.models import make_teacher

    def dense(filters):
        return make_teacher(filters=(32, filters)).get_layer("dense")

    changed, today = dense(conv2_filters), dense(64)
    expected = changed.count_params()
    slips = [
        (
            today.count_params(),
            "That is the layer as it is today: a wider conv2 changes what `flatten` passes on.",
        ),
        (expected - changed.units, "Almost: every unit of `dense` also has a bias."),
        (
            today.count_params() * conv2_filters // 64,
            "Scaling today's count scales the biases too, but `dense` keeps its units.",
        ),
    ]
    hint = next(
        (message for value, message in slips if int(answer) == value),
        "Work out the shape `flatten` outputs with the wider conv2 (the convolutions and "
        "poolings keep the image sizes of the summary, only the channels change), then count "
        "one weight per input and unit, plus one bias per unit.",
    )
    return _verdict(int(answer) == expected, hint)


def check_most_missed_class(answer, y_true, y_pred, class_names) -> bool:
    """Exercise 2 of notebook 01: the true class the teacher gets wrong most often.

    ``y_true`` (the test labels) and ``y_pred`` (the teacher's predicted classes) are ``(N,)``
    integer class ids indexing ``class_names``. ``answer`` is a class name from
    ``class_names`` (or its index); any class tied for the most errors is right. The hint
    tells a row (true class) from a column (the teacher's answer) of the confusion matrix.
    """
    import numpy as np

    if _unanswered(answer, "answer_2"):
        return False
    names = [str(name) for name in class_names]
    if isinstance(answer, str) and answer in names:
        index = names.index(answer)
    elif isinstance(answer, numbers.Integral) and not isinstance(answer, bool):
        index = int(answer) if 0 <= int(answer) < len(names) else None
    else:
        index = None
    if index is None:
        return _verdict(False, "Answer with one of the names in `data.class_names`.")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = y_true != y_pred
    missed = np.bincount(y_true[wrong], minlength=len(names))
    given = np.bincount(y_pred[wrong], minlength=len(names))
    if missed[index] == missed.max():
        return _verdict(True, "")
    if given[index] == given.max():
        return _verdict(
            False,
            "That class is the teacher's most frequent wrong *answer* (a column); the "
            "question is about the true class (a row).",
        )
    return _verdict(
        False, "Add up the off-diagonal cells of each row (row = true class) and compare."
    )


def check_one_epoch_accuracy(answer, data, settings, *, seed: int = 0) -> bool:
    """Exercise 3 of notebook 01: the test accuracy of the teacher after a single epoch.

    ``data`` is a :class:`kdtutor.Dataset`; ``settings`` the notebook's resolved profile
    (``teacher``, ``batch_size``, ``learning_rate`` are used). The check trains that teacher
    for one epoch with ``seed``, the recipe of :func:`kdtutor.training.train_teacher` (a few
    seconds on mnist-5k), and accepts an ``answer`` (a fraction in [0, 1]) within one point
    of its test accuracy: floating-point sums may differ a little from run to run.
    """
    if _unanswered(answer, "answer_3"):
        return False
    if not _is_number(answer) or not 0 <= answer <= 100:
        return _verdict(False, "Answer with the test accuracy as a fraction in [0, 1].")
    if answer > 1:
        return _verdict(False, "Give the accuracy as a fraction in [0, 1], not in percent.")
    from kdtutor.training import train_teacher

    teacher, _ = train_teacher(
        data,
        architecture=settings["teacher"],
        epochs=1,
        batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"],
        seed=seed,
    )
    _, expected = teacher.evaluate(data.x_test, data.y_test, verbose=0)
    return _verdict(
        _close(answer, expected, rel=0.0, abs_=0.01),
        "Set TEACHER_EPOCHS = 1 in the parameters cell, run the notebook again and read the "
        "printed test accuracy (`evaluate` gives it as a fraction).",
    )


# --- notebook 02 ---
__all__ += [
    "check_argmax_under_temperature",
    "check_kd_loss_by_hand",
    "check_peak_temperature",
]


def _softmax(logits, temperature: float):
    import numpy as np

    scaled = np.asarray(logits, dtype=np.float64) / temperature
    exp = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


def check_argmax_under_temperature(answer, logits, temperatures=(0.5, 2.0, 8.0, 20.0)) -> bool:
    """Exercise 1 of notebook 02: does dividing the logits by T change the predicted class?

    ``answer`` is ``True`` (it changes) or ``False`` (it does not); ``logits`` has shape
    ``(N, num_classes)``. The check compares the argmax of ``softmax(logits / T)`` with the
    argmax of the logits for every T in ``temperatures`` (all > 0) and prints the verdict.
    """
    import numpy as np

    if _unanswered(answer, "answer_1"):
        return False
    if not isinstance(answer, bool | np.bool_):
        return _verdict(False, "Answer with a Python bool, not a number or a string.")
    logits = np.asarray(logits, dtype=np.float64)
    changes = any(
        (_softmax(logits, t).argmax(axis=-1) != logits.argmax(axis=-1)).any() for t in temperatures
    )
    return _verdict(
        bool(answer) == changes,
        "Compare `logits.argmax(axis=1)` with the argmax of "
        "`kdtutor.softened_softmax(logits, t)` for a few temperatures t > 0.",
    )


def check_kd_loss_by_hand(answer, teacher_logits, student_logits, temperature: float) -> bool:
    """Exercise 2 of notebook 02: the distillation loss of one example, computed by hand.

    ``teacher_logits`` and ``student_logits`` are ``(num_classes,)`` vectors; ``answer`` is
    ``T**2 * KL(p || q)`` with ``p = softmax(teacher_logits / T)``, ``q = softmax(student_logits
    / T)`` and natural logarithms. The check computes it in NumPy and accepts an answer within
    0.1 %; its hint names the usual slip (no ``T**2``, the KL the wrong way round, log base 2).
    """
    import numpy as np

    if _unanswered(answer, "answer_2"):
        return False
    p = _softmax(teacher_logits, temperature)
    q = _softmax(student_logits, temperature)
    expected = float(temperature**2 * np.sum(p * np.log(p / q)))
    if _close(answer, expected, rel=1e-3, abs_=1e-6):
        return _verdict(True, "")
    slips = [
        (expected / temperature**2, "Did you multiply the KL divergence by T²?"),
        (
            float(temperature**2 * np.sum(q * np.log(q / p))),
            "KL(p‖q) weights by p, the teacher's soft targets: sum p·log(p/q), not q·log(q/p).",
        ),
        (expected / np.log(2), "Use the natural logarithm (np.log), not log base 2."),
    ]
    hint = next(
        (message for value, message in slips if _close(answer, value, rel=1e-3, abs_=1e-6)),
        "Soften both logits with the same T, then take T² · sum p·log(p/q) (np.log).",
    )
    return _verdict(False, hint)


def check_peak_temperature(answer, logits, class_index: int) -> bool:
    """Exercise 3 of notebook 02: the temperature at which one class's probability peaks.

    ``logits`` is one example's ``(num_classes,)`` vector and ``class_index`` a class other
    than its argmax (e.g. the look-alike). Its softened probability ``softmax(logits / T)``
    first rises with T, then falls towards uniform; ``answer`` is the T of the peak. The
    check finds it on a fine logarithmic grid and accepts an answer within 5 %.
    """
    import numpy as np

    if _unanswered(answer, "answer_3"):
        return False
    if not _is_number(answer) or answer <= 0:
        return _verdict(False, "Answer with one positive number: a temperature.")
    grid = np.geomspace(0.01, 1000.0, 20_001)
    probability = _softmax(np.asarray(logits)[None, :] / grid[:, None], 1.0)[:, class_index]
    peak = int(probability.argmax())
    if peak == len(grid) - 1:  # still rising at the grid's end: any very large T is right
        return _verdict(answer >= grid[-1] / 2, "Try larger and larger temperatures.")
    return _verdict(
        _close(answer, float(grid[peak]), rel=0.05),
        "Compute the class's probability for many temperatures, e.g. "
        "`np.geomspace(0.5, 50, 400)`, and take the T where it is largest.",
    )


# --- notebook 03 ---
__all__ += [
    "check_alpha_one_loss",
    "check_parameter_ratio",
    "check_teacher_logits_repeatable",
]


def check_alpha_one_loss(answer, teacher, student, x, y) -> bool:
    """Exercise 1 of notebook 03: which Keras loss is the distillation loss with ``alpha = 1``?

    ``answer`` is a Keras loss: an instance of a ``keras.losses`` class, a loss function or a
    name that ``keras.losses.get`` knows. ``teacher`` and ``student`` output logits; ``x``
    and ``y`` are a batch of images and integer labels. The check computes the loss of a
    :class:`kdtutor.DistillModel` with ``alpha = 1`` on that batch and compares it with the
    batch mean of ``answer(y, student(x))``.
    """
    if _unanswered(answer, "answer_1"):
        return False
    import keras

    from kdtutor.distill import DistillModel

    logits = student(x, training=False)
    try:
        loss = keras.losses.get(answer) if isinstance(answer, str) else answer
        value = float(keras.ops.mean(loss(y, logits)))
    except Exception:
        return _verdict(
            False,
            "Answer with a Keras loss, e.g. an instance of a class of keras.losses, that "
            "takes (labels, student outputs).",
        )
    expected = float(
        DistillModel(teacher, student, alpha=1.0).compute_loss(x=x, y=y, y_pred=logits)
    )
    return _verdict(
        _close(value, expected, rel=1e-4, abs_=1e-6),
        "On this batch your loss gives another value than the distiller with alpha = 1. "
        "Which term does alpha weigh, and what does the student output?",
    )


def check_parameter_ratio(answer, teacher, hidden_units=(32,), num_classes: int = 10) -> bool:
    """Exercise 2 of notebook 03: how many times more parameters the teacher has than a student.

    The student is the series' MLP (:func:`kdtutor.make_student`) with ``hidden_units`` and
    ``num_classes`` outputs, taking the teacher's input shape. ``answer`` is the number of
    times more parameters ``teacher`` has (a number, within 1 %). The check builds that
    student and counts its parameters itself.
    """
    if _unanswered(answer, "answer_2"):
        return False
    from kdtutor.models import make_student

    student = make_student(
        tuple(teacher.input_shape[1:]), num_classes, hidden_units=tuple(hidden_units)
    )
    expected = teacher.count_params() / student.count_params()
    if not _is_number(answer):
        return _verdict(False, "Answer with a number: how many times more, not a count.")
    return _verdict(
        _close(answer, expected, rel=0.01),
        "Count the student from its layer sizes: every Dense layer has a weight per "
        "(input, unit) pair and a bias per unit; which model has more, and how many times?",
    )


def check_teacher_logits_repeatable(answer, teacher, x) -> bool:
    """Exercise 3 of notebook 03: would the teacher called with ``training=True`` repeat itself?

    ``answer`` (True or False) says whether ``teacher(x, training=True)`` gives the same
    logits on two calls for the same images ``x`` (within 1e-6), which is what caching its
    logits relies on. The check calls the teacher twice itself.
    """
    if _unanswered(answer, "answer_3"):
        return False
    import numpy as np

    if not isinstance(answer, bool | np.bool_):
        return _verdict(False, "Answer with a bool, not a string or a number.")
    first, second = (np.asarray(teacher(x, training=True)) for _ in range(2))
    expected = bool(np.allclose(first, second, rtol=0.0, atol=1e-6))
    return _verdict(
        bool(answer) == expected,
        "Look at the teacher's layers (teacher.summary()): which of them behave "
        "differently in training mode?",
    )


# --- notebook 04 ---
__all__ += [
    "check_quantized_pixel",
    "check_int8_file_size",
    "check_pruned_gzip_ratio",
]


def check_quantized_pixel(answer, tflite_model, pixel: float = 0.25) -> bool:
    """Exercise 1 of notebook 04: the int8 value a full-integer model's input gets for a pixel.

    ``tflite_model`` is an int8 ``.tflite`` model (bytes or a path, e.g. the notebook's
    ``teacher_int8``) and ``pixel`` a brightness in [0, 1]. The check reads the scale and zero
    point of the model's input, quantizes ``pixel`` as a caller must before ``set_tensor``
    (divide by the scale, add the zero point, round to the nearest integer, clip to int8) and
    accepts that whole number; the hints name the usual slips without the value.
    """
    import numpy as np

    from kdtutor import litert

    if _unanswered(answer, "answer_1"):
        return False
    if not _is_number(answer) or float(answer) != int(answer):
        return _verdict(False, "Answer with one whole number: int8 values are integers.")
    _, detail, _ = litert._interpreter(tflite_model, 1)  # quiet: no XNNPACK banner
    if not np.issubdtype(np.dtype(detail["dtype"]), np.integer):
        return _verdict(False, "This model takes float inputs; pass the int8 model.")
    scale, zero_point = detail["quantization"]
    limits = np.iinfo(np.dtype(detail["dtype"]))

    def clipped(value):
        return int(np.clip(value, limits.min, limits.max))

    expected = clipped(np.round(pixel / scale + zero_point))
    slips = [
        (clipped(np.round(pixel / scale)), "The scale is right; the zero point is missing."),
        (clipped(np.round(pixel / scale - zero_point)), "Check the sign of the zero point."),
        (int(pixel), "That is what a plain cast gives; the model reads it as mid-grey."),
        (clipped(np.floor(pixel / scale + zero_point)), "Round to the nearest integer."),
    ]
    hint = next(
        (message for value, message in slips if int(answer) == value and value != expected),
        "Start from x ≈ s · (q − z) with the input's own scale s and zero point z, and solve "
        "for the integer q.",
    )
    return _verdict(int(answer) == expected, hint)


def check_int8_file_size(answer, model, representative_data, *, tolerance: float = 0.10) -> bool:
    """Exercise 2 of notebook 04: predict the size of a model's int8 ``.tflite`` file.

    ``model`` is a Keras model (in the notebook a 784-64-10 MLP student) and
    ``representative_data`` training inputs to calibrate it with. The check converts ``model``
    with :func:`kdtutor.litert.to_tflite` (``quantization="int8"``) and accepts an ``answer``
    in bytes within ``tolerance`` (relative) of the file's size; the hints say whether the
    prediction counted float32 bytes, or in which direction it is off, never the size.
    """
    from kdtutor import litert

    if _unanswered(answer, "answer_2"):
        return False
    if not _is_number(answer) or answer <= 0:
        return _verdict(False, "Answer with a number of bytes.")
    tflite_model = litert.to_tflite(
        model,
        quantization="int8",
        representative_data=representative_data,
        num_calibration=min(50, len(representative_data)),
    )
    actual = litert.file_size(tflite_model)
    if _close(answer, actual, rel=tolerance):
        return _verdict(True, "")
    if _close(answer, 4 * model.count_params(), rel=0.25):
        hint = "That counts float32 weights; how many bytes does an int8 weight take?"
    elif _close(answer, 1000 * actual, rel=tolerance) or _close(answer, actual / 1000, rel=0.5):
        hint = "Check the unit: the answer is in bytes (1 kB = 1,000 bytes)."
    else:
        direction = "large" if answer > actual else "small"
        hint = (
            f"Too {direction}. Scale by the parameter counts: how many bytes per parameter "
            "does the student_kd_int8 file hold?"
        )
    return _verdict(False, hint)


def check_pruned_gzip_ratio(answer, model, sparsity: float = 0.5, *, tolerance=0.05) -> bool:
    """Exercise 3 of notebook 04: how much a one-shot pruning shrinks the gzipped file.

    ``model`` is a trained Keras model (the notebook's teacher). The check prunes a copy of it
    once to ``sparsity`` with :func:`kdtutor.prune.prune_weights` (no training), converts both
    to float32 with :func:`kdtutor.litert.to_tflite` and accepts an ``answer`` within
    ``tolerance`` (relative) of ``gzip_size(original) / gzip_size(pruned)``. The hints tell a
    file ratio and a count of zeros from a compressed size, without the ratio.
    """
    import keras

    from kdtutor import litert, prune

    if _unanswered(answer, "answer_3"):
        return False
    if not _is_number(answer) or answer <= 0:
        return _verdict(False, "Answer with a ratio: the original's gzip size / the pruned one's.")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    prune.prune_weights(copy, sparsity)
    original, pruned = litert.to_tflite(model), litert.to_tflite(copy)
    expected = litert.gzip_size(original) / litert.gzip_size(pruned)
    if _close(answer, expected, rel=tolerance):
        return _verdict(True, "")
    if _close(answer, litert.file_size(original) / litert.file_size(pruned), rel=0.01):
        hint = "That is the ratio of the raw files; the question is about their gzip sizes."
    elif _close(answer, 1 / expected, rel=tolerance):
        hint = "Upside down: divide the original's gzip size by the pruned one's."
    elif _close(answer, 1 / (1 - sparsity), rel=0.01):
        hint = (
            "That assumes gzip stores the kept weights and nothing for the zeros; measure it "
            "with litert.gzip_size."
        )
    else:
        hint = "Convert both models with litert.to_tflite and compare litert.gzip_size."
    return _verdict(False, hint)


# --- notebook 05 ---
__all__ += [
    "check_smoothed_target",
    "check_half_recovery_bias",
]


def check_smoothed_target(answer, label_smoothing: float, num_classes: int = 10) -> bool:
    """Exercise 1 of notebook 05: the target label smoothing gives the correct class.

    ``answer`` is the probability that ``keras.losses.CategoricalCrossentropy`` with
    ``label_smoothing`` assigns to an image's correct class among ``num_classes``. The check
    reads it from Keras itself: at all-zero logits the loss's gradient is softmax − target.
    """
    if _unanswered(answer, "answer_1"):
        return False
    if not _is_number(answer) or not 0 <= float(answer) <= 1:
        return _verdict(False, "Answer with one probability between 0 and 1.")
    import keras
    import numpy as np
    import tensorflow as tf

    loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    logits = tf.Variable(np.zeros((1, num_classes), dtype="float32"))
    with tf.GradientTape() as tape:
        value = loss(np.eye(num_classes, dtype="float32")[:1], logits)
    target = 1.0 / num_classes - float(tape.gradient(value, logits).numpy()[0, 0])
    if _close(answer, target, rel=1e-3, abs_=1e-4):
        return _verdict(True, "")
    if _close(answer, 1.0 - label_smoothing, rel=1e-3, abs_=1e-4):
        return _verdict(False, "The smoothed mass is spread over every class, the correct one too.")
    return _verdict(
        False,
        "Keras mixes the one-hot target with the uniform distribution; weigh the two.",
    )


def check_half_recovery_bias(answer, logits, digit: int, *, tolerance: float = 0.1) -> bool:
    """Exercise 2 of notebook 05: the smallest logit bias that recovers half an omitted digit.

    ``logits`` are a student's logits, shape ``(N, num_classes)``, on images that all show
    ``digit``; ``answer`` is the smallest bias which, added to that digit's logit, makes the
    student predict ``digit`` for at least half of them (ties count as misses). A bias up
    to ``tolerance`` above the smallest one is accepted.
    """
    if _unanswered(answer, "answer_2"):
        return False
    if not _is_number(answer):
        return _verdict(False, "Answer with one number: the bias to add to the digit's logit.")
    import numpy as np

    logits = np.asarray(logits, dtype="float64")
    others = np.delete(logits, digit, axis=1).max(axis=1)
    needed = np.sort(others - logits[:, digit])
    smallest = max(0.0, float(needed[(len(needed) - 1) // 2]))

    def recovered(bias):
        return float(np.mean(logits[:, digit] + bias > others))

    answer = float(answer)
    if smallest < answer <= smallest + tolerance or (smallest == 0 and answer == 0):
        return _verdict(True, "")
    if recovered(answer) < 0.5:
        return _verdict(
            False,
            f"With that bias the student recovers {recovered(answer):.0%} of the images: "
            "not yet half. Compare, image by image, the digit's logit with the largest other one.",
        )
    return _verdict(
        False,
        "That bias recovers half of them, but a smaller one does too: look for the smallest.",
    )
