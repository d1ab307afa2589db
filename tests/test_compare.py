"""Tests of kdtutor.compare.paired_gain against counts made by hand and a simulation."""

import numpy as np
import pytest

from kdtutor.compare import compare_paired, paired_gain


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


# compare_paired: the series' rule over seeds.


def test_compare_paired_on_a_case_worked_by_hand():
    # 4 images, 2 seeds. Seed 0: image 0 fixed; seed 1: images 0 and 1 fixed, image 2 broken.
    before = [[False, True, True, True], [False, False, True, True]]
    after = [[True, True, True, True], [True, True, False, True]]
    result = compare_paired(before, after)
    assert result.gains_points == pytest.approx((25.0, 25.0))
    assert result.gain_points == pytest.approx(25.0)
    assert result.seed_standard_error_points == pytest.approx(0.0)
    # per image, mean difference over seeds: [1, 0.5, -0.5, 0]; sample std / sqrt(4), in points
    per_image = np.array([1.0, 0.5, -0.5, 0.0])
    expected = 100 * np.sqrt(np.sum((per_image - per_image.mean()) ** 2) / 3) / 2
    assert result.image_standard_error_points == pytest.approx(expected)
    assert result.standard_error_points == pytest.approx(expected)
    assert (result.fixed, result.broken, result.seeds, result.images) == (3, 1, 2, 4)
    assert result.verdict == "within the noise"  # 25 < 2 x 32.3
    line = result.describe("distilled", "scratch")
    assert line.startswith("distilled vs scratch: +25.00 ± 32.27 points over 2 seeds")
    assert line.endswith("within the noise")


def simulate(rng, *, true_gain, seeds, images=1000, disagree=0.05):
    """Paired runs with all three kinds of noise; the methods are equally good at true_gain 0.

    Each test image has its own chance of being disagreed on (some images are hard for both
    methods, and flip seed after seed), each seed its own lean towards one method, and each
    seed-image pair its own coin.
    """
    easy = rng.random(images) < 0.9  # images both methods usually get right
    hardness = rng.gamma(0.5, 2 * disagree, images).clip(0, 1)  # mean = disagree
    before, after = [], []
    for _ in range(seeds):
        base = easy | (rng.random(images) < 0.5)
        flip = rng.random(images) < hardness
        lean = rng.normal(0, 0.05)  # this seed happens to favour one method a little
        toward = rng.random(images) < 0.5 + true_gain + lean
        b, a = base.copy(), base.copy()
        a[flip & toward], b[flip & ~toward] = True, True
        a[flip & ~toward], b[flip & toward] = False, False
        before.append(b)
        after.append(a)
    return before, after


def test_equal_methods_are_called_real_rarely():
    # The rule's promise: when two methods are equally good, "real" about 5 % of the time
    # or less (it errs towards "within the noise"). Each draw is a new test split and seeds.
    rng = np.random.default_rng(1)
    verdicts = [compare_paired(*simulate(rng, true_gain=0.0, seeds=3)).real for _ in range(400)]
    assert np.mean(verdicts) < 0.08


def test_the_standard_error_covers_both_kinds_of_noise():
    # The spread of the mean gain over fresh test splits and seeds is the stated SE, or a
    # little less: the rule counts the seed-by-image noise twice, on purpose (module doc).
    rng = np.random.default_rng(2)
    runs = [compare_paired(*simulate(rng, true_gain=0.0, seeds=4)) for _ in range(400)]
    spread = np.std([run.gain_points for run in runs])
    stated = np.mean([run.standard_error_points for run in runs])
    assert 0.95 * spread < stated < 1.45 * spread


def test_a_large_consistent_gain_is_real_and_a_loss_is_a_loss():
    rng = np.random.default_rng(3)
    gain = compare_paired(*simulate(rng, true_gain=0.4, seeds=3))
    assert gain.real and gain.verdict == "a real gain"
    before, after = simulate(rng, true_gain=0.4, seeds=3)
    assert compare_paired(after, before).verdict == "a real loss"


def test_compare_paired_refuses_what_does_not_pair():
    with pytest.raises(ValueError, match="at least 2 seeds"):
        compare_paired([[True, False, True]], [[True, True, True]])
    with pytest.raises(ValueError, match=r"got shapes \(2, 3\) and \(2, 4\)"):
        compare_paired([[True] * 3] * 2, [[True] * 4] * 2)
    with pytest.raises(ValueError, match="the same N for all seeds"):
        compare_paired([[True] * 3, [True] * 4], [[True] * 3, [True] * 4])


def test_identical_runs_are_within_the_noise_not_a_real_loss():
    right = np.array([True, False, True, True])
    comparison = compare_paired([right, right], [right, right])
    assert (comparison.gain_points, comparison.standard_error_points) == (0.0, 0.0)
    assert comparison.verdict == "within the noise"


def test_numbers_that_are_not_right_or_wrong_are_refused():
    right = np.array([True, False, True])
    with pytest.raises(ValueError, match=r"`before` must say .* got values such as 0.2"):
        compare_paired([np.array([0.2, 1.0, 0.0])] * 2, [right, right])
    as_numbers = compare_paired([right.astype(int)] * 2, [np.array([1, 1, 1])] * 2)
    assert as_numbers.fixed == 2 and as_numbers.broken == 0


# The rule's line, on cases whose standard errors are worked out by hand.


def _fixed_in_every_seed(fixed, images, seeds=2):
    """Identical seeds in which `after` fixes the first `fixed` of `images` and breaks none."""
    before = np.zeros((seeds, images), dtype=bool)
    after = before.copy()
    after[:, :fixed] = True
    return before, after


def test_a_gain_is_real_from_two_standard_errors_on():
    # Identical seeds: no seed noise; per image 100 (fixed) or 0, so the image SE is
    # 100 * sqrt(k (N - k) / (N (N - 1))) / sqrt(N) and the gain 100 k / N points.
    two_and_a_half = compare_paired(*_fixed_in_every_seed(4, 10))  # 40 / 16.33 = 2.45 SE
    assert two_and_a_half.standard_error_points == pytest.approx(
        100 * np.sqrt(24 / 90) / np.sqrt(10)
    )
    assert two_and_a_half.real and two_and_a_half.verdict == "a real gain"
    just_short = compare_paired(*_fixed_in_every_seed(3, 10))  # 30 / 15.28 = 1.96 SE
    assert not just_short.real and just_short.verdict == "within the noise"


def test_a_gain_of_exactly_two_standard_errors_is_real():
    # Per seed (rows) +1 fixed, -1 broken, 0 agreed: gains 75, 75, 75, -25 points, mean 50,
    # sample sd 50, seed SE 50 / sqrt(4) = 25; every image is fixed in 2 of the 4 seeds, so
    # the image SE is 0. The gain is 2 x 25 exactly (every number here is exact in floats).
    difference = np.array([[0, 1, 1, 1], [1, 0, 1, 1], [1, 1, 0, 1], [0, 0, 0, -1]])
    comparison = compare_paired(difference == -1, difference == 1)
    assert comparison.gains_points == (75.0, 75.0, 75.0, -25.0)
    assert (comparison.seed_standard_error_points, comparison.image_standard_error_points) == (
        25.0,
        0.0,
    )
    assert (comparison.gain_points, comparison.standard_error_points) == (50.0, 25.0)
    assert comparison.real and comparison.verdict == "a real gain"
    assert compare_paired(difference == 1, difference == -1).verdict == "a real loss"


def test_a_real_gain_of_less_than_one_point_is_a_gain_and_its_reverse_a_loss():
    # 5 of 1,000 images fixed in both seeds: +0.5 points, 2.24 standard errors.
    before, after = _fixed_in_every_seed(5, 1000)
    gain = compare_paired(before, after)
    assert gain.gain_points == pytest.approx(0.5) and gain.verdict == "a real gain"
    loss = compare_paired(after, before)
    assert loss.gain_points == pytest.approx(-0.5) and loss.verdict == "a real loss"


def test_compare_paired_on_two_images_with_seeds_that_disagree():
    # Seed 0: image 0 fixed (+50 points); seed 1: image 0 fixed, image 1 broken (0 points).
    # Seed SE: sample sd of (50, 0) = 35.36, / sqrt(2) = 25. Per image: 100 and -50 points,
    # sample sd 106.07, / sqrt(2) = 75. Together sqrt(25**2 + 75**2) = 79.06.
    before = [[False, True], [False, True]]
    after = [[True, True], [True, False]]
    result = compare_paired(before, after)
    assert result.gains_points == (50.0, 0.0) and result.gain_points == pytest.approx(25.0)
    assert result.seed_standard_error_points == pytest.approx(25.0)
    assert result.image_standard_error_points == pytest.approx(75.0)
    assert result.standard_error_points == pytest.approx(np.sqrt(25.0**2 + 75.0**2))
    assert (result.fixed, result.broken, result.images) == (2, 1, 2)
    # One image gives no spread over images to measure: refused, not a NaN standard error.
    with pytest.raises(ValueError, match=r"got shapes \(2, 1\) and \(2, 1\)"):
        compare_paired([[True], [False]], [[True], [True]])


def test_the_message_names_the_argument_and_its_first_value_that_is_not_0_or_1():
    right = [1, 0, 1]
    with pytest.raises(ValueError, match=r"^`after` must say .* got values such as 2\.$"):
        compare_paired([right, right], [right, [0, 1, 2]])
    with pytest.raises(ValueError, match=r"^`before` must say .* got values such as 5\.$"):
        paired_gain([0, 5, 1], right)
    with pytest.raises(ValueError, match=r"^`after` must say .* got values such as -1\.$"):
        paired_gain(right, [1, -1, 0])


def test_describe_says_after_vs_before_unless_named():
    line = compare_paired(*_fixed_in_every_seed(4, 10)).describe()
    assert line == (
        "after vs before: +40.00 ± 16.33 points over 2 seeds (8 test images fixed, 0 broken): "
        "a real gain"
    )
