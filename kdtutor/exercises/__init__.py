"""The exercises' self-checks: right or wrong, with a hint, never the answer.

Each notebook ends with exercises; each one is checked by a ``check_<name>(answer, ...)``
function, kept in one module per notebook (``_01`` … ``_05``) and exported here. A check
computes the right answer itself, from what the notebook passes in (a model, the data, the
run's numbers), so neither the learner's cell nor the message holds it. It prints one line
and returns ``True`` for a right answer, ``False`` otherwise; an answer left at ``None`` (or a
function whose body is still empty) only says how to start.

Some exercises have the learner *implement* the lesson's mechanism (the softened softmax, the
KD loss, a distiller's ``compute_loss``, int8 quantization, a pruning mask, label smoothing):
their check runs the learner's function on many cases against the package's reference and
names the first case that fails. Reference solutions live in ``notebooks/solutions/``.
"""

from kdtutor.exercises._01 import *  # noqa: F403
from kdtutor.exercises._01 import __all__ as _all_01
from kdtutor.exercises._02 import *  # noqa: F403
from kdtutor.exercises._02 import __all__ as _all_02
from kdtutor.exercises._03 import *  # noqa: F403
from kdtutor.exercises._03 import __all__ as _all_03
from kdtutor.exercises._04 import *  # noqa: F403
from kdtutor.exercises._04 import __all__ as _all_04
from kdtutor.exercises._05 import *  # noqa: F403
from kdtutor.exercises._05 import __all__ as _all_05

__all__ = [*_all_01, *_all_02, *_all_03, *_all_04, *_all_05]
