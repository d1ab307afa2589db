"""The implement-and-check exercises: the learner writes the mechanism, the check runs it.

For each one (02: softened softmax, KD loss; 03: a distiller's weighted ``compute_loss``;
04: int8 quantize/dequantize, the magnitude mask; 05: label-smoothed targets) a right
implementation written here, independently of the package (SciPy, Keras' own losses, plain
NumPy), must pass; typical wrong ones must fail with a hint that names the failing case and
what to change; and no message may print a reference value or code.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import re

import keras
import numpy as np
import pytest
from keras import ops
from scipy.special import log_softmax, softmax

from kdtutor import exercises


def _says(check, capsys, *answers):
    verdict = check(*answers)
    return verdict, capsys.readouterr().out


def _leaks(printed: str) -> bool:
    """Whether a message shows a computed value (a number with 3+ decimals) or code."""
    code = ("def ", "lambda", "ops.", "log_softmax(", "argsort(")
    return bool(re.search(r"\d\.\d{3}", printed)) or any(part in printed for part in code)


def _passes(check, capsys, *answers):
    verdict, printed = _says(check, capsys, *answers)
    assert verdict is True, printed
    assert printed.startswith("Correct!") and "cases" in printed


def _fails(check, capsys, *answers, hint: str = ""):
    verdict, printed = _says(check, capsys, *answers)
    assert verdict is False, printed
    assert printed.startswith("Not yet. Case "), printed  # names the case that failed
    assert hint in printed, printed
    assert not _leaks(printed), printed
    return printed


# --- 02: the softened softmax ----------------------------------------------------------------


def softened_softmax(logits, temperature):
    return softmax(np.asarray(logits, dtype=np.float64) / temperature, axis=-1)


def naive_softmax(logits, temperature):  # overflows for large logits
    e = np.exp(np.asarray(logits) / temperature)
    return e / e.sum(axis=-1, keepdims=True)


def test_softened_softmax_accepts_an_independent_implementation(capsys):
    _passes(exercises.check_softened_softmax, capsys, softened_softmax)


def test_softened_softmax_accepts_one_that_works_in_place(capsys):
    def in_place(logits, temperature):
        logits /= temperature  # the check hands over copies: later cases are unaffected
        logits -= logits.max(axis=-1, keepdims=True)
        np.exp(logits, out=logits)
        return logits / logits.sum(axis=-1, keepdims=True)

    _passes(exercises.check_softened_softmax, capsys, in_place)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda z, t: softened_softmax(z, 1.0), "divide the logits by T"),
        (lambda z, t: softened_softmax(np.asarray(z) * t, 1.0), "do not multiply"),
        (lambda z, t: softened_softmax(softened_softmax(z, 1.0), t), "softened the probabilities"),
        (naive_softmax, "±1000"),
        (lambda z, t: softmax(np.asarray(z) / t, axis=0), "last axis"),
    ],
)
def test_softened_softmax_rejects_typical_slips_naming_the_case(capsys, wrong, hint):
    _fails(exercises.check_softened_softmax, capsys, wrong, hint=hint)


# --- 02: the KD loss ---------------------------------------------------------------------------


def kd_loss(teacher_logits, student_logits, temperature):
    log_p = log_softmax(np.asarray(teacher_logits, dtype=np.float64) / temperature, axis=-1)
    log_q = log_softmax(np.asarray(student_logits, dtype=np.float64) / temperature, axis=-1)
    return temperature**2 * np.mean(np.sum(np.exp(log_p) * (log_p - log_q), axis=-1))


def naive_kd_loss(t, s, temperature):  # log(p / q) meets 0 / 0 for large logits
    p, q = naive_softmax(t, temperature), naive_softmax(s, temperature)
    return temperature**2 * np.mean(np.sum(p * np.log(p / q), axis=-1))


def test_kd_loss_accepts_an_independent_implementation(capsys):
    _passes(exercises.check_kd_loss, capsys, kd_loss)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (lambda t, s, T: kd_loss(t, s, T) / T**2, "T²"),
        (lambda t, s, T: kd_loss(s, t, T), "weighs by p"),
        (lambda t, s, T: kd_loss(t, s, T) * len(t), "not the sum"),
        (
            lambda t, s, T: T**2 * kd_loss(softmax(t, axis=-1), softmax(s, axis=-1), T) / T**2,
            "logits",
        ),
        (naive_kd_loss, "log-probabilities"),
        (lambda t, s, T: np.full(len(t), kd_loss(t, s, T)), "one number"),
    ],
)
def test_kd_loss_rejects_typical_slips_naming_the_case(capsys, wrong, hint):
    _fails(exercises.check_kd_loss, capsys, wrong, hint=hint)


# --- 03: a distiller's compute_loss with sample weights ----------------------------------------


class Distiller(keras.Model):
    """Notebook 03's distiller (no weights), which the exercise subclasses."""

    def __init__(self, teacher, student, temperature, alpha):
        super().__init__()
        self.teacher, self.student = teacher, student
        self.teacher.trainable = False
        self.temperature, self.alpha = temperature, alpha

    def call(self, x, training=False):
        return self.student(x, training=training)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        T = self.temperature
        teacher_logits = self.teacher(x, training=False)
        hard = keras.losses.sparse_categorical_crossentropy(y, y_pred, from_logits=True)
        log_p = ops.log_softmax(teacher_logits / T)
        log_q = ops.log_softmax(y_pred / T)
        kl = ops.sum(ops.exp(log_p) * (log_p - log_q), axis=-1)
        return self.alpha * ops.mean(hard) + (1 - self.alpha) * T**2 * ops.mean(kl)


class KerasWeighted(Distiller):
    """Right, through Keras' own weighted losses (an implementation unlike the package's)."""

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        T = self.temperature
        p = ops.softmax(self.teacher(x, training=False) / T)
        q = ops.softmax(y_pred / T)
        hard = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        soft = keras.losses.KLDivergence()
        return self.alpha * hard(y, y_pred, sample_weight=sample_weight) + (
            1 - self.alpha
        ) * T**2 * soft(p, q, sample_weight=sample_weight)


class DividesBySumOfWeights(Distiller):
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        w = ops.ones(ops.shape(y_pred)[:1]) if sample_weight is None else sample_weight
        T = self.temperature
        hard = keras.losses.sparse_categorical_crossentropy(y, y_pred, from_logits=True)
        log_p = ops.log_softmax(self.teacher(x, training=False) / T)
        log_q = ops.log_softmax(y_pred / T)
        soft = T**2 * ops.sum(ops.exp(log_p) * (log_p - log_q), axis=-1)
        total = self.alpha * hard + (1 - self.alpha) * soft
        return ops.sum(total * w) / ops.sum(w)


class TeacherInTrainingMode(KerasWeighted):
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        self.teacher.trainable = True
        logits = self.teacher(x, training=True)
        return ops.mean(ops.square(logits - y_pred))


class HardTermWeightedOnly(Distiller):
    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        unweighted = Distiller.compute_loss(self, x, y, y_pred)
        if sample_weight is None:
            return unweighted
        hard = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
        extra = hard(y, y_pred, sample_weight=sample_weight) - hard(y, y_pred)
        return unweighted + self.alpha * extra


def test_compute_loss_accepts_an_implementation_through_keras_losses(capsys):
    _passes(exercises.check_compute_loss, capsys, KerasWeighted)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (Distiller, "change nothing"),
        (DividesBySumOfWeights, "not by the sum of the"),
        (HardTermWeightedOnly, "teacher's term"),
        (TeacherInTrainingMode, "training=False"),
    ],
)
def test_compute_loss_rejects_typical_slips(capsys, wrong, hint):
    verdict, printed = _says(exercises.check_compute_loss, capsys, wrong)
    assert verdict is False and printed.startswith("Not yet.") and hint in printed, printed
    assert not _leaks(printed), printed


def test_compute_loss_wants_the_class_itself(capsys):
    teacher = keras.Sequential([keras.Input((6,)), keras.layers.Dense(4)])
    verdict, printed = _says(
        exercises.check_compute_loss, capsys, KerasWeighted(teacher, teacher, 4.0, 0.5)
    )
    assert verdict is False and "no parentheses" in printed


# --- 04: int8 quantize and dequantize ---------------------------------------------------------


def quantize(x, scale, zero_point):
    return np.clip(np.rint(np.asarray(x, np.float64) / scale) + zero_point, -128, 127).astype(
        np.int8
    )


def dequantize(q, scale, zero_point):
    return scale * (np.asarray(q, dtype=np.float64) - zero_point)


def test_quantization_accepts_an_independent_implementation(capsys):
    _passes(exercises.check_int8_quantization, capsys, quantize, dequantize)


@pytest.mark.parametrize(
    ("wrong_quantize", "wrong_dequantize", "hint"),
    [
        (lambda x, s, z: quantize(x, s, 0), dequantize, "add the zero point"),
        (lambda x, s, z: np.round(x / s + z).astype(np.int8), dequantize, "clip"),
        (lambda x, s, z: (x / s + z).astype(np.int8), dequantize, "truncates"),
        (lambda x, s, z: np.clip(np.round(x / s + z), -128, 127), dequantize, "int8"),
        (quantize, lambda q, s, z: (q - z) * s, "overflow"),
        (quantize, lambda q, s, z: q * s - z, "before multiplying"),
    ],
)
def test_quantization_rejects_typical_slips(capsys, wrong_quantize, wrong_dequantize, hint):
    _fails(exercises.check_int8_quantization, capsys, wrong_quantize, wrong_dequantize, hint=hint)


# --- 04: the magnitude mask --------------------------------------------------------------------


def magnitude_mask(weights, sparsity):
    weights = np.asarray(weights)
    count = int(np.floor(sparsity * weights.size + 0.5))
    if count == 0:
        return np.ones(weights.shape, dtype=bool)
    threshold = np.partition(np.abs(weights).ravel(), count - 1)[count - 1]
    return np.abs(weights) > threshold  # no ties among random weights


def test_magnitude_mask_accepts_an_independent_implementation(capsys):
    _passes(exercises.check_magnitude_mask, capsys, magnitude_mask)
    _passes(exercises.check_magnitude_mask, capsys, lambda w, s: magnitude_mask(w, s).astype(int))


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (
            lambda w, s: ~magnitude_mask(-np.abs(w), 1 - s) if 0 < s < 1 else magnitude_mask(w, s),
            "keeps the smallest",
        ),
        (
            lambda w, s: magnitude_mask(w, s) if s in (0, 1) else np.asarray(w) > np.median(w),
            "magnitude",
        ),
        (
            lambda w, s: np.abs(w) > np.sort(np.abs(w).ravel())[max(0, int(s * np.size(w)) - 1)],
            "Case 2",
        ),
        (lambda w, s: np.asarray(w) * magnitude_mask(w, s), "not the pruned weights"),
    ],
)
def test_magnitude_mask_rejects_typical_slips(capsys, wrong, hint):
    _fails(exercises.check_magnitude_mask, capsys, wrong, hint=hint)


# --- 05: label-smoothed targets ----------------------------------------------------------------


def smoothed_targets(labels, num_classes, eps):
    labels = np.asarray(labels).reshape(-1)
    targets = np.full((len(labels), num_classes), eps / num_classes)
    targets[np.arange(len(labels)), labels] += 1 - eps
    return targets


def test_smoothed_targets_accepts_an_independent_implementation(capsys):
    _passes(exercises.check_smoothed_targets, capsys, smoothed_targets)


@pytest.mark.parametrize(
    ("wrong", "hint"),
    [
        (
            lambda y, c, e: (
                (1 - e) * np.eye(c)[np.ravel(y)] + (1 - np.eye(c)[np.ravel(y)]) * e / (c - 1)
            ),
            "wrong ones only",
        ),
        (lambda y, c, e: np.eye(c)[np.ravel(y)], "changes nothing"),
        (lambda y, c, e: smoothed_targets(y, c, e) if np.ndim(y) == 1 else np.eye(c)[y], "(5, 10)"),
    ],
)
def test_smoothed_targets_rejects_typical_slips(capsys, wrong, hint):
    _fails(exercises.check_smoothed_targets, capsys, wrong, hint=hint)


# --- what every implement check shares ---------------------------------------------------------

CHECKS = {
    "softened_softmax": (exercises.check_softened_softmax, 1),
    "kd_loss": (exercises.check_kd_loss, 1),
    "quantize": (exercises.check_int8_quantization, 2),
    "magnitude_mask": (exercises.check_magnitude_mask, 1),
    "smoothed_targets": (exercises.check_smoothed_targets, 1),
}


@pytest.mark.parametrize("name", list(CHECKS))
def test_an_empty_body_only_says_how_to_start(capsys, name):
    check, count = CHECKS[name]
    verdict, printed = _says(check, capsys, *[lambda *args: None] * count)
    assert verdict is False and f"Write the body of `{name}`" in printed
    assert "Not yet" not in printed


@pytest.mark.parametrize("name", list(CHECKS))
def test_an_error_in_the_learners_function_is_reported_not_raised(capsys, name):
    check, count = CHECKS[name]

    def broken(*args):
        return 1 / 0

    verdict, printed = _says(check, capsys, *[broken] * count)
    assert verdict is False and "Case 1 of" in printed and "ZeroDivisionError" in printed


@pytest.mark.parametrize("name", list(CHECKS))
def test_a_value_instead_of_a_function_says_what_to_pass(capsys, name):
    check, count = CHECKS[name]
    verdict, printed = _says(check, capsys, *[0.5] * count)
    assert verdict is False and "no parentheses" in printed


def test_text_instead_of_numbers_is_named(capsys):
    verdict, printed = _says(exercises.check_kd_loss, capsys, lambda t, s, T: "0.3")
    assert verdict is False and "returned a str" in printed
