"""kdtutor: the support package of a notebook series on knowledge distillation.

The notebooks import what they need from here::

    from kdtutor import load_dataset, make_teacher, make_student
    from kdtutor import DistillModel, softened_softmax, distillation_loss

Modules: ``data`` (datasets, offline first), ``models`` (teachers and
students that output logits), ``distill`` (the KD loss and ``DistillModel``),
``training`` (the recipes the notebooks share), ``prune`` (magnitude pruning
for Keras 3), ``litert`` (LiteRT conversion and measurements), ``compare``
(a paired gain and its noise), ``plots`` and ``exercises``. What runs the series
(profiles, caches, the results file, ``kdtutor run``) lives apart, in
:mod:`kdtutor.series`.

``import kdtutor`` is fast (TensorFlow is imported on first use) and makes
every later TensorFlow import quiet; once Keras is imported, ``DistillModel``
is registered, so ``keras.models.load_model`` reads saved distillers.
"""

import contextlib
import importlib.abc
import os
import sys

import wrapt

# TensorFlow prints C++ start-up messages unless told otherwise; a learner
# should see the series' output, not that. An explicit user setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")


@contextlib.contextmanager
def _native_stderr_silenced():
    # TF 2.19+ logs "Could not find cuda drivers" through absl before its log
    # level applies (tensorflow/tensorflow#100442), straight to file descriptor 2,
    # which Jupyter copies into every notebook. Python-level errors and warnings
    # are unaffected; only C++ chatter during the import goes to /dev/null.
    try:
        saved = os.dup(2)
    except OSError:  # no usable stderr at all: nothing to silence
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


class _QuietTensorFlowImport(importlib.abc.MetaPathFinder):
    """Import TensorFlow, whoever imports it, with its C++ start-up chatter sent to /dev/null.

    Written here because no library offers a pre-import hook: this finder only wraps the
    loader that Python found for ``tensorflow``, so a learner's own ``import keras`` or
    ``import tensorflow`` after ``import kdtutor`` is as quiet as kdtutor's. Logs stay on
    when ``TF_CPP_MIN_LOG_LEVEL`` is 0 or 1 (the user asked for them).
    """

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow" or os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") in ("0", "1"):
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader = spec.loader
        if loader is None or not hasattr(loader, "exec_module"):
            return spec
        run_module = loader.exec_module

        def exec_module(module):
            with _native_stderr_silenced():
                run_module(module)
                # The first look for devices logs "failed call to cuInit" as an error on
                # machines with a CUDA library and no GPU; look once now, quietly. Listing
                # physical devices leaves them configurable (set_logical_device_configuration).
                module.config.list_physical_devices()

        loader.exec_module = exec_module
        return spec


def _import_tensorflow_quietly() -> None:
    """Import TensorFlow once, with its C++ start-up chatter silenced unless logs are wanted."""
    import tensorflow  # noqa: F401  (quiet through _QuietTensorFlowImport)


def _register_saveable_classes(_keras=None) -> None:
    # A saved DistillModel names the class "kdtutor>DistillModel"; Keras can only load it once
    # the class is registered, which happens when kdtutor.distill is imported. Importing it
    # here would make `import kdtutor` (and so `kdtutor --help`) wait for TensorFlow, so it
    # is imported the moment Keras itself is: keras.models.load_model works after
    # `import kdtutor` whatever the order of the imports.
    import kdtutor.distill  # noqa: F401


if not any(isinstance(finder, _QuietTensorFlowImport) for finder in sys.meta_path):
    sys.meta_path.insert(0, _QuietTensorFlowImport())
wrapt.register_post_import_hook(_register_saveable_classes, "keras")


from kdtutor.data import DATASET_NAMES, Dataset, DatasetUnavailableError, load_dataset  # noqa: E402

# The names below need TensorFlow, which takes seconds to import: they are loaded
# on first use (PEP 562), so `kdtutor --help` or `kdtutor list` start at once.
_LAZY = {
    "DistillModel": "kdtutor.distill",
    "distillation_loss": "kdtutor.distill",
    "ends_in_softmax": "kdtutor.distill",
    "softened_softmax": "kdtutor.distill",
    "strip_softmax": "kdtutor.distill",
    "make_hinton_student": "kdtutor.models",
    "make_hinton_teacher": "kdtutor.models",
    "make_student": "kdtutor.models",
    "make_teacher": "kdtutor.models",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'kdtutor' has no attribute {name!r}")
    import importlib

    _import_tensorflow_quietly()
    value = getattr(importlib.import_module(_LAZY[name]), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(_LAZY))


__version__ = "0.1.0"


def check_versions() -> str:
    """Check the environment the notebooks need and return a one-line summary.

    Raises ``RuntimeError`` saying how to fix it when Python is older than
    3.11, Keras is not Keras 3 (e.g. ``tf_keras`` shadows it) or TensorFlow is
    older than 2.21. The notebooks call it in their Setup cell, so a wrong
    environment fails on cell 2, not cell 40.
    """
    import sys

    _import_tensorflow_quietly()
    import keras
    import tensorflow as tf

    fix = "Create a fresh virtual environment and run: pip install -r requirements.txt"
    if sys.version_info < (3, 11):  # noqa: UP036 (a Jupyter kernel may run another Python)
        raise RuntimeError(f"Python 3.11+ is needed, this is {sys.version.split()[0]}. {fix}")
    if not keras.__version__.startswith("3."):
        raise RuntimeError(f"Keras 3 is needed, found keras {keras.__version__}. {fix}")
    if tuple(int(part) for part in tf.__version__.split(".")[:2]) < (2, 21):
        raise RuntimeError(f"TensorFlow 2.21+ is needed, found {tf.__version__}. {fix}")
    return (
        f"Python {sys.version.split()[0]}, TensorFlow {tf.__version__}, Keras {keras.__version__} "
        f"(backend {keras.backend.backend()}), kdtutor {__version__}"
    )


__all__ = [
    "check_versions",
    "DATASET_NAMES",
    "Dataset",
    "DatasetUnavailableError",
    "DistillModel",
    "distillation_loss",
    "ends_in_softmax",
    "load_dataset",
    "make_hinton_student",
    "make_hinton_teacher",
    "make_student",
    "make_teacher",
    "softened_softmax",
    "strip_softmax",
]
