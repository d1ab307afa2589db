"""The checks of notebook 04's exercises."""

from __future__ import annotations

import math

import numpy as np

from kdtutor.exercises._common import (
    Case,
    Slip,
    check_implementation,
    close,
    is_number,
    unanswered,
    verdict,
)

__all__ = [
    "check_int8_quantization",
    "check_magnitude_mask",
    "check_int8_file_size",
    "check_pruned_gzip_ratio",
]


def _int8(scale: float, zero_point: int) -> dict:
    """A LiteRT tensor's details as :mod:`kdtutor.litert` reads them: int8, scale, zero point."""
    return {"dtype": np.int8, "quantization": (scale, zero_point)}


def check_int8_quantization(quantize, dequantize) -> bool:
    """Exercise 1 of notebook 04: the learner's int8 ``quantize`` and ``dequantize``.

    ``quantize(x, scale, zero_point)`` turns a float array into the int8 array an int8 LiteRT
    tensor holds (x ≈ scale · (q − zero_point), rounded to the nearest integer and saturated
    to [−128, 127]); ``dequantize(q, scale, zero_point)`` turns int8 values back into floats.
    Both are run on pixels, logits, values beyond the int8 range and several scales and zero
    points, and compared with what :func:`kdtutor.litert.tflite_predict` does to a model's
    inputs and outputs (``quantize`` must return exactly its int8 values).
    """
    from kdtutor import litert

    rng = np.random.default_rng(0)
    pixels = rng.uniform(0.0, 1.0, size=(4, 28)).astype("float32")
    logits = rng.uniform(-10.0, 10.0, size=(5, 10)).astype("float32")
    wide = rng.uniform(-30.0, 30.0, size=(64,)).astype("float32")
    quantize_cases = [
        Case("pixels in [0, 1], scale 1/255, zero point −128", (pixels, 1 / 255, -128)),
        Case("logits in [−10, 10], scale 0.08, zero point 3", (logits, 0.08, 3)),
        Case(
            "values beyond the int8 range, scale 0.1, zero point 0 (they saturate)",
            (wide, 0.1, 0),
            "Values beyond what int8 holds must become −128 or 127.",
        ),
        Case("zero point 0, scale 0.5", (logits, 0.5, 0)),
    ]

    def clip_cast(values):
        return np.clip(values, -128, 127).astype(np.int8)

    quantize_slips = [
        Slip(lambda x, s, z: clip_cast(np.round(x / s)), "The scale is right; add the zero point."),
        Slip(lambda x, s, z: clip_cast(np.round(x / s - z)), "Check the sign of the zero point."),
        Slip(
            lambda x, s, z: clip_cast(np.floor(x / s + z)),
            "Round to the nearest integer (np.round), not down.",
        ),
        Slip(
            lambda x, s, z: (x / s + z).astype(np.int8),
            "A cast to int8 truncates and wraps around: round first, and clip to [−128, 127] "
            "before casting.",
        ),
        Slip(
            lambda x, s, z: np.round(x / s + z).astype(np.int8),
            "Values beyond the int8 range wrapped around: clip to [−128, 127] before casting.",
        ),
        Slip(
            lambda x, s, z: clip_cast(np.round(x * s + z)), "Divide by the scale; do not multiply."
        ),
    ]
    q_values = rng.integers(-128, 128, size=(6, 10)).astype(np.int8)
    dequantize_cases = [
        Case("int8 logits, scale 0.08, zero point 3", (q_values, 0.08, 3)),
        Case(
            "the full int8 range, scale 1/255, zero point −128",
            (np.arange(-128, 128, dtype=np.int8), 1 / 255, -128),
            "q − z can leave the int8 range (127 − (−128) = 255): compute in float32 (or int32).",
        ),
        Case("zero point 0, scale 0.5", (q_values, 0.5, 0)),
    ]
    dequantize_slips = [
        Slip(
            lambda q, s, z: q.astype(np.float32) * s, "The scale is right; subtract the zero point."
        ),
        Slip(
            lambda q, s, z: (q.astype(np.float32) + z) * s,
            "Check the sign of the zero point: x ≈ s · (q − z).",
        ),
        Slip(
            lambda q, s, z: q.astype(np.float32) * s - z,
            "Subtract the zero point before multiplying by the scale.",
        ),
        Slip(
            lambda q, s, z: (q - np.int8(z)) * s,
            "q − z overflowed in int8 arithmetic: cast q to float32 (or int32) first.",
        ),
        Slip(
            lambda q, s, z: (q.astype(np.float32) - z) / s, "Multiply by the scale; do not divide."
        ),
    ]
    if quantize is None or dequantize is None:
        return verdict(False, "Write both functions, `quantize` and `dequantize`, then check.")
    if not check_implementation(
        quantize,
        "quantize",
        quantize_cases,
        lambda x, s, z: litert._quantize(x, _int8(s, z)),
        slips=quantize_slips,
        exact_dtype=np.int8,
        announce=False,
        hint="Solve x ≈ s · (q − z) for q, round to the nearest integer, saturate to int8.",
    ):
        return False
    return check_implementation(
        dequantize,
        "dequantize",
        dequantize_cases,
        lambda q, s, z: litert._dequantize(q, _int8(s, z)),
        slips=dequantize_slips,
        rtol=1e-6,
        atol=1e-6,
        hint="x ≈ s · (q − z), computed in floating point.",
        success="Your `quantize` and `dequantize` agree with the package's on all "
        f"{len(quantize_cases) + len(dequantize_cases)} cases.",
    )


def _mask(score: np.ndarray, count: int) -> np.ndarray:
    """True everywhere but at the ``count`` smallest ``score`` values."""
    keep = np.ones(score.size, dtype=bool)
    keep[np.argsort(score.ravel(), kind="stable")[:count]] = False
    return keep.reshape(score.shape)


def _pruned_count(sparsity: float, size: int) -> int:
    return int(math.floor(sparsity * size + 0.5))  # round half up, as kdtutor.prune does


def check_magnitude_mask(function) -> bool:
    """Exercise 2 of notebook 04: the learner's ``magnitude_mask(weights, sparsity)``.

    ``function`` takes a NumPy array of weights (any shape) and a sparsity in [0, 1] and
    returns a mask of the same shape: False (or 0) at the ``round(sparsity · n)`` weights of
    smallest absolute value, True (or 1) elsewhere. It is run on kernels of several shapes
    (dense and convolutional), sparsities 0, 1 and between, and negative weights, and compared
    with :func:`kdtutor.prune.magnitude_mask` (sparsity 1 prunes every weight).
    """
    from kdtutor import prune

    rng = np.random.default_rng(0)
    kernel = rng.normal(size=(3, 4))
    signed = np.where(rng.random((5, 6)) < 0.5, -1.0, 1.0) * rng.uniform(0.1, 3.0, (5, 6))

    def reference(weights, sparsity):
        if sparsity == 1:
            return np.zeros(np.shape(weights), dtype=bool)
        return prune.magnitude_mask(np.asarray(weights, dtype="float32"), sparsity)

    def count(sparsity, weights):
        return _pruned_count(sparsity, np.size(weights))

    cases = [
        Case("a 3 × 4 kernel at sparsity 0.5", (kernel, 0.5)),
        Case("sparsity 0: nothing is pruned", (kernel, 0.0)),
        Case("sparsity 1: every weight is pruned", (kernel, 1.0)),
        Case("negative weights, sparsity 0.5: magnitude means |w|", (signed, 0.5)),
        Case(
            "a convolution kernel 3 × 3 × 8 × 16 at sparsity 0.8",
            (rng.normal(size=(3, 3, 8, 16)), 0.8),
            "Rank all the tensor's weights together, whatever its shape.",
        ),
        Case(
            "12 weights at sparsity 0.3",
            (rng.normal(size=(12,)), 0.3),
            "How many weights does round(sparsity · n) prune here?",
        ),
    ]
    slips = [
        Slip(
            lambda w, s: _mask(-np.abs(w), count(s, w)),
            "Your mask keeps the smallest weights; magnitude pruning keeps the largest.",
        ),
        Slip(
            lambda w, s: _mask(np.asarray(w), count(s, w)),
            "Rank the weights by magnitude, |w|: a large negative weight matters as much as a "
            "large positive one.",
        ),
        Slip(
            lambda w, s: _mask(np.abs(w), int(s * np.size(w))),
            "Prune round(sparsity · n) weights, rounded to the nearest whole number, not down.",
        ),
        Slip(
            lambda w, s: np.stack([_mask(np.abs(row), count(s, row)) for row in np.asarray(w)]),
            "Rank all the tensor's weights together, not row by row.",
        ),
        Slip(
            lambda w, s: np.asarray(w) * _mask(np.abs(w), count(s, w)),
            "Return the mask (True where a weight is kept), not the pruned weights.",
        ),
    ]
    return check_implementation(
        function,
        "magnitude_mask",
        cases,
        reference,
        slips=slips,
        rtol=0.0,
        atol=0.0,
        hint="Sort the weights by |w| and mark the round(sparsity · n) smallest as False.",
    )


def check_int8_file_size(answer, model, representative_data, *, tolerance: float = 0.10) -> bool:
    """Exercise 3 of notebook 04: predict the size of a model's int8 ``.tflite`` file.

    ``model`` is a Keras model (in the notebook a 784-64-10 MLP student) and
    ``representative_data`` training inputs to calibrate it with. The check converts ``model``
    with :func:`kdtutor.litert.to_tflite` (``quantization="int8"``) and accepts an ``answer``
    in bytes within ``tolerance`` (relative) of the file's size; the hints say whether the
    prediction counted float32 bytes, or in which direction it is off, never the size.
    """
    from kdtutor import litert

    if unanswered(answer, "answer_3"):
        return False
    if not is_number(answer) or answer <= 0:
        return verdict(False, "Answer with a number of bytes.")
    tflite_model = litert.to_tflite(
        model,
        quantization="int8",
        representative_data=representative_data,
        num_calibration=min(50, len(representative_data)),
    )
    actual = litert.file_size(tflite_model)
    if close(answer, actual, rel=tolerance):
        return verdict(True, "")
    if close(answer, 4 * model.count_params(), rel=0.25):
        hint = "That counts float32 weights; how many bytes does an int8 weight take?"
    elif close(answer, 1000 * actual, rel=tolerance) or close(answer, actual / 1000, rel=0.5):
        hint = "Check the unit: the answer is in bytes (1 kB = 1,000 bytes)."
    else:
        direction = "large" if answer > actual else "small"
        hint = (
            f"Too {direction}. Scale by the parameter counts: how many bytes per parameter "
            "does the student_kd_int8 file hold?"
        )
    return verdict(False, hint)


def check_pruned_gzip_ratio(answer, model, sparsity: float = 0.5, *, tolerance=0.05) -> bool:
    """Exercise 4 of notebook 04: how much a one-shot pruning shrinks the gzipped file.

    ``model`` is a trained Keras model (the notebook's teacher). The check prunes a copy of it
    once to ``sparsity`` with :func:`kdtutor.prune.prune_weights` (no training), converts both
    to float32 with :func:`kdtutor.litert.to_tflite` and accepts an ``answer`` within
    ``tolerance`` (relative) of ``gzip_size(original) / gzip_size(pruned)``. The hints tell a
    file ratio and a count of zeros from a compressed size, without the ratio.
    """
    import keras

    from kdtutor import litert, prune

    if unanswered(answer, "answer_4"):
        return False
    if not is_number(answer) or answer <= 0:
        return verdict(False, "Answer with a ratio: the original's gzip size / the pruned one's.")
    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    prune.prune_weights(copy, sparsity)
    original, pruned = litert.to_tflite(model), litert.to_tflite(copy)
    expected = litert.gzip_size(original) / litert.gzip_size(pruned)
    if close(answer, expected, rel=tolerance):
        return verdict(True, "")
    if close(answer, litert.file_size(original) / litert.file_size(pruned), rel=0.01):
        hint = "That is the ratio of the raw files; the question is about their gzip sizes."
    elif close(answer, 1 / expected, rel=tolerance):
        hint = "Upside down: divide the original's gzip size by the pruned one's."
    elif close(answer, 1 / (1 - sparsity), rel=0.01):
        hint = (
            "That assumes gzip stores the kept weights and nothing for the zeros; measure it "
            "with litert.gzip_size."
        )
    else:
        hint = "Convert both models with litert.to_tflite and compare litert.gzip_size."
    return verdict(False, hint)
