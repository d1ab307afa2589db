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

``import kdtutor`` is fast: it imports neither TensorFlow nor Keras until a name that
needs them is used, installs no import hooks and leaves the environment alone. Importing
``DistillModel`` (or ``kdtutor.distill``) registers it with Keras, so that
``keras.models.load_model`` can read a saved distiller.
"""

from kdtutor.data import DATASET_NAMES, Dataset, DatasetUnavailableError, load_dataset

# The names below need TensorFlow, which takes seconds to import: they are loaded
# on first use (PEP 562), so `kdtutor --help` or `kdtutor list` start at once.
_LAZY = {
    "DistillModel": "kdtutor.distill",
    "distillation_loss": "kdtutor.distill",
    "ends_in_softmax": "kdtutor.logits",
    "softened_softmax": "kdtutor.distill",
    "strip_softmax": "kdtutor.logits",
    "make_hinton_student": "kdtutor.models",
    "make_hinton_teacher": "kdtutor.models",
    "make_student": "kdtutor.models",
    "make_teacher": "kdtutor.models",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'kdtutor' has no attribute {name!r}")
    import importlib

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
