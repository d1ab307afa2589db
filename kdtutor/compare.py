"""Comparing two models on the same test images: a paired gain and its noise.

Taught in notebook 03 ("Is the gain real?"); notebook 05 compares its students the same way.
Two models evaluated on the same N images disagree on only some of them: those the second
gets right and the first wrong ("fixed") and the reverse ("broken"). Only those carry
information about which model is better, so the gain and its standard error come from them.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

__all__ = ["PairedGain", "paired_gain"]


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
    standard error (each disagreement a coin flip if the models were equally good).
    """
    before, after = np.asarray(before, dtype=bool), np.asarray(after, dtype=bool)
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
