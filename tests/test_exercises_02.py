"""The self-checks of notebook 02's exercises: right answers pass, typical slips do not.

Each check must accept the reference answer, reject typical wrong ones, handle an answer
left at ``None``, and never print the right answer in its message. The reference answers
are computed here independently of the checks (SciPy's optimiser); the implement-and-check
exercises (2 and 3) are tested in test_implement_exercises.py.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np
import pytest
from scipy.optimize import minimize_scalar

from kdtutor import exercises

# A few fixed logits: three examples, five classes, no ties.
LOGITS = np.array([[5.0, 3.0, 0.0, -1.0, -2.0], [1.0, 2.0, 3.0, 0.5, -1.0], [0.2, -2, 4, 1, 3]])


def _says(check, capsys, *args, **kwargs):
    """Run ``check`` and return ``(verdict, printed)``."""
    verdict = check(*args, **kwargs)
    return verdict, capsys.readouterr().out


def _shows(value: float, printed: str) -> bool:
    """Whether ``printed`` holds ``value`` as a learner would read or type it."""
    return any(f"{value:.{digits}f}" in printed for digits in (1, 2, 3, 4))


# Exercise 1: dividing by T > 0 keeps the order of the logits, so the argmax never changes.
@pytest.mark.parametrize("right", [False, np.bool_(False)])
def test_argmax_check_accepts_that_the_predicted_class_never_changes(capsys, right):
    verdict, printed = _says(exercises.check_argmax_under_temperature, capsys, right, LOGITS)
    assert verdict is True and printed.startswith("Correct!")


@pytest.mark.parametrize("wrong", [True, 1, 0, "no", "it depends on T"])
def test_argmax_check_rejects_true_and_non_bools_without_telling(capsys, wrong):
    verdict, printed = _says(exercises.check_argmax_under_temperature, capsys, wrong, LOGITS)
    assert verdict is False and printed.startswith("Not yet.")
    assert "False" not in printed and "never" not in printed


def _probabilities(logits, temperature):
    return np.exp(logits / temperature) / np.exp(logits / temperature).sum()


# Exercise 4: the temperature at which a runner-up class's probability peaks.
def _peak_temperature(logits, class_index):
    result = minimize_scalar(
        lambda log_t: -_probabilities(logits, np.exp(log_t))[class_index],
        bounds=(np.log(0.05), np.log(500.0)),
        method="bounded",
        options={"xatol": 1e-6},
    )
    return float(np.exp(result.x))


def test_peak_temperature_check_accepts_the_peak_found_independently(capsys):
    right = _peak_temperature(LOGITS[0], 1)
    assert 1.0 < right < 20.0  # an interior peak: the exercise has something to find
    for answer in (right, right * 1.03, right / 1.03):
        verdict, printed = _says(exercises.check_peak_temperature, capsys, answer, LOGITS[0], 1)
        assert verdict is True and printed.startswith("Correct!")


@pytest.mark.parametrize("wrong", [1.0, 8.0, 20.0, 1000.0, -3.0, True, "high"])
def test_peak_temperature_check_rejects_other_temperatures_without_telling(capsys, wrong):
    right = _peak_temperature(LOGITS[0], 1)
    verdict, printed = _says(exercises.check_peak_temperature, capsys, wrong, LOGITS[0], 1)
    assert verdict is False and printed.startswith("Not yet.")
    assert not _shows(right, printed)


def test_peak_temperature_check_knows_a_class_that_only_rises(capsys):
    # Class 4's logit lies below the mean: its probability rises towards uniform for ever.
    verdict, _ = _says(exercises.check_peak_temperature, capsys, 1e6, LOGITS[0], 4)
    assert verdict is True
    verdict, _ = _says(exercises.check_peak_temperature, capsys, 5.0, LOGITS[0], 4)
    assert verdict is False


@pytest.mark.parametrize(
    ("check", "args", "name"),
    [
        (exercises.check_argmax_under_temperature, (LOGITS,), "answer_1"),
        (exercises.check_peak_temperature, (LOGITS[0], 1), "answer_4"),
    ],
)
def test_an_answer_left_at_none_only_says_how_to_start(capsys, check, args, name):
    verdict, printed = _says(check, capsys, None, *args)
    assert verdict is False and f"`{name}`" in printed and "Not yet" not in printed
