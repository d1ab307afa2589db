"""Tests of kdtutor.compare.paired_gain against counts made by hand and a simulation."""

import numpy as np
import pytest

from kdtutor.compare import paired_gain


def test_paired_gain_counts_only_the_disagreements():
    # 100 images: both right on 90, both wrong on 4, 5 fixed by `after`, 1 broken.
    before = np.array([True] * 90 + [False] * 4 + [False] * 5 + [True] * 1)
    after = np.array([True] * 90 + [False] * 4 + [True] * 5 + [False] * 1)
    result = paired_gain(before, after)
    assert (result.fixed, result.broken) == (5, 1)
    assert result.gain_points == pytest.approx(100 * (after.mean() - before.mean()))
    assert result.standard_error_points == pytest.approx(100 * np.sqrt(6) / 100)
    assert paired_gain(after, before).gain_points == pytest.approx(-result.gain_points)


def test_the_standard_error_matches_the_spread_of_simulated_gains():
    # Two equally good models that disagree on 60 of 1,000 images, at random: the gains'
    # spread over many draws is the stated standard error.
    rng = np.random.default_rng(0)
    gains, errors = [], []
    for _ in range(2000):
        before = np.ones(1000, dtype=bool)
        after = before.copy()
        disagree = rng.choice(1000, 60, replace=False)
        flips = rng.random(60) < 0.5
        after[disagree[flips]], before[disagree[~flips]] = False, False
        result = paired_gain(before, after)
        gains.append(result.gain_points)
        errors.append(result.standard_error_points)
    assert np.std(gains) == pytest.approx(np.mean(errors), rel=0.05)


def test_paired_gain_refuses_arrays_that_do_not_pair():
    with pytest.raises(ValueError, match=r"same shape \(N,\).*got shapes \(3,\) and \(4,\)"):
        paired_gain([True, False, True], [True, False, True, True])
    with pytest.raises(ValueError, match="same shape"):
        paired_gain([], [])
