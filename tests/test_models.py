"""The teacher and student builders: logits out, sizes as documented, clear errors."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from kdtutor import (
    ends_in_softmax,
    make_hinton_student,
    make_hinton_teacher,
    make_student,
    make_teacher,
)


def dense_params(sizes):
    """Weights + biases of a chain of Dense layers, e.g. [784, 128, 10]."""
    return sum(n_in * n_out + n_out for n_in, n_out in zip(sizes[:-1], sizes[1:], strict=False))


def test_parameter_counts_match_the_architectures():
    # conv3x3(1->32) -> pool -> conv3x3(32->64) -> pool leaves 5x5x64 = 1600 features.
    conv = (3 * 3 * 1 * 32 + 32) + (3 * 3 * 32 * 64 + 64)
    assert make_teacher().count_params() == conv + dense_params([1600, 128, 10])
    assert make_student().count_params() == dense_params([784, 128, 10])
    assert make_student(hidden_units=(64, 32)).count_params() == dense_params([784, 64, 32, 10])
    assert make_hinton_teacher().count_params() == dense_params([784, 1200, 1200, 10])
    assert make_hinton_student().count_params() == dense_params([784, 800, 800, 10])


@pytest.mark.parametrize(
    "builder", [make_teacher, make_student, make_hinton_teacher, make_hinton_student]
)
def test_models_output_logits(builder):
    model = builder()
    assert not ends_in_softmax(model)
    x = np.random.default_rng(0).random((5, 28, 28, 1), dtype=np.float32)
    logits = np.asarray(model(x, training=False))
    assert logits.shape == (5, 10)
    # Probabilities would be in [0, 1] and sum to 1; logits of a fresh net do neither.
    assert not np.allclose(logits.sum(axis=-1), 1.0)


def test_other_shapes_and_class_counts():
    model = make_teacher(input_shape=(32, 32, 3), num_classes=4, filters=(8,))
    x = np.zeros((2, 32, 32, 3), np.float32)
    assert model(x).shape == (2, 4)
    assert make_student(input_shape=(32, 32, 3), num_classes=4)(x).shape == (2, 4)


@pytest.mark.parametrize(
    "call,argument",
    [
        (lambda: make_student(hidden_units=()), "hidden_units"),
        (lambda: make_student(hidden_units=(128, -1)), "hidden_units"),
        (lambda: make_student(hidden_units=(12.5,)), "hidden_units"),
        (lambda: make_teacher(filters=(0,)), "filters"),
        (lambda: make_teacher(dropout=1.0), "dropout"),
        (lambda: make_student(dropout=-0.1), "dropout"),
        (lambda: make_student(num_classes=1), "num_classes"),
        (lambda: make_hinton_teacher(input_dropout=2), "input_dropout"),
    ],
)
def test_bad_arguments_name_the_argument(call, argument):
    with pytest.raises(ValueError, match=f"`{argument}`"):
        call()
