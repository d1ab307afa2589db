"""Telling logits from probabilities: ``ends_in_softmax``, ``strip_softmax`` and the value check.

Distillation divides *logits* by the temperature; probabilities that already went through
a softmax cannot be softened afterwards. A model shows its final softmax in its layers
(:func:`ends_in_softmax`, removed by :func:`strip_softmax`), or only in its values, when
``keras.ops.softmax`` is applied inside ``call()``: :func:`refuse_probabilities` looks at
the values. Notebook 01 checks its teacher with :func:`ends_in_softmax`; ``DistillModel``
refuses teachers and students that output probabilities, naming the fix.
"""

from __future__ import annotations

import keras
import numpy as np
from keras import ops

from kdtutor._checks import is_cloneable

__all__ = ["ends_in_softmax", "strip_softmax"]

# How far from 1 a row of outputs may sum and still count as probabilities: a float16
# softmax (mixed precision) is off by up to about 1e-3; logits essentially never land there.
PROBABILITY_TOLERANCE = 1e-2


def _applies_softmax(layer) -> bool:
    if isinstance(layer, keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    return activation is not None and getattr(activation, "__name__", "") == "softmax"


def final_activation(model) -> str:
    """The name of the activation ``model``'s last layer applies (nested models looked into)."""
    layer = model
    while getattr(layer, "layers", None):
        layer = layer.layers[-1]
    if isinstance(layer, keras.layers.Softmax):
        return "softmax"
    return getattr(getattr(layer, "activation", None), "__name__", "linear")


def _path_to_softmax(model) -> list:
    """``[model, nested model, ..., softmax layer]`` when ``model`` ends in a softmax, else [].

    Looks at ``model`` itself (a bare layer), then at its last layer, and into the last
    layer of nested models, however deep.
    """
    path, layer = [], model
    while layer is not None:
        path.append(layer)
        if _applies_softmax(layer):
            return path
        layers = getattr(layer, "layers", None)
        layer = layers[-1] if layers else None
    return []


def final_softmax_layer(model) -> keras.layers.Layer | None:
    """The layer that applies ``model``'s final softmax, or None."""
    path = _path_to_softmax(model)
    return path[-1] if path else None


def ends_in_softmax(model) -> bool:
    """Return True when ``model``'s last layer applies a softmax (so it outputs probabilities).

    Detects a ``Softmax`` layer, an ``Activation("softmax")`` layer and any
    layer built with ``activation="softmax"`` (e.g. ``Dense``), also when it is
    the last layer of a nested model or ``model`` is such a layer itself. Such a
    model cannot be distilled as it is: see :func:`strip_softmax`. A softmax
    applied with ``keras.ops`` cannot be seen here; ``DistillModel`` finds it
    from the outputs instead.
    """
    return final_softmax_layer(model) is not None


def _can_rebuild(path) -> bool:
    """Whether strip_softmax() can rebuild the models on ``path`` (see _path_to_softmax)."""
    return len(path) == 1 or all(is_cloneable(model) for model in path[:-1])


def _without_softmax(layer):
    """A new layer like ``layer`` with its softmax removed (not built, no weights)."""
    if isinstance(layer, keras.layers.Softmax | keras.layers.Activation):
        return keras.layers.Identity(name=f"{layer.name}_removed")
    config = layer.get_config()
    config["activation"] = "linear"
    return layer.__class__.from_config(config)


def strip_softmax(model):
    """Return a copy of ``model`` that outputs logits instead of softmax probabilities.

    KD divides *logits* by the temperature; probabilities cannot be softened
    afterwards without first taking their log. For a Sequential or Functional
    model (nested ones included) whose last layer is a
    ``Softmax``/``Activation("softmax")`` layer, that layer is replaced by an
    identity; if the last layer was built with ``activation="softmax"``, it is
    rebuilt with no activation. A bare layer such as ``Dense(10,
    activation="softmax")`` is rebuilt the same way. All weights are copied, so
    the copy's ``softmax(output)`` equals the original's output. A model that
    does not end in a softmax is returned unchanged.
    """
    path = _path_to_softmax(model)
    if not path:
        return model
    last = path[-1]
    if not _can_rebuild(path):
        raise ValueError(
            f"strip_softmax() needs a Sequential or Functional model; got a subclassed "
            f"{type(model).__name__}. Remove the softmax in its call() and return logits."
        )
    if last is model:
        layer = _without_softmax(model)
        if model.built:
            layer.build_from_config(model.get_build_config())
            layer.set_weights(model.get_weights())
        return layer

    def clone_layer(layer):
        if layer is last:
            return _without_softmax(layer)
        return layer.__class__.from_config(layer.get_config())

    logits_model = keras.models.clone_model(model, clone_function=clone_layer, recursive=True)
    logits_model.set_weights(model.get_weights())
    return logits_model


def how_to_output_logits(role: str, model) -> str:
    """The fix to suggest for a ``role`` ("teacher", "student") model that outputs probabilities."""
    path = _path_to_softmax(model)
    if path and _can_rebuild(path):
        return (
            f"Fix: pass `kdtutor.strip_softmax({role})` instead (same weights, no final "
            "softmax), or build the last layer with no activation."
        )
    return (
        f"Fix: make the {role} return its logits, the values before the softmax (remove "
        "`ops.softmax(...)` or `activation='softmax'` from its call() or last layer)."
    )


def looks_like_probabilities(outputs) -> bool:
    """True when every row of ``outputs`` is non-negative and sums to 1 (within tolerance)."""
    outputs = np.asarray(ops.convert_to_numpy(outputs), dtype=np.float64)
    if outputs.ndim == 0 or outputs.size == 0 or outputs.shape[-1] < 2:
        return False
    sums = outputs.sum(axis=-1)
    return bool(np.all(outputs >= 0) and np.all(np.abs(sums - 1.0) <= PROBABILITY_TOLERANCE))


def refuse_probabilities(outputs, what: str, fix: str) -> None:
    """Raise ``ValueError`` when ``outputs`` (described by ``what``) look like probabilities."""
    if looks_like_probabilities(outputs):
        raise ValueError(
            f"{what} look like probabilities (every row is non-negative and sums to 1), so they "
            f"went through a softmax, but distillation needs logits: the temperature divides "
            f"the logits before the softmax. {fix}"
        )
