"""The self-checks of notebook 01's exercises: right answers pass, typical slips do not.

Each check must accept the reference answer, reject typical wrong ones, handle an answer
left at ``None``, and never print the right answer in its message.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest

from kdtutor import exercises
from kdtutor.data import Dataset, load_dataset


def _says(check, capsys, *args, **kwargs):
    """Run ``check`` and return ``(verdict, printed)``."""
    verdict = check(*args, **kwargs)
    return verdict, capsys.readouterr().out


# Exercise 1: the dense layer's parameters with 128 filters in conv2. Worked out here from
# the shapes: 28 -> conv 26 -> pool 13 -> conv 11 -> pool 5, so flatten gives 5*5*filters.
def _dense_parameters(conv2_filters, units=128):
    return 5 * 5 * conv2_filters * units + units


def test_dense_parameters_accepts_the_count_from_the_shapes(capsys):
    verdict, printed = _says(exercises.check_dense_parameters, capsys, _dense_parameters(128))
    assert verdict is True and printed.startswith("Correct!")
    # another width, the same reasoning
    assert exercises.check_dense_parameters(_dense_parameters(16), conv2_filters=16)


@pytest.mark.parametrize(
    "wrong",
    [
        _dense_parameters(64),  # the layer as it is today
        _dense_parameters(128) - 128,  # the biases forgotten
        2 * _dense_parameters(64),  # today's count doubled, biases included
        18_496 * 2,  # conv2's own parameters, widened
        "409728",  # a string, not a number
        409_728.5,
    ],
)
def test_dense_parameters_rejects_typical_slips_without_telling(wrong, capsys):
    verdict, printed = _says(exercises.check_dense_parameters, capsys, wrong)
    assert verdict is False and printed.startswith("Not yet.")
    right = _dense_parameters(128)
    assert str(right) not in printed and f"{right:,}" not in printed


def test_dense_parameters_handles_no_answer(capsys):
    verdict, printed = _says(exercises.check_dense_parameters, capsys, None)
    assert verdict is False and "answer_1" in printed and "Not yet" not in printed


# Exercise 2: the true class with the most mistakes. Rows (true): 0 -> 1 mistake, 1 -> 1,
# 2 -> 3; columns (answers): class 1 is given wrongly 3 times, so "1" is the row/column slip.
Y_TRUE = np.array([0, 0, 1, 1, 2, 2, 2, 2, 3])
Y_PRED = np.array([0, 1, 1, 2, 1, 1, 0, 2, 3])
NAMES = ("zero", "one", "two", "three")


def test_most_missed_class_accepts_the_row_with_most_errors(capsys):
    verdict, printed = _says(
        exercises.check_most_missed_class, capsys, "two", Y_TRUE, Y_PRED, NAMES
    )
    assert verdict is True and printed.startswith("Correct!")
    assert exercises.check_most_missed_class(2, Y_TRUE, Y_PRED, NAMES)  # its index works too


def test_most_missed_class_accepts_any_of_a_tie():
    y_true, y_pred = np.array([0, 1, 2]), np.array([1, 0, 2])
    assert exercises.check_most_missed_class("zero", y_true, y_pred, NAMES[:3])
    assert exercises.check_most_missed_class("one", y_true, y_pred, NAMES[:3])


@pytest.mark.parametrize(
    "wrong, hint",
    [
        ("one", "column"),  # the teacher's most frequent wrong answer
        ("three", "row"),  # a class it never gets wrong
        ("seven", "class_names"),  # not a class
        (True, "class_names"),
    ],
)
def test_most_missed_class_rejects_typical_slips_without_telling(wrong, hint, capsys):
    verdict, printed = _says(
        exercises.check_most_missed_class, capsys, wrong, Y_TRUE, Y_PRED, NAMES
    )
    assert verdict is False and printed.startswith("Not yet.") and hint in printed
    assert "two" not in printed and "2" not in printed


def test_most_missed_class_handles_no_answer(capsys):
    verdict, printed = _says(exercises.check_most_missed_class, capsys, None, Y_TRUE, Y_PRED, NAMES)
    assert verdict is False and "answer_2" in printed


# Exercise 3: the test accuracy of a one-epoch teacher, on a tiny slice of mnist-5k
# (one epoch of 4 batches) so that the check's own training takes a second.
SETTINGS = {"teacher": "cnn", "batch_size": 64, "learning_rate": 1e-3}


@pytest.fixture(scope="module")
def tiny():
    data = load_dataset("mnist-5k", seed=0)
    return Dataset(
        data.x_train[:256],
        data.y_train[:256],
        data.x_test[:200],
        data.y_test[:200],
        name="mnist-5k-tiny",
        source="the first 256 train and 200 test images of mnist-5k",
        class_names=data.class_names,
    )


@pytest.fixture(scope="module")
def one_epoch_accuracy(tiny):
    # The notebook's recipe written out here: build, compile, fit one epoch, evaluate.
    import keras

    import kdtutor

    keras.utils.set_random_seed(0)
    teacher = kdtutor.make_teacher()
    teacher.compile(
        optimizer=keras.optimizers.Adam(1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    teacher.fit(tiny.x_train, tiny.y_train, epochs=1, batch_size=64, verbose=0)
    predictions = teacher.predict(tiny.x_test, verbose=0).argmax(axis=1)
    return float(np.mean(predictions == tiny.y_test))


def test_one_epoch_accuracy_accepts_the_measured_accuracy(tiny, one_epoch_accuracy, capsys):
    verdict, printed = _says(
        exercises.check_one_epoch_accuracy, capsys, one_epoch_accuracy, tiny, SETTINGS, seed=0
    )
    assert verdict is True and printed.startswith("Correct!")


def test_one_epoch_accuracy_rejects_typical_slips_without_telling(tiny, one_epoch_accuracy, capsys):
    for wrong in (
        100 * one_epoch_accuracy,  # in percent
        min(one_epoch_accuracy + 0.1, 1.0) if one_epoch_accuracy < 0.9 else 0.5,  # a guess
        1.0,  # "it learns everything in one epoch"
        "high",
    ):
        verdict, printed = _says(
            exercises.check_one_epoch_accuracy, capsys, wrong, tiny, SETTINGS, seed=0
        )
        assert verdict is False and printed.startswith("Not yet."), wrong
        for text in (f"{one_epoch_accuracy:.2f}", f"{one_epoch_accuracy:.1%}"):
            assert text not in printed


def test_one_epoch_accuracy_handles_no_answer_without_training(capsys):
    # Nothing is trained (no data is needed) while the answer is still None.
    verdict, printed = _says(exercises.check_one_epoch_accuracy, capsys, None, None, SETTINGS)
    assert verdict is False and "answer_3" in printed
