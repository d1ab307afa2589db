"""The training recipes the notebooks share: the teacher, the scratch and the distilled student.

Each recipe is what a notebook teaches on its page first (01 the teacher, 03 the two
students); later notebooks call it here so that every notebook trains the same models the
same way. The scratch and distilled students of one seed start from the same weights and
differ only in their loss.
"""

from __future__ import annotations

import numbers

import keras
import numpy as np

from kdtutor._checks import check_class_ids, check_int, check_positive_ints
from kdtutor.models import make_hinton_teacher, make_student, make_teacher

__all__ = [
    "TEACHER_ARCHITECTURES",
    "compile_classifier",
    "build_teacher",
    "build_student",
    "train_teacher",
    "train_scratch_student",
    "train_distilled_student",
    "CorrectAtEpochs",
]

TEACHER_ARCHITECTURES = {"cnn": make_teacher, "hinton": make_hinton_teacher}


class CorrectAtEpochs(keras.callbacks.Callback):
    """A callback that records which of ``(x, y)`` the model gets right after some epochs.

    ``epochs`` are 1-based epoch counts, e.g. ``(10, 20, 40)``; after each of them
    ``right[epoch]`` is a boolean array of shape ``(N,)``: the model's top class equals the
    label. ``y`` holds one label per example of ``x``: class ids (N,) or (N, 1), or one-hot
    labels (N, num_classes), as Keras accepts them; when training begins they are checked
    against the model's classes, and an id outside ``[0, num_classes)`` (or fractional, or
    NaN) raises ``ValueError`` before the first step. One training run then answers "how good
    after 10, 20, 40 epochs?", which is how notebook 03 compares training lengths. For a
    :class:`kdtutor.DistillModel` the predictions are its student's.
    """

    def __init__(self, x, y, epochs):
        super().__init__()
        if isinstance(epochs, numbers.Integral):
            epochs = (epochs,)
        self.x, self.y = x, y
        self.epochs = {check_int(epoch, "epochs", minimum=1) for epoch in epochs}
        if len(y) != len(x):
            raise ValueError(
                f"`y` must hold one label per example of `x` ({len(x)}); got {len(y)} labels."
            )
        self.right: dict[int, object] = {}
        self._ids = None

    def _logits(self, x):
        # A direct call, not `predict`: `predict` in a callback of many short fits builds a new
        # graph each time, and TensorFlow then warns about retracing.
        return keras.ops.convert_to_numpy(self.model(x, training=False))

    def on_train_begin(self, logs=None):
        num_classes = self._logits(self.x[:1]).shape[-1]
        self._ids = check_class_ids(self.y, num_classes, "y")

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 in self.epochs:
            logits = [self._logits(self.x[i : i + 1024]) for i in range(0, len(self.x), 1024)]
            self.right[epoch + 1] = np.concatenate(logits).argmax(axis=1) == self._ids


def compile_classifier(model: keras.Model, *, learning_rate: float = 1e-3) -> keras.Model:
    """Compile a logits model for training on integer labels and return it.

    Adam with ``learning_rate``, sparse categorical cross-entropy computed
    ``from_logits=True`` (the model has no softmax), and accuracy.
    """
    model.compile(
        optimizer=keras.optimizers.Adam(learning_rate),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    return model


def build_teacher(architecture: str, *, num_classes: int = 10, seed: int = 0) -> keras.Model:
    """Build an untrained teacher (``"cnn"`` or ``"hinton"``) with weights drawn from ``seed``."""
    if architecture not in TEACHER_ARCHITECTURES:
        raise ValueError(
            f"Unknown teacher architecture {architecture!r}; valid: "
            f"{', '.join(TEACHER_ARCHITECTURES)}."
        )
    keras.utils.set_random_seed(seed)
    return TEACHER_ARCHITECTURES[architecture](num_classes=num_classes)


def build_student(hidden_units, *, num_classes: int = 10, seed: int = 0) -> keras.Model:
    """Build an untrained MLP student with weights drawn from ``seed``.

    The same ``seed`` always gives the same initial weights, which is how the
    notebooks start a scratch student and a distilled student from one point.
    """
    keras.utils.set_random_seed(seed)
    hidden_units = check_positive_ints(hidden_units, "hidden_units")
    return make_student(num_classes=num_classes, hidden_units=hidden_units)


def train_teacher(
    data,
    *,
    architecture: str = "cnn",
    epochs: int = 8,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int = 0,
):
    """Train a teacher on ``data.x_train``/``data.y_train``; return ``(teacher, history)``.

    The recipe of notebook 01: ``build_teacher(architecture, seed=seed)``,
    :func:`compile_classifier`, then ``fit`` for ``epochs`` with shuffling
    seeded by ``seed``. ``verbose`` is passed to ``fit`` (0 = silent, 2 = one
    line per epoch).
    """
    teacher = build_teacher(architecture, num_classes=data.num_classes, seed=seed)
    compile_classifier(teacher, learning_rate=learning_rate)
    history = teacher.fit(
        data.x_train, data.y_train, epochs=epochs, batch_size=batch_size, verbose=verbose
    )
    return teacher, history


def train_scratch_student(
    x,
    y,
    *,
    hidden_units=(128,),
    num_classes: int = 10,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int = 0,
    callbacks=None,
):
    """Train a student on the labels alone; return ``(student, history)``.

    The baseline of notebook 03: :func:`build_student` with ``seed`` (so it
    starts from the same weights as the distilled student of the same seed),
    :func:`compile_classifier`, ``fit`` on images ``x`` and labels ``y`` (class ids
    (N,) or (N, 1), or one-hot rows, which train as their class ids; ``callbacks`` passed
    to ``fit``).
    """
    y = check_class_ids(y, num_classes, "y")
    student = build_student(hidden_units, num_classes=num_classes, seed=seed)
    compile_classifier(student, learning_rate=learning_rate)
    history = student.fit(
        x, y, epochs=epochs, batch_size=batch_size, verbose=verbose, callbacks=callbacks
    )
    return student, history


def train_distilled_student(
    x,
    targets,
    teacher,
    *,
    hidden_units=(128,),
    num_classes: int = 10,
    epochs: int = 10,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    temperature: float = 8.0,
    alpha: float = 0.5,
    seed: int = 0,
    verbose: int = 0,
    validation_data=None,
    callbacks=None,
):
    """Distil ``teacher`` into a new student; return ``(distiller, history)``.

    ``targets`` is what :meth:`kdtutor.DistillModel.cache_teacher_logits`
    returns for ``x`` (teacher logits computed once), or plain labels to run
    the teacher at every step. The student starts from :func:`build_student`
    with ``seed``; ``distiller.student`` is the trained student. Optimizer,
    epochs and batch size are those of :func:`train_scratch_student`, so the
    two differ only in their loss.
    """
    from kdtutor.distill import LABELS_KEY, DistillModel

    labels = targets.get(LABELS_KEY) if isinstance(targets, dict) else targets
    if labels is not None:  # checked; one-hot rows stay rows for the loss, lists become arrays
        check_class_ids(labels, num_classes, "targets")
        if isinstance(targets, list):
            targets = np.asarray(targets)
    student = build_student(hidden_units, num_classes=num_classes, seed=seed)
    distiller = DistillModel(teacher, student, temperature=temperature, alpha=alpha)
    distiller.compile(optimizer=keras.optimizers.Adam(learning_rate), metrics=["accuracy"])
    history = distiller.fit(
        x,
        targets,
        epochs=epochs,
        batch_size=batch_size,
        verbose=verbose,
        validation_data=validation_data,
        callbacks=callbacks,
    )
    return distiller, history
