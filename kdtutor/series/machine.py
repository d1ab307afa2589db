"""The machine and the versions a run is recorded with: CPUs, GPUs, Python and libraries.

``kdtutor run`` stores :func:`versions` and :func:`machine` in its record;
``kdtutor doctor`` reports :func:`usable_cpus` and :func:`gpu_names`.
"""

from __future__ import annotations

import os
import platform

__all__ = ["usable_cpus", "gpu_names", "versions", "machine"]


def usable_cpus() -> int:
    """CPU threads this process may run on (its affinity: a container's or a job's share)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


def gpu_names() -> list[str]:
    """The GPUs TensorFlow sees, e.g. ``["/physical_device:GPU:0"]``; imports TensorFlow.

    Without TensorFlow's known start-up messages, such as the "failed call to cuInit" of a
    CUDA build on a machine without a GPU.
    """
    from kdtutor import _quiet

    _quiet.import_tensorflow()
    import tensorflow as tf

    return [device.name for device in tf.config.list_physical_devices("GPU")]


def versions() -> dict:
    """The versions of kdtutor, Python, TensorFlow, Keras and papermill; imports TensorFlow."""
    from kdtutor import _quiet

    _quiet.import_tensorflow()  # before Keras: without TensorFlow's known start-up messages
    import keras
    import papermill
    import tensorflow as tf

    from kdtutor import __version__

    return {
        "kdtutor": __version__,
        "python": platform.python_version(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "papermill": papermill.__version__,
    }


def machine() -> dict:
    """The platform, its CPUs (all, and usable by this process) and the GPUs TensorFlow sees."""
    return {
        "platform": platform.platform(),
        "cpu_count": os.cpu_count(),
        "cpus_usable": usable_cpus(),
        "gpus": gpu_names(),
    }
