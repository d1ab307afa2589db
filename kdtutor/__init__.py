"""kdtutor: the support package of a notebook series on knowledge distillation.

The notebooks import what they need from here::

    from kdtutor import load_dataset, make_teacher, make_student
    from kdtutor import DistillModel, softened_softmax, distillation_loss

Modules: ``data`` (datasets, offline first), ``models`` (teachers and
students that output logits), ``distill`` (the KD loss and ``DistillModel``).
"""

import os

# TensorFlow prints C++ start-up messages unless told otherwise; a learner
# should see the series' output, not that. An explicit user setting wins.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

from kdtutor.data import DATASET_NAMES, Dataset, DatasetUnavailableError, load_dataset  # noqa: E402
from kdtutor.distill import (  # noqa: E402
    DistillModel,
    distillation_loss,
    ends_in_softmax,
    softened_softmax,
    strip_softmax,
)
from kdtutor.models import (  # noqa: E402
    make_hinton_student,
    make_hinton_teacher,
    make_student,
    make_teacher,
)

__version__ = "0.1.0"

__all__ = [
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
