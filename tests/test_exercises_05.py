"""The checks of notebook 05's exercises: right answers pass, typical slips fail, no leaks."""

import numpy as np

from kdtutor import exercises


def _run(capsys, check, *args):
    result = check(*args)
    return result, capsys.readouterr().out


# Four images of digit 1: it needs +1, +2, +3 and +4 to win; half recovered above 2.
LOGITS = np.array(
    [[3.0, 2.0, 0.0], [4.0, 2.0, 0.0], [0.0, 2.0, 5.0], [6.0, 2.0, 1.0]], dtype="float32"
)


def test_half_recovery_bias_accepts_the_reference(capsys):
    ok, out = _run(capsys, exercises.check_half_recovery_bias, 2.05, LOGITS, 1)
    assert ok and "Correct" in out


def test_half_recovery_bias_rejects_slips_without_telling(capsys):
    for wrong in (0.0, 2.0, 1.5, 4.5, 10.0):  # none, a tie, too small, too large
        ok, out = _run(capsys, exercises.check_half_recovery_bias, wrong, LOGITS, 1)
        assert not ok and "Not yet" in out and "2.0" not in out.replace(f"{wrong}", "")


def test_half_recovery_bias_handles_none_and_non_numbers(capsys):
    assert not exercises.check_half_recovery_bias(None, LOGITS, 1)
    assert "Set `answer_2`" in capsys.readouterr().out
    assert not exercises.check_half_recovery_bias("2", LOGITS, 1)
    capsys.readouterr()
