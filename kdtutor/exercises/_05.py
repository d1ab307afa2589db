"""The checks of notebook 05's exercises."""

from __future__ import annotations

import numpy as np

from kdtutor.exercises._common import (
    Case,
    Slip,
    check_implementation,
    is_number,
    unanswered,
    verdict,
)

__all__ = ["check_smoothed_targets", "check_half_recovery_bias"]


def _keras_smoothed_targets(labels, num_classes: int, label_smoothing: float) -> np.ndarray:
    """The targets Keras' ``CategoricalCrossentropy(label_smoothing=...)`` trains towards, read
    from Keras itself: at all-zero logits the mean loss's gradient is (softmax − target) / N."""
    import keras
    import tensorflow as tf

    labels = np.asarray(labels).reshape(-1)
    loss = keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=label_smoothing)
    logits = tf.Variable(np.zeros((len(labels), num_classes), dtype="float32"))
    with tf.GradientTape() as tape:
        value = loss(np.eye(num_classes, dtype="float32")[labels], logits)
    gradient = tape.gradient(value, logits).numpy().astype(np.float64)
    return 1.0 / num_classes - len(labels) * gradient


def check_smoothed_targets(function) -> bool:
    """Exercise 1 of notebook 05: the learner's ``smoothed_targets(labels, num_classes, eps)``.

    ``function`` takes integer class labels (shape ``(N,)`` or ``(N, 1)``), the number of
    classes and a label smoothing ``eps`` in [0, 1], and returns the ``(N, num_classes)``
    targets that ``keras.losses.CategoricalCrossentropy(label_smoothing=eps)`` trains a model
    towards. It is run on several batches, 2 and 10 classes, eps 0, 1 and between, and
    compared with the targets read from Keras itself.
    """
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 10, size=5)
    cases = [
        Case("5 labels, 10 classes, eps = 0.1", (labels, 10, 0.1)),
        Case("eps = 0: plain one-hot targets", (labels, 10, 0.0)),
        Case("eps = 1: no trace of the label", (labels, 10, 1.0)),
        Case("two classes, eps = 0.2", (rng.integers(0, 2, size=6), 2, 0.2)),
        Case(
            "labels shaped (N, 1), as Keras accepts them",
            (labels.reshape(-1, 1), 10, 0.1),
            "Flatten the labels first (labels.reshape(-1)): one row of targets per image.",
        ),
        Case("100 labels, 10 classes, eps = 0.05", (rng.integers(0, 10, size=100), 10, 0.05)),
    ]

    def one_hot(y, c):
        return np.eye(c)[np.asarray(y).reshape(-1)]

    slips = [
        Slip(
            lambda y, c, e: one_hot(y, c) * (1 - e) + (1 - one_hot(y, c)) * e / (c - 1),
            "Keras spreads eps over every class, the correct one too, not over the wrong "
            "ones only.",
        ),
        Slip(
            lambda y, c, e: one_hot(y, c) * (1 - e) + (1 - one_hot(y, c)) * e / c,
            "Your rows do not sum to 1: the uniform part goes to every class, the correct one too.",
        ),
        Slip(lambda y, c, e: one_hot(y, c), "eps changes nothing in your targets."),
        Slip(
            lambda y, c, e: one_hot(y, c) * e + (1 - e) / c,
            "Swapped weights: the one-hot target keeps 1 − eps of its weight.",
        ),
    ]
    return check_implementation(
        function,
        "smoothed_targets",
        cases,
        _keras_smoothed_targets,
        slips=slips,
        rtol=1e-4,
        atol=1e-5,
        hint="Keras mixes the one-hot target with the uniform distribution over the classes; "
        "weigh the two by eps.",
        success=f"Your `smoothed_targets` agrees with Keras' on all {len(cases)} cases.",
    )


def check_half_recovery_bias(answer, logits, digit: int, *, tolerance: float = 0.1) -> bool:
    """Exercise 2 of notebook 05: the smallest logit bias that recovers half an omitted digit.

    ``logits`` are a student's logits, shape ``(N, num_classes)``, on images that all show
    ``digit``; ``answer`` is the smallest bias which, added to that digit's logit, makes the
    student predict ``digit`` for at least half of them (ties count as misses). A bias up
    to ``tolerance`` above the smallest one is accepted.
    """
    if unanswered(answer, "answer_2"):
        return False
    if not is_number(answer):
        return verdict(False, "Answer with one number: the bias to add to the digit's logit.")
    logits = np.asarray(logits, dtype="float64")
    others = np.delete(logits, digit, axis=1).max(axis=1)
    needed = np.sort(others - logits[:, digit])
    smallest = max(0.0, float(needed[(len(needed) - 1) // 2]))

    def recovered(bias):
        return float(np.mean(logits[:, digit] + bias > others))

    answer = float(answer)
    if smallest < answer <= smallest + tolerance or (smallest == 0 and answer == 0):
        return verdict(True, "")
    if recovered(answer) < 0.5:
        return verdict(
            False,
            "With that bias the student recovers fewer than half of the images. Compare, "
            "image by image, the digit's logit with the largest other one.",
        )
    return verdict(
        False,
        "That bias recovers half of them, but a smaller one does too: look for the smallest.",
    )
