"""Training recipes shared by the notebooks, and the teacher's artifact cache.

Notebook 01 trains the teacher and saves it; every later notebook calls
:func:`load_or_train_teacher`, which loads that file when it exists and
otherwise trains the same teacher with the same recipe, so each notebook also
runs on its own. A cached teacher is keyed by everything that determines it:
dataset, architecture, epochs, batch size, learning rate and seed.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import time
from pathlib import Path

import keras

from kdtutor.models import make_hinton_teacher, make_student, make_teacher

__all__ = [
    "TEACHER_ARCHITECTURES",
    "compile_classifier",
    "build_teacher",
    "build_student",
    "train_teacher",
    "teacher_cache_path",
    "save_teacher",
    "load_or_train_teacher",
    "student_cache_path",
    "train_scratch_student",
    "train_distilled_student",
    "EpochTimes",
]

TEACHER_ARCHITECTURES = {"cnn": make_teacher, "hinton": make_hinton_teacher}


class EpochTimes(keras.callbacks.Callback):
    """A callback that records the wall time of every epoch, in seconds, in ``.seconds``.

    The first epoch includes tracing the training graph; compare later epochs
    (``seconds[1:]``) to see the steady cost of a training method.
    """

    def __init__(self):
        super().__init__()
        self.seconds: list[float] = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


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
    return make_student(num_classes=num_classes, hidden_units=tuple(hidden_units))


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


def teacher_cache_path(
    cache_dir,
    *,
    dataset: str,
    architecture: str,
    epochs: int,
    batch_size: int,
    learning_rate: float,
    seed: int,
) -> Path:
    """The ``.keras`` path under ``cache_dir`` for a teacher trained with these settings."""
    name = f"teacher_{dataset}_{architecture}_e{epochs}_b{batch_size}_lr{learning_rate:g}_s{seed}"
    return Path(cache_dir) / f"{name}.keras"


STUDENT_RECIPE_KEYS = (
    "dataset",
    "teacher",
    "teacher_epochs",
    "student_hidden",
    "student_epochs",
    "batch_size",
    "learning_rate",
)


def student_cache_path(cache_dir, kind: str, settings: dict, *, seed: int = 0) -> Path:
    """The ``.keras`` path under ``cache_dir`` of a ``"scratch"`` or ``"kd"`` student.

    The name carries the dataset, the hidden sizes and the epochs, plus a short
    hash of every setting that determines the student (``settings`` as
    returned by :func:`kdtutor.profiles.resolve`; for ``"kd"`` also the
    temperature and alpha), so a changed recipe never reuses a stale file.
    """
    if kind not in ("scratch", "kd"):
        raise ValueError(f"kind must be 'scratch' or 'kd'; got {kind!r}.")
    keys = STUDENT_RECIPE_KEYS + (("temperature", "alpha") if kind == "kd" else ())
    recipe = json.dumps({key: settings[key] for key in keys} | {"seed": seed}, sort_keys=True)
    digest = hashlib.sha256(recipe.encode()).hexdigest()[:8]
    hidden = "x".join(str(units) for units in settings["student_hidden"])
    name = f"student_{kind}_{settings['dataset']}_{hidden}_e{settings['student_epochs']}_{digest}"
    return Path(cache_dir) / f"{name}.keras"


def save_teacher(teacher: keras.Model, path, metadata: dict | None = None) -> Path:
    """Save ``teacher`` to ``path`` (``.keras``), with ``metadata`` in a ``.json`` beside it.

    Written to a temporary file first and then renamed, so a run that is
    interrupted half-way never leaves a truncated model in the cache.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".keras")
    os.close(handle)
    teacher.save(temporary)
    os.replace(temporary, path)
    path.with_suffix(".json").write_text(json.dumps(metadata or {}, indent=2) + "\n")
    return path


def load_or_train_teacher(
    data,
    *,
    cache_dir,
    architecture: str = "cnn",
    epochs: int = 8,
    batch_size: int = 64,
    learning_rate: float = 1e-3,
    seed: int = 0,
    verbose: int = 0,
):
    """Return ``(teacher, info)``: the cached teacher for these settings, or a newly trained one.

    ``info`` says where it came from: ``{"source": "cache" | "trained", "path":
    ..., "seconds": ...}``. A teacher that is trained here is saved into
    ``cache_dir`` for the next notebook. A cache file that cannot be loaded
    (e.g. left by another Keras version) is reported in ``info["note"]`` and
    replaced by a freshly trained teacher.
    """
    path = teacher_cache_path(
        cache_dir,
        dataset=data.name,
        architecture=architecture,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
    )
    info = {"path": str(path)}
    start = time.perf_counter()
    if path.exists():
        try:
            teacher = keras.models.load_model(path)
        except Exception as error:  # any unreadable file is retrained, and said so
            info["note"] = f"could not load {path} ({type(error).__name__}: {error}); retrained"
        else:
            info.update(source="cache", seconds=time.perf_counter() - start)
            return teacher, info
    teacher, _ = train_teacher(
        data,
        architecture=architecture,
        epochs=epochs,
        batch_size=batch_size,
        learning_rate=learning_rate,
        seed=seed,
        verbose=verbose,
    )
    seconds = time.perf_counter() - start
    save_teacher(
        teacher,
        path,
        {
            "dataset": data.name,
            "architecture": architecture,
            "epochs": epochs,
            "seed": seed,
            "seconds": seconds,
        },
    )
    info.update(source="trained", seconds=seconds)
    return teacher, info


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
):
    """Train a student on the labels alone; return ``(student, history)``.

    The baseline of notebook 03: :func:`build_student` with ``seed`` (so it
    starts from the same weights as the distilled student of the same seed),
    :func:`compile_classifier`, ``fit`` on images ``x`` and integer labels ``y``.
    """
    student = build_student(hidden_units, num_classes=num_classes, seed=seed)
    compile_classifier(student, learning_rate=learning_rate)
    history = student.fit(x, y, epochs=epochs, batch_size=batch_size, verbose=verbose)
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
    temperature: float = 4.0,
    alpha: float = 0.1,
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
    from kdtutor.distill import DistillModel

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
