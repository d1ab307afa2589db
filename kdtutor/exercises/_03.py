"""The checks of notebook 03's exercises."""

from __future__ import annotations

import numpy as np

from kdtutor.exercises._common import (
    Case,
    Slip,
    check_implementation,
    close,
    softmax,
    unanswered,
    verdict,
)

__all__ = ["check_alpha_one_loss", "check_compute_loss", "check_teacher_logits_repeatable"]


def check_alpha_one_loss(answer, teacher, student, x, y) -> bool:
    """Exercise 1 of notebook 03: which Keras loss is the distillation loss with ``alpha = 1``?

    ``answer`` is a Keras loss: an instance of a ``keras.losses`` class, a loss function or a
    name that ``keras.losses.get`` knows. ``teacher`` and ``student`` output logits; ``x``
    and ``y`` are a batch of images and integer labels. The check computes the loss of a
    :class:`kdtutor.DistillModel` with ``alpha = 1`` on that batch and compares it with the
    batch mean of ``answer(y, student(x))``.
    """
    if unanswered(answer, "answer_1"):
        return False
    import keras

    from kdtutor.distill import DistillModel

    logits = student(x, training=False)
    try:
        loss = keras.losses.get(answer) if isinstance(answer, str) else answer
        value = float(keras.ops.mean(loss(y, logits)))
    except Exception:
        return verdict(
            False,
            "Answer with a Keras loss, e.g. an instance of a class of keras.losses, that "
            "takes (labels, student outputs).",
        )
    expected = float(
        DistillModel(teacher, student, alpha=1.0).compute_loss(x=x, y=y, y_pred=logits)
    )
    return verdict(
        close(value, expected, rel=1e-4, abs_=1e-6),
        "On this batch your loss gives another value than the distiller with alpha = 1. "
        "Which term does alpha weigh, and what does the student output?",
    )


def _tiny_models(seed: int = 0):
    """A small teacher with dropout (so that training mode shows) and a linear student."""
    import keras

    keras.utils.set_random_seed(seed)
    teacher = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dropout(0.5),
            keras.layers.Dense(4),
        ],
        name="teacher",
    )
    student = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)], name="student")
    return teacher, student


def _per_image(teacher_logits, student_logits, y, temperature):
    """Each image's hard loss and T²-scaled KL, in float64 (for the slips)."""
    log_q = np.log(softmax(student_logits))
    hard = -log_q[np.arange(len(y)), y]
    log_pt = np.log(softmax(teacher_logits, temperature))
    log_qt = np.log(softmax(student_logits, temperature))
    soft = temperature**2 * np.sum(np.exp(log_pt) * (log_pt - log_qt), axis=-1)
    return hard, soft


def check_compute_loss(distiller_class) -> bool:
    """Exercise 2 of notebook 03: the learner's distiller ``compute_loss`` with sample weights.

    ``distiller_class`` is a ``keras.Model`` subclass built as ``distiller_class(teacher,
    student, temperature=T, alpha=alpha)`` (notebook 03's ``Distiller`` signature) whose
    ``compute_loss(x=, y=, y_pred=, sample_weight=)`` returns alpha · CE + (1 − alpha) · T² · KL,
    each image's loss weighted as Keras' losses weigh it (the weighted sum divided by the number
    of images). It is run on small random batches with a small teacher (with dropout) and
    student, for T in {1, 4}, alpha in {0, 0.5, 1}, no weights, weights of 1, random weights and
    zero weights, and compared with :meth:`kdtutor.DistillModel.compute_loss`.
    """
    import keras

    from kdtutor.distill import DistillModel

    if distiller_class is None or not isinstance(distiller_class, type):
        return verdict(False, "Pass your class itself (`WeightedDistiller`, no parentheses).")
    teacher, student = _tiny_models()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(8, 6)).astype("float32")
    y = rng.integers(0, 4, size=8)
    weights = rng.uniform(0.2, 3.0, size=8).astype("float32")
    half = np.where(np.arange(8) % 2 == 0, 1.0, 0.0).astype("float32")
    y_pred = np.asarray(student(x, training=False))
    teacher_logits = np.asarray(teacher(x, training=False))

    def learner(w, temperature, alpha):
        model = distiller_class(teacher, student, temperature=temperature, alpha=alpha)
        return model.compute_loss(
            x=x, y=y, y_pred=keras.ops.convert_to_tensor(y_pred), sample_weight=w
        )

    def reference(w, temperature, alpha):
        model = DistillModel(teacher, student, temperature=temperature, alpha=alpha)
        return float(model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=w))

    def combine(
        hard,
        soft,
        w,
        temperature,
        alpha,
        *,
        scale_hard=True,
        scale_soft=True,
        divisor=None,
        t_squared=True,
    ):
        w = np.ones(len(y)) if w is None else np.asarray(w, dtype=np.float64)
        soft = soft if t_squared else soft / temperature**2
        n = len(y) if divisor is None else divisor(w)
        hard = np.sum(hard * (w if scale_hard else 1.0)) / n
        soft = np.sum(soft * (w if scale_soft else 1.0)) / n
        return alpha * hard + (1 - alpha) * soft

    def slip(**options):
        def compute(w, temperature, alpha):
            hard, soft = _per_image(teacher_logits, y_pred, y, temperature)
            return combine(hard, soft, w, temperature, alpha, **options)

        return compute

    cases = [
        Case("no weights (sample_weight=None), T = 4, alpha = 0.5", (None, 4.0, 0.5)),
        Case("every weight 1: the same loss as no weights", (np.ones(8, "float32"), 4.0, 0.5)),
        Case("random weights, T = 4, alpha = 0.5", (weights, 4.0, 0.5)),
        Case("every other image weighted 0, T = 4, alpha = 0.5", (half, 4.0, 0.5)),
        Case("random weights, alpha = 0: the teacher's term only", (weights, 4.0, 0.0)),
        Case("random weights, alpha = 1: the labels' term only", (weights, 4.0, 1.0)),
        Case("random weights, T = 1", (weights, 1.0, 0.5)),
    ]
    slips = [
        Slip(
            slip(scale_hard=False, scale_soft=False),
            "The weights change nothing in your loss. Keras' losses multiply each image's loss "
            "by its weight, then divide the sum by the number of images.",
        ),
        Slip(slip(scale_soft=False), "The weights must also weigh the teacher's term."),
        Slip(slip(scale_hard=False), "The weights must also weigh the labels' term."),
        Slip(
            slip(divisor=np.sum),
            "Keras divides the weighted sum by the number of images, not by the sum of the "
            "weights (its reduction 'sum_over_batch_size').",
        ),
        Slip(slip(t_squared=False), "The teacher's term is T² · KL; the T² is missing."),
    ]
    try:
        first, second = (float(np.asarray(learner(weights, 4.0, 0.5))) for _ in range(2))
    except Exception:  # the harness below reports the error in words
        first = second = None
    if first is not None and not np.isclose(first, second, rtol=1e-6, atol=1e-7):
        return verdict(
            False,
            "Two calls on the same batch give different losses: does the teacher run in "
            "inference mode (training=False), with its dropout off?",
        )
    return check_implementation(
        learner,
        "compute_loss",
        cases,
        reference,
        slips=slips,
        rtol=1e-4,
        atol=1e-6,
        hint='Compute each image\'s two losses (reduction="none" or the functional losses), '
        "weigh them, and combine them as the distiller above does.",
    )


def check_teacher_logits_repeatable(answer, teacher, x) -> bool:
    """Exercise 3 of notebook 03: would the teacher called with ``training=True`` repeat itself?

    ``answer`` (True or False) says whether ``teacher(x, training=True)`` gives the same
    logits on two calls for the same images ``x`` (within 1e-6), which is what caching its
    logits relies on. The check calls the teacher twice itself.
    """
    if unanswered(answer, "answer_3"):
        return False
    import numpy as np

    if not isinstance(answer, bool | np.bool_):
        return verdict(False, "Answer with a bool, not a string or a number.")
    first, second = (np.asarray(teacher(x, training=True)) for _ in range(2))
    expected = bool(np.allclose(first, second, rtol=0.0, atol=1e-6))
    return verdict(
        bool(answer) == expected,
        "Look at the teacher's layers (teacher.summary()): which of them behave "
        "differently in training mode?",
    )
