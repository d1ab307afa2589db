"""What every exercise check shares: the verdict line, answers left blank, numbers, and running
a learner's function on many cases against the package's reference."""

from __future__ import annotations

import dataclasses
import math
import numbers
from collections.abc import Callable, Sequence

import numpy as np


def verdict(correct: bool, hint: str) -> bool:
    """Print "Correct!" or "Not yet." with ``hint`` (which must not contain the answer)."""
    print("Correct!" if correct else f"Not yet. {hint}")
    return bool(correct)


def unanswered(answer, name: str = "answer") -> bool:
    """True (after saying what to do) when the learner has not answered yet.

    Worded for both layouts: the plain notebook (answer and check in one cell) and nbgrader's
    (the answer cell above, the locked check below).
    """
    if answer is None:
        print(f"Set `{name}` to your answer in place of `None`, then run the check again.")
        return True
    return False


def is_plain(value, *kinds) -> bool:
    """Whether ``value`` is exactly of one of ``kinds`` (Python's own types, or NumPy's scalar
    types when ``kinds`` holds ``np.generic``), not of a subclass: a subclass's methods are
    the student's code, which could compare or convert itself to whatever the check expects."""
    kind = type(value)
    return kind in kinds or (np.generic in kinds and kind in _NUMPY_SCALARS)


# NumPy's own scalar types (np.float64, np.int32, ...), by identity: a subclass may carry any
# name and module.
_NUMPY_SCALARS = frozenset(t for t in np.sctypeDict.values() if issubclass(t, np.generic))


def is_number(value) -> bool:
    """A real, finite number that is not a bool: an ``int``, a ``float`` or a NumPy integer
    or floating scalar, exactly (see :func:`is_plain`)."""
    return (
        is_plain(value, int, float, np.generic)
        and isinstance(value, numbers.Real)
        and not isinstance(value, bool | np.bool_)
        and math.isfinite(float(value))
    )


def close(answer, expected: float, *, rel: float = 0.02, abs_: float = 0.0) -> bool:
    """A numeric answer within ``rel`` (relative) or ``abs_`` of ``expected``."""
    return is_number(answer) and math.isclose(float(answer), expected, rel_tol=rel, abs_tol=abs_)


def softmax(logits, temperature: float = 1.0) -> np.ndarray:
    """softmax(logits / temperature) over the last axis, in float64 (the checks' own helper)."""
    scaled = np.asarray(logits, dtype=np.float64) / temperature
    exp = np.exp(scaled - scaled.max(axis=-1, keepdims=True))
    return exp / exp.sum(axis=-1, keepdims=True)


# --- implement-and-check exercises -------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Case:
    """One input a learner's function is tried on: ``name`` says what it is (the learner reads
    it in the hint), ``args`` are the function's arguments, ``hint`` what to think about when
    this case fails and no known slip explains it."""

    name: str
    args: tuple
    hint: str = ""


@dataclasses.dataclass(frozen=True)
class Slip:
    """A typical wrong implementation: ``function`` computes what it returns for a case's
    arguments, ``hint`` says what to change (never the right code or value)."""

    function: Callable
    hint: str


def _copy(value):
    return value.copy() if isinstance(value, np.ndarray) else value


def _as_array(value):
    """The learner's result as a float64 array, or None when it cannot be read as numbers."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):
        return None
    return array.astype(np.float64) if array.dtype.kind in "biuf" else None  # bool, int, float


def _matches(result: np.ndarray, value, rtol: float, atol: float) -> bool:
    value = _as_array(value)
    return (
        value is not None
        and value.shape == result.shape
        and bool(np.allclose(result, value, rtol=rtol, atol=atol, equal_nan=True))
    )


def check_implementation(
    function,
    name: str,
    cases: Sequence[Case],
    reference: Callable,
    *,
    slips: Sequence[Slip] = (),
    rtol: float = 1e-4,
    atol: float = 1e-6,
    exact_dtype=None,
    hint: str = "",
    announce: bool = True,
    success: str | None = None,
) -> bool:
    """Run the learner's ``function`` on every case and compare with ``reference``'s result.

    ``name`` is the function's name in the notebook. Prints "Correct!" (with the number of
    cases) when every result has the reference's shape and values (within ``rtol``/``atol``;
    with ``exact_dtype``, e.g. ``np.int8``, also that dtype and exactly equal values); otherwise
    "Not yet." with the first failing case's name and a hint: a typical slip's when the result
    matches one (see :class:`Slip`), the case's own, or ``hint``. Never prints a reference
    value. A function that returns ``None`` has no body yet: that only says how to start.
    With ``announce=False`` a function that passes prints nothing (a check of several
    functions announces once, after the last).
    """
    if function is None or not callable(function):
        return verdict(
            False,
            f"Pass your function itself: `{name}` (no parentheses), defined in the cell above.",
        )
    for number, case in enumerate(cases, start=1):
        where = f"Case {number} of {len(cases)} ({case.name}):"
        try:
            with np.errstate(all="ignore"):  # nan or inf is reported below, in words
                raw = function(*(_copy(arg) for arg in case.args))
        except Exception as error:  # the learner's code: any error is a finding, not a crash
            message = str(error).splitlines()[0][:160] if str(error) else ""
            return verdict(False, f"{where} your `{name}` raised {type(error).__name__}: {message}")
        if raw is None:
            if number == 1:
                print(f"Write the body of `{name}` (so far it returns None), then run the check.")
                return False
            return verdict(False, f"{where} your `{name}` returned None.")
        expected = np.asarray(reference(*(_copy(arg) for arg in case.args)))
        result = _as_array(raw)
        if result is None:
            return verdict(
                False,
                f"{where} your `{name}` returned a {type(raw).__name__}, not numbers.",
            )
        if result.shape != expected.shape:
            what = "one number" if expected.shape == () else f"an array of shape {expected.shape}"
            return verdict(
                False,
                f"{where} your `{name}` returned shape {result.shape}; it should return {what}.",
            )
        if exact_dtype is not None and np.asarray(raw).dtype != np.dtype(exact_dtype):
            wanted = np.dtype(exact_dtype).name
            return verdict(
                False,
                f"{where} your `{name}` returned {np.asarray(raw).dtype} values; it should "
                f"return {wanted} (cast with .astype(np.{wanted})).",
            )
        tolerance = (0.0, 0.0) if exact_dtype is not None else (rtol, atol)
        if _matches(result, expected, *tolerance):
            continue
        known = next(
            (
                slip.hint
                for slip in slips
                if not _matches(_slip_value(slip, case), expected, *tolerance)
                and _matches(result, _slip_value(slip, case), *tolerance)
            ),
            None,
        )
        if known is None and not np.all(np.isfinite(result)) and np.all(np.isfinite(expected)):
            known = f"your result holds nan or inf where every value is finite. {case.hint}"
        return verdict(False, f"{where} {known or case.hint or hint}".rstrip())
    if announce:
        verdict(True, "")
        print(success or f"Your `{name}` agrees with the package's on all {len(cases)} cases.")
    return True


def _slip_value(slip: Slip, case: Case):
    try:
        with np.errstate(all="ignore"):
            return slip.function(*(_copy(arg) for arg in case.args))
    except Exception:
        return None
