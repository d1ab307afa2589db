"""The series' one rule for "is this gain real": paired runs over seeds on the same test images.

Taught in notebook 03 ("Is the gain real?"); notebooks 04 and 05 give their verdicts with it.

Two training methods are compared *paired*: for each seed both start from the same initial
weights, and both are tested on the same N images. The gain is the mean, over the seeds, of
the accuracy difference. Two kinds of noise blur it, and the rule adds both:

- **seeds**: another seed gives another gain; the spread of the per-seed gains gives the
  standard error of their mean, ``std(per-seed gains) / sqrt(seeds)``;
- **test images**: another test split would give another gain. Per image, average
  ``after - before`` (+1 fixed, -1 broken, 0 agreed) over the seeds; the standard error of
  the mean of those N per-image values is ``std / sqrt(N)``. Only the images on which the
  two methods disagree contribute, and an image that flips in every seed counts once, not
  once per seed (the seeds share the test split, so they are not independent evidence).

The standard error of the gain adds the two: ``sqrt(seed_se**2 + image_se**2)``, and the
gain is called **real** when it is at least two standard errors away from zero (about 95 %
confidence). Both terms contain the noise of "this seed on this image", so the sum counts
it twice: the rule errs on the side of "within the noise" (by up to a factor sqrt(2) in the
standard error when that noise is all there is), never the other way. The exact two-way
variance would subtract one copy, but with a handful of seeds its estimate is itself so
noisy that "real" would be said too often; a conservative rule is the honest choice here.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = [
    "PairedGain",
    "paired_gain",
    "PairedComparison",
    "compare_paired",
    "NOISE_FACTOR",
    "MIN_SEEDS",
]

NOISE_FACTOR = 2.0  # a gain is real when |gain| >= NOISE_FACTOR x its standard error
MIN_SEEDS = 2  # the seed-to-seed noise needs two seeds at least


def _right_or_wrong(run, argument: str) -> np.ndarray:
    """``run`` as a boolean array: booleans, or numbers that are all 0 or 1, else ValueError."""
    array = np.asarray(run)
    if array.dtype != bool and not np.isin(array, (0, 1)).all():
        raise ValueError(
            f"`{argument}` must say for each test image whether the model got it right: "
            f"booleans such as predictions == labels (or 0/1); got values such as "
            f"{array[~np.isin(array, (0, 1))].flat[0].item()!r}."
        )
    return array.astype(bool)


class PairedGain(NamedTuple):
    """The gain of one model over another on the same images (see :func:`paired_gain`)."""

    gain_points: float
    standard_error_points: float
    fixed: int
    broken: int


def paired_gain(before, after) -> PairedGain:
    """Return the gain of ``after`` over ``before`` in accuracy points, with its standard error.

    ``before`` and ``after`` are boolean arrays of shape ``(N,)``: for each of the same N test
    images, whether that model got it right. ``fixed`` counts the images only ``after`` gets
    right, ``broken`` those only ``before`` gets right; the gain is
    ``100 * (fixed - broken) / N`` points and ``100 * sqrt(fixed + broken) / N`` is about its
    standard error (each disagreement a coin flip if the models were equally good). This is
    one seed's share of the test-image noise; :func:`compare_paired` is the rule for several.
    """
    before, after = _right_or_wrong(before, "before"), _right_or_wrong(after, "after")
    if before.ndim != 1 or before.shape != after.shape or not len(before):
        raise ValueError(
            f"`before` and `after` must be boolean arrays of the same shape (N,), one entry per "
            f"test image, e.g. predictions == labels; got shapes {before.shape} and "
            f"{after.shape}."
        )
    fixed, broken, count = int(np.sum(after & ~before)), int(np.sum(before & ~after)), len(before)
    return PairedGain(
        100 * (fixed - broken) / count, 100 * float(np.sqrt(fixed + broken)) / count, fixed, broken
    )


class PairedComparison(NamedTuple):
    """The verdict of :func:`compare_paired`: a gain, its noise and what they mean together."""

    gain_points: float  # mean over the seeds of after's accuracy minus before's, in points
    standard_error_points: float  # seeds and test images together (module docstring)
    seed_standard_error_points: float
    image_standard_error_points: float
    gains_points: tuple  # one gain per seed
    fixed: int  # summed over the seeds
    broken: int
    seeds: int
    images: int

    @property
    def real(self) -> bool:
        """True when the gain is at least ``NOISE_FACTOR`` standard errors from zero."""
        # Identical runs (no image fixed or broken) differ by nothing, not by a real 0.
        gain = self.gain_points
        return gain != 0 and abs(gain) >= NOISE_FACTOR * self.standard_error_points

    @property
    def verdict(self) -> str:
        """``"a real gain"``, ``"a real loss"`` or ``"within the noise"``."""
        if not self.real:
            return "within the noise"
        return "a real gain" if self.gain_points > 0 else "a real loss"

    def describe(self, after: str = "after", before: str = "before") -> str:
        """One line: ``after vs before: +1.20 ± 0.40 points over 3 seeds: a real gain``."""
        return (
            f"{after} vs {before}: {self.gain_points:+.2f} ± {self.standard_error_points:.2f} "
            f"points over {self.seeds} seeds ({self.fixed} test images fixed, {self.broken} "
            f"broken): {self.verdict}"
        )


def compare_paired(before, after) -> PairedComparison:
    """Compare two methods run in pairs: the series' rule for "is this gain real".

    ``before`` and ``after`` hold, for each seed, a boolean array of shape ``(N,)`` saying
    which of the same N test images that seed's model got right (a list of arrays, or one
    array of shape ``(seeds, N)``); seed ``k`` of ``after`` must be paired with seed ``k``
    of ``before`` (same initial weights, same data order). At least two seeds are needed:
    one seed says nothing about how much another seed would move the gain. Returns a
    :class:`PairedComparison`; the module docstring explains the standard error.
    """
    before = [_right_or_wrong(run, "before") for run in before]
    after = [_right_or_wrong(run, "after") for run in after]
    try:
        before, after = np.asarray(before), np.asarray(after)
    except ValueError as error:  # ragged: seeds tested on different numbers of images
        raise ValueError(
            "every seed's array must have one entry per test image, the same N for all seeds "
            f"and both methods ({error})"
        ) from None
    if before.ndim != 2 or before.shape != after.shape or before.shape[1] < 2:
        raise ValueError(
            "`before` and `after` must each hold one boolean array of shape (N,) per seed, "
            "e.g. [predictions == labels for each seed], paired seed by seed; got shapes "
            f"{before.shape} and {after.shape}."
        )
    seeds, images = before.shape
    if seeds < MIN_SEEDS:
        raise ValueError(
            f"compare_paired needs at least {MIN_SEEDS} seeds to measure the seed-to-seed noise; "
            f"got {seeds}. Train both methods with another seed and pass both runs."
        )
    difference = after.astype(float) - before.astype(float)  # +1 fixed, -1 broken, 0 agreed
    gains = 100 * difference.mean(axis=1)
    per_image = 100 * difference.mean(axis=0)
    seed_se = float(gains.std(ddof=1) / np.sqrt(seeds))
    image_se = float(per_image.std(ddof=1) / np.sqrt(images))
    return PairedComparison(
        gain_points=float(gains.mean()),
        standard_error_points=float(np.hypot(seed_se, image_se)),
        seed_standard_error_points=seed_se,
        image_standard_error_points=image_se,
        gains_points=tuple(float(gain) for gain in gains),
        fixed=int(np.sum(difference > 0)),
        broken=int(np.sum(difference < 0)),
        seeds=seeds,
        images=images,
    )
