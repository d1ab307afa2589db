"""The cache of trained models that the notebooks and ``kdtutor run`` share (``artifacts/``).

Notebook 01 trains the teacher and saves it; every later notebook calls
:func:`load_or_train_teacher`, which loads that file when it exists and otherwise trains
the same teacher with the same recipe (:func:`kdtutor.training.train_teacher`), so each
notebook also runs on its own. A cached model is keyed by everything that determines it:
dataset, architecture, epochs, batch size, learning rate and seed.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import time
from pathlib import Path

import keras

from kdtutor.series.files import replaced_atomically
from kdtutor.training import train_teacher

__all__ = [
    "teacher_cache_path",
    "save_teacher",
    "load_or_train_teacher",
    "student_cache_path",
]


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
    "student_images",
    "student_epochs",
    "batch_size",
    "learning_rate",
)


def student_cache_path(cache_dir, kind: str, settings: dict, *, seed: int = 0) -> Path:
    """The ``.keras`` path under ``cache_dir`` of a ``"scratch"`` or ``"kd"`` student.

    The name carries the dataset, the hidden sizes and the epochs, plus a short
    hash of every setting that determines the student (``settings`` as
    returned by :func:`kdtutor.series.profiles.resolve`; for ``"kd"`` also the
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
    interrupted half-way never leaves a truncated model in the cache, and a save that fails
    leaves no temporary file behind (:func:`kdtutor.series.files.replaced_atomically`).
    """
    path = Path(path)
    with replaced_atomically(path) as temporary:
        teacher.save(str(temporary))
    path.with_suffix(".json").write_text(json.dumps(metadata or {}, indent=2) + "\n")
    return path


def _teacher_recipe(given: dict) -> dict:
    """The recipe of :func:`kdtutor.training.train_teacher`: ``given``, plus its own defaults."""
    parameters = inspect.signature(train_teacher).parameters
    names = [
        name
        for name, parameter in parameters.items()
        if parameter.kind is parameter.KEYWORD_ONLY and name != "verbose"
    ]
    unknown = sorted(set(given) - set(names))
    if unknown:
        raise TypeError(
            f"load_or_train_teacher() got unknown setting(s) {', '.join(unknown)}; the teacher's "
            f"recipe is {', '.join(names)} (the arguments of kdtutor.training.train_teacher)."
        )
    return {name: given.get(name, parameters[name].default) for name in names}


def load_or_train_teacher(data, *, cache_dir, verbose: int = 0, **recipe):
    """Return ``(teacher, info)``: the cached teacher for these settings, or a newly trained one.

    ``recipe`` takes the keyword arguments of :func:`kdtutor.training.train_teacher`
    (``architecture``, ``epochs``, ``batch_size``, ``learning_rate``, ``seed``); one left
    out takes ``train_teacher``'s own default, so the two never disagree. ``info`` says where
    the teacher came from: ``{"source": "cache" | "trained", "path": ..., "seconds": ...}``.
    A teacher that is trained here is saved into ``cache_dir`` for the next notebook. A cache
    file that cannot be loaded (e.g. left by another Keras version) is reported in
    ``info["note"]`` and replaced by a freshly trained teacher.
    """
    recipe = _teacher_recipe(recipe)
    path = teacher_cache_path(cache_dir, dataset=data.name, **recipe)
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
    teacher, _ = train_teacher(data, verbose=verbose, **recipe)
    seconds = time.perf_counter() - start
    save_teacher(teacher, path, {"dataset": data.name, **recipe, "seconds": seconds})
    info.update(source="trained", seconds=seconds)
    return teacher, info
