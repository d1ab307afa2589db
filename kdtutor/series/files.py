"""Atomic file writes: a file is replaced whole or not at all, never left half-written.

:func:`replaced_atomically` gives a temporary path beside the target to write to, renames it
over the target when the writing succeeded and removes it when anything failed, so an
interrupted run leaves neither a truncated file nor its temporary file behind.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

__all__ = ["TEMPORARY_PREFIX", "replaced_atomically"]

#: How the temporary files start (hidden, and easy to tell from the real ones).
TEMPORARY_PREFIX = ".tmp-"


@contextlib.contextmanager
def replaced_atomically(path) -> Iterator[Path]:
    """Yield a temporary path in ``path``'s folder; on success rename it over ``path``.

    The temporary file exists (empty) and has ``path``'s suffix, so writers that go by the
    suffix (``keras.Model.save`` needs ``.keras``) accept it. If the ``with`` block raises,
    the temporary file is removed and the error goes on; ``path`` is left as it was. The
    folder is created if needed.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, name = tempfile.mkstemp(
        dir=path.parent, prefix=f"{TEMPORARY_PREFIX}{path.stem}-", suffix=path.suffix
    )
    os.close(handle)
    temporary = Path(name)
    try:
        yield temporary
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise
