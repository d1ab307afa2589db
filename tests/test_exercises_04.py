"""The self-checks of notebook 04's exercises: right answers pass, typical slips do not.

Each check must accept the reference answer, reject typical wrong ones, handle an answer
left at ``None``, and never print the right answer in its message. The reference answers
are computed here independently of the checks, on small fixed models: the file converted
here, the pruning done with NumPy. Exercises 1 and 2 (implement-and-check) are tested in
test_implement_exercises.py.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import gzip

import keras
import numpy as np
import pytest

from kdtutor import exercises, litert

# Calibration images that span [0, 1], as MNIST's do: pure black and pure white included.
IMAGES = np.random.default_rng(0).uniform(0, 1, size=(32, 6, 6, 1)).astype("float32")
IMAGES[0], IMAGES[1] = 0.0, 1.0


def _model(hidden: int = 16, seed: int = 0) -> keras.Model:
    keras.utils.set_random_seed(seed)
    return keras.Sequential(
        [
            keras.Input(shape=(6, 6, 1)),
            keras.layers.Flatten(),
            keras.layers.Dense(hidden, activation="relu"),
            keras.layers.Dense(4),
        ]
    )


def _says(check, capsys, *args, **kwargs):
    """Run ``check`` and return ``(verdict, printed)``."""
    verdict = check(*args, **kwargs)
    return verdict, capsys.readouterr().out


def _shows(value: float, printed: str) -> bool:
    """Whether ``printed`` holds ``value`` as a learner would read or type it."""
    forms = {f"{value:.{digits}f}" for digits in (0, 1, 2, 3)} | {f"{value:,.0f}", f"{value:g}"}
    return any(form in printed for form in forms)


@pytest.mark.parametrize(
    "check, name",
    [
        (exercises.check_int8_file_size, "answer_3"),
        (exercises.check_pruned_gzip_ratio, "answer_4"),
    ],
)
def test_an_unanswered_exercise_says_how_to_start(capsys, check, name):
    verdict, printed = _says(check, capsys, None, None, None)
    assert verdict is False and f"`{name}`" in printed and "Not yet" not in printed


# Exercise 3: the size of an int8 file, predicted within 10 %.
@pytest.fixture(scope="module")
def int8_size():
    model = _model(hidden=64)
    tflite_model = litert.to_tflite(model, quantization="int8", representative_data=IMAGES)
    return model, litert.file_size(tflite_model)


def test_size_check_accepts_a_prediction_within_ten_percent(capsys, int8_size):
    model, size = int8_size
    for answer in (size, 1.08 * size, 0.93 * size):
        verdict, printed = _says(exercises.check_int8_file_size, capsys, answer, model, IMAGES)
        assert verdict is True and printed.startswith("Correct!")


@pytest.mark.parametrize(
    "wrong, slip",
    [
        (lambda model, size: 4 * model.count_params(), "float32"),  # float32 weights
        (lambda model, size: size / 1000, "unit"),  # in kB
        (lambda model, size: 1.3 * size, "Too large"),
        (lambda model, size: 0.5 * size, "Too small"),
        (lambda model, size: -size, "number of bytes"),
    ],
)
def test_size_check_rejects_wrong_predictions_without_telling(capsys, int8_size, wrong, slip):
    model, size = int8_size
    answer = wrong(model, size)
    verdict, printed = _says(exercises.check_int8_file_size, capsys, answer, model, IMAGES)
    assert verdict is False and printed.startswith("Not yet.") and slip in printed
    assert not _shows(size, printed) and not _shows(size / 1000, printed)


# Exercise 4: how much a one-shot pruning to 50 % shrinks the gzipped float32 file.
def _pruned_by_numpy(model, sparsity):
    copy = keras.models.clone_model(model)
    weights = []
    for weight in model.get_weights():
        weight = weight.copy()
        if weight.ndim >= 2:  # kernels; biases are not pruned
            flat = weight.reshape(-1)
            flat[np.argsort(np.abs(flat), kind="stable")[: round(sparsity * flat.size)]] = 0
        weights.append(weight)
    copy.set_weights(weights)
    return copy


def _gzip(tflite_model):
    return len(gzip.compress(tflite_model, compresslevel=9, mtime=0))


@pytest.fixture(scope="module")
def pruning():
    model = _model(hidden=64, seed=1)
    pruned = _pruned_by_numpy(model, 0.5)
    assert np.mean(pruned.get_weights()[0] == 0) == 0.5
    return model, _gzip(litert.to_tflite(model)) / _gzip(litert.to_tflite(pruned))


def test_gzip_check_accepts_the_ratio_measured_independently(capsys, pruning):
    model, ratio = pruning
    assert 1.2 < ratio < 2
    verdict, printed = _says(exercises.check_pruned_gzip_ratio, capsys, ratio, model, 0.5)
    assert verdict is True and printed.startswith("Correct!")


@pytest.mark.parametrize(
    "wrong, slip",
    [
        (lambda ratio: 1.0, "raw files"),  # the file ratio: zeros do not shrink the file
        (lambda ratio: 2.0, "measure it"),  # 1 / (1 - sparsity): as if zeros cost nothing
        (lambda ratio: 1 / ratio, "Upside down"),
        (lambda ratio: 1.3 * ratio, "gzip_size"),
        (lambda ratio: 0, "ratio"),
    ],
)
def test_gzip_check_rejects_wrong_ratios_without_telling(capsys, pruning, wrong, slip):
    model, ratio = pruning
    verdict, printed = _says(exercises.check_pruned_gzip_ratio, capsys, wrong(ratio), model, 0.5)
    assert verdict is False and printed.startswith("Not yet.") and slip in printed
    assert not _shows(ratio, printed)
