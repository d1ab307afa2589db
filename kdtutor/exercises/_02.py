"""The checks of notebook 02's exercises."""

from __future__ import annotations

import numpy as np

from kdtutor.exercises._common import (
    Case,
    Slip,
    check_implementation,
    close,
    is_number,
    softmax,
    unanswered,
    verdict,
)

__all__ = [
    "check_argmax_under_temperature",
    "check_softened_softmax",
    "check_kd_loss",
    "check_peak_temperature",
]


def check_argmax_under_temperature(answer, logits, temperatures=(0.5, 2.0, 8.0, 20.0)) -> bool:
    """Exercise 1 of notebook 02: does dividing the logits by T change the predicted class?

    ``answer`` is ``True`` (it changes) or ``False`` (it does not); ``logits`` has shape
    ``(N, num_classes)``. The check compares the argmax of ``softmax(logits / T)`` with the
    argmax of the logits for every T in ``temperatures`` (all > 0) and prints the verdict.
    """
    if unanswered(answer, "answer_1"):
        return False
    if not isinstance(answer, bool | np.bool_):
        return verdict(False, "Answer with a Python bool, not a number or a string.")
    logits = np.asarray(logits, dtype=np.float64)
    changes = any(
        (softmax(logits, t).argmax(axis=-1) != logits.argmax(axis=-1)).any() for t in temperatures
    )
    return verdict(
        bool(answer) == changes,
        "Compare `logits.argmax(axis=1)` with the argmax of "
        "`kdtutor.softened_softmax(logits, t)` for a few temperatures t > 0.",
    )


def _logits(seed: int, shape, scale: float = 3.0) -> np.ndarray:
    return np.random.default_rng(seed).normal(0.0, scale, size=shape)


def _huge(seed: int, shape) -> np.ndarray:
    """Logits as large as ±1000: exp overflows float64 unless the row's max is taken out."""
    return np.random.default_rng(seed).uniform(-1000.0, 1000.0, size=shape)


def _log_softmax(logits, temperature):
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    shifted = scaled - scaled.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def check_softened_softmax(function) -> bool:
    """Exercise 2 of notebook 02: the learner's ``softened_softmax(logits, temperature)``.

    ``function`` takes a NumPy array of logits (classes on the last axis, any leading shape)
    and a temperature T > 0 and returns ``softmax(logits / T)`` over the last axis. It is run
    on batches of several shapes, T from 0.5 to 20, two classes and logits as large as ±1000,
    and compared with :func:`kdtutor.softened_softmax`; the hint names the first failing case.
    """
    from kdtutor.distill import softened_softmax

    cases = [
        Case("3 images, 10 classes, T = 1", (_logits(0, (3, 10)), 1.0)),
        Case("the same images at T = 4", (_logits(0, (3, 10)), 4.0)),
        Case("T = 0.5, sharper than the plain softmax", (_logits(1, (4, 10)), 0.5)),
        Case("one image of 5 classes, shape (1, 5), T = 2", (_logits(2, (1, 5)), 2.0)),
        Case("two classes, T = 20", (_logits(3, (6, 2)), 20.0)),
        Case(
            "logits as large as ±1000, T = 1",
            (_huge(4, (3, 10)), 1.0),
            "exp(1000) overflows. Subtracting a row's largest logit from all of its logits "
            "leaves its softmax unchanged and keeps exp in range.",
        ),
        Case(
            "two images, one with logits near ±1000 and one near ±1, T = 1",
            (np.stack([_huge(6, (10,)), _logits(6, (10,), 1.0)]), 1.0),
            "Take out each row's own largest logit: with the largest of the whole batch, a "
            "row of small logits underflows to 0 / 0.",
        ),
        Case(
            "a batch of shape (2, 3, 10): classes on the last axis",
            (_logits(5, (2, 3, 10)), 3.0),
            "Work on the last axis (axis=-1, keepdims=True), whatever the leading shape.",
        ),
    ]
    slips = [
        Slip(lambda z, t: softmax(z), "At T = 1 you are right; divide the logits by T first."),
        Slip(lambda z, t: softmax(np.asarray(z) * t), "Divide the logits by T; do not multiply."),
        Slip(
            lambda z, t: softmax(softmax(z) / t),
            "You softened the probabilities. Soften the logits: softmax(logits / T).",
        ),
        Slip(
            lambda z, t: softmax(np.swapaxes(z, 0, -1) / t).swapaxes(0, -1),
            "Each image's probabilities must sum to 1: normalise along the last axis (the "
            "classes), not along the batch.",
        ),
    ]
    return check_implementation(
        function,
        "softened_softmax",
        cases,
        lambda z, t: np.asarray(softened_softmax(z, t), dtype=np.float64),
        slips=slips,
        rtol=1e-4,
        atol=1e-6,
        hint="Compare your formula with p_i = exp(z_i / T) / sum_j exp(z_j / T), row by row.",
    )


def check_kd_loss(function) -> bool:
    """Exercise 3 of notebook 02: the learner's ``kd_loss(teacher_logits, student_logits, T)``.

    ``function`` takes two NumPy arrays of logits of shape ``(N, num_classes)`` and a
    temperature T > 0 and returns one number: the batch mean of ``T**2 * KL(p || q)`` with
    ``p = softmax(teacher_logits / T)`` and ``q = softmax(student_logits / T)``. It is run on
    batches of several sizes, T from 0.5 to 8, a student equal to its teacher and logits as
    large as ±1000 (where ``np.log(p / q)`` fails), and compared with
    :func:`kdtutor.distillation_loss`. The hints name the usual slips (no T², the KL the wrong
    way round, a sum over the batch, the cross-entropy, log base 2) without the value.
    """
    from kdtutor.distill import distillation_loss

    def kl(t, s, temperature):  # per example, float64
        log_p, log_q = _log_softmax(t, temperature), _log_softmax(s, temperature)
        return np.sum(np.exp(log_p) * (log_p - log_q), axis=-1)

    same = _logits(13, (5, 10))
    cases = [
        Case("8 images, 10 classes, T = 4", (_logits(10, (8, 10)), _logits(11, (8, 10)), 4.0)),
        Case("the same images at T = 1", (_logits(10, (8, 10)), _logits(11, (8, 10)), 1.0)),
        Case("T = 0.5", (_logits(12, (4, 10)), _logits(14, (4, 10)), 0.5)),
        Case("one image of 3 classes, T = 2", (_logits(15, (1, 3)), _logits(16, (1, 3)), 2.0)),
        Case("a student equal to its teacher (the loss is 0), T = 3", (same, same.copy(), 3.0)),
        Case(
            "logits as large as ±1000, T = 1",
            (_huge(17, (4, 10)), _huge(18, (4, 10)), 1.0),
            "Where a probability underflows to 0, log(p / q) is not finite: compute the "
            "log-probabilities from the logits themselves (the max trick works there too), "
            "never the log of a probability.",
        ),
        Case(
            "32 images, 100 classes, T = 8", (_logits(19, (32, 100)), _logits(20, (32, 100)), 8.0)
        ),
    ]
    slips = [
        Slip(
            lambda t, s, T: np.mean(kl(t, s, T)),
            "Right at T = 1 only: the KL divergence is multiplied by T².",
        ),
        Slip(lambda t, s, T: T * np.mean(kl(t, s, T)), "Multiply by T², not by T."),
        Slip(
            lambda t, s, T: T**2 * np.mean(kl(s, t, T)),
            "KL(p ‖ q) weighs by p, the teacher's soft targets: sum p · (log p − log q).",
        ),
        Slip(
            lambda t, s, T: T**2 * np.sum(kl(t, s, T)),
            "Take the mean over the images of the batch, not the sum.",
        ),
        Slip(
            lambda t, s, T: T**2 * np.mean(-np.sum(softmax(t, T) * _log_softmax(s, T), axis=-1)),
            "That is the cross-entropy H(p, q), which adds the teacher's own entropy H(p); the "
            "KL divergence is H(p, q) − H(p).",
        ),
        Slip(
            lambda t, s, T: T**2 * np.mean(kl(t, s, T)) / np.log(2),
            "Use the natural logarithm (np.log), not log base 2.",
        ),
        Slip(
            lambda t, s, T: T**2 * np.mean(kl(t, s, 1.0)),
            "Soften both logits with T before the softmax (and keep the T² outside).",
        ),
        Slip(
            lambda t, s, T: T**2 * np.mean(kl(softmax(t), softmax(s), T)),
            "You softened probabilities. Soften the logits: softmax(logits / T).",
        ),
    ]
    return check_implementation(
        function,
        "kd_loss",
        cases,
        lambda t, s, T: np.float64(distillation_loss(t, s, T)),
        slips=slips,
        rtol=1e-4,
        atol=1e-5,
        hint='Compare your steps with L_KD in "The distillation loss, by hand".',
    )


def check_peak_temperature(answer, logits, class_index: int) -> bool:
    """Exercise 4 of notebook 02: the temperature at which one class's probability peaks.

    ``logits`` is one example's ``(num_classes,)`` vector and ``class_index`` a class other
    than its argmax (e.g. the look-alike). Its softened probability ``softmax(logits / T)``
    first rises with T, then falls towards uniform; ``answer`` is the T of the peak. The
    check finds it on a fine logarithmic grid and accepts an answer within 5 %.
    """
    if unanswered(answer, "answer_4"):
        return False
    if not is_number(answer) or answer <= 0:
        return verdict(False, "Answer with one positive number: a temperature.")
    grid = np.geomspace(0.01, 1000.0, 20_001)
    probability = softmax(np.asarray(logits)[None, :] / grid[:, None], 1.0)[:, class_index]
    peak = int(probability.argmax())
    if peak == len(grid) - 1:  # still rising at the grid's end: any very large T is right
        return verdict(answer >= grid[-1] / 2, "Try larger and larger temperatures.")
    return verdict(
        close(answer, float(grid[peak]), rel=0.05),
        "Compute the class's probability for many temperatures, e.g. "
        "`np.geomspace(0.05, 500, 2000)`, and take the T where it is largest.",
    )
