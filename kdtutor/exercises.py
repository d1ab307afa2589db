"""The exercises' self-checks: right or wrong, with a hint, never the answer.

Each notebook ends with exercises; each one is checked by a ``check_<name>(answer, ...)``
function here. A check computes the right answer itself, from what the notebook passes in
(a model, the data, the run's numbers), so neither the learner's cell nor this message
holds it. It prints one line and returns ``True`` for a right answer, ``False`` otherwise;
an answer left at ``None`` only says how to start. Reference solutions live in
``notebooks/solutions/``.
"""

from __future__ import annotations

import math
import numbers

__all__: list[str] = []


def _verdict(correct: bool, hint: str) -> bool:
    """Print "Correct!" or "Not yet" with ``hint`` (which must not contain the answer)."""
    print("Correct!" if correct else f"Not yet. {hint}")
    return bool(correct)


def _unanswered(answer, name: str = "answer") -> bool:
    """True (after saying what to do) when the learner has not answered yet."""
    if answer is None:
        print(f"Set `{name}` in the cell above to your answer, then run this cell again.")
        return True
    return False


def _is_number(value) -> bool:
    return (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(float(value))
    )


def _close(answer, expected: float, *, rel: float = 0.02, abs_: float = 0.0) -> bool:
    """A numeric answer within ``rel`` (relative) or ``abs_`` of ``expected``."""
    return _is_number(answer) and math.isclose(float(answer), expected, rel_tol=rel, abs_tol=abs_)


# Each notebook's checks follow, in notebook order; each name is added to __all__.
