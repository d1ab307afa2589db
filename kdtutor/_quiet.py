"""Keep TensorFlow's and LiteRT's known C++ start-up messages out of notebooks (private).

A few messages are written from C++ straight to file descriptor 2, before any log level
applies (tensorflow/tensorflow#100442): "Could not find cuda drivers", "oneDNN custom
operations are on", "failed call to cuInit", LiteRT's "Created TensorFlow Lite XNNPACK
delegate" and the int8 converter's "fully_quantize: ...". Jupyter copies that descriptor
into the notebook, where a learner reads them as errors. :func:`known_chatter_filtered`
captures what C++ writes during one call of ours (with ``wurlitzer``, the Jupyter
project's C-level capture) and writes every other line back to ``sys.stderr`` when the
call returns, so nothing else is lost, only delayed. It is used where the series starts
(:func:`import_tensorflow`, called by ``kdtutor.series.setup`` and the command line) and
around LiteRT's conversion and interpreter; ``import kdtutor`` uses neither, and nothing
here changes how another package is imported. Logs stay untouched when the user asked for
them (``TF_CPP_MIN_LOG_LEVEL`` set to 0 or 1).
"""

from __future__ import annotations

import contextlib
import io
import os
import re
import sys

# One pattern per message; anything else is written back.
_KNOWN = re.compile(
    r"WARNING: All log messages before absl::InitializeLog\(\) is called are written to STDERR"
    r"|[IWE]\d{4} [\d:. ]+\d+ (port\.cc|cudart_stub\.cc|cpu_feature_guard\.cc|cuda_platform\.cc"
    r"|cuda_executor\.cc|cuda_diagnostics\.cc)[:\]]"
    r"|To enable the following instructions: .* rebuild TensorFlow with the appropriate"
    r"|INFO: Created TensorFlow Lite XNNPACK delegate for CPU\."
    r"|fully_quantize: \d+, inference_type: "
)


def is_known_chatter(line: str) -> bool:
    """True for a line of one of the known start-up messages (see the module docstring)."""
    return bool(_KNOWN.match(line))


def logs_wanted() -> bool:
    """True when the user asked TensorFlow for its logs (``TF_CPP_MIN_LOG_LEVEL`` 0 or 1)."""
    return os.environ.get("TF_CPP_MIN_LOG_LEVEL") in ("0", "1")


@contextlib.contextmanager
def known_chatter_filtered():
    """Run the block with the known C++ messages dropped and every other line kept."""
    if logs_wanted():
        yield
        return
    import wurlitzer

    captured = io.StringIO()
    try:
        with wurlitzer.pipes(stdout=None, stderr=captured):
            yield
    finally:
        kept = [
            line
            for line in captured.getvalue().splitlines(keepends=True)
            if not is_known_chatter(line)
        ]
        if kept:
            sys.stderr.write("".join(kept))
            sys.stderr.flush()


def import_tensorflow() -> None:
    """Import TensorFlow and look for devices once, without the known start-up messages.

    Sets ``TF_CPP_MIN_LOG_LEVEL`` to 2 (warnings and errors only) unless the user set it,
    which is how TensorFlow is told to keep its routine C++ logs quiet. Does nothing when
    TensorFlow is already imported. Called where the series starts, never by ``import
    kdtutor``.
    """
    if "tensorflow" in sys.modules:
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    with known_chatter_filtered():
        import tensorflow as tf

        # The first look for devices logs "failed call to cuInit" on machines with a CUDA
        # library and no GPU. Listing physical devices leaves them configurable.
        tf.config.list_physical_devices()
