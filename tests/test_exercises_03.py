"""The checks of notebook 03's exercises: right answers pass, typical wrong ones fail, and no
message gives the answer away."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras
import numpy as np
import pytest

from kdtutor import exercises
from kdtutor.models import make_student, make_teacher


@pytest.fixture(scope="module")
def models():
    keras.utils.set_random_seed(0)
    return make_teacher(), make_student()


@pytest.fixture(scope="module")
def batch():
    rng = np.random.default_rng(0)
    return rng.random((16, 28, 28, 1), dtype=np.float32), rng.integers(0, 10, size=16)


def test_alpha_one_loss(models, batch, capsys):
    teacher, student = models
    x, y = batch
    right = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    assert exercises.check_alpha_one_loss(right, teacher, student, x, y)
    assert capsys.readouterr().out.startswith("Correct!")
    wrong = [
        keras.losses.SparseCategoricalCrossentropy(),  # reads the logits as probabilities
        keras.losses.KLDivergence(),  # the soft term, not what alpha = 1 leaves
        "sparse_categorical_crossentropy",  # the function, likewise without from_logits
        keras.losses.CategoricalCrossentropy,  # a class, not a loss
        0.5,
    ]
    for answer in wrong:
        assert not exercises.check_alpha_one_loss(answer, teacher, student, x, y)
        out = capsys.readouterr().out
        assert out.startswith("Not yet.")
        assert "SparseCategorical" not in out and "from_logits" not in out


def test_teacher_logits_repeatable(models, batch, capsys):
    teacher, student = models
    x, _ = batch
    # The CNN teacher has dropout: in training mode two calls differ.
    assert exercises.check_teacher_logits_repeatable(False, teacher, x)
    assert capsys.readouterr().out.startswith("Correct!")
    for answer in (True, "False", 0):
        assert not exercises.check_teacher_logits_repeatable(answer, teacher, x)
        out = capsys.readouterr().out
        assert out.startswith("Not yet.") and "False" not in out
    # A model without dropout repeats itself: the check computes the answer, never assumes it.
    assert exercises.check_teacher_logits_repeatable(True, student, x)
    assert not exercises.check_teacher_logits_repeatable(False, student, x)


@pytest.mark.parametrize(
    "check, arguments",
    [
        ("check_alpha_one_loss", "models_and_batch"),
        ("check_teacher_logits_repeatable", "teacher_and_x"),
    ],
)
def test_an_unanswered_exercise_says_how_to_start(check, arguments, models, batch, capsys):
    teacher, student = models
    x, y = batch
    extra = {
        "models_and_batch": (teacher, student, x, y),
        "teacher_and_x": (teacher, x),
    }[arguments]
    assert getattr(exercises, check)(None, *extra) is False
    out = capsys.readouterr().out
    assert out.startswith("Set `answer_") and "Correct" not in out and "Not yet" not in out
