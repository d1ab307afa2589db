"""Checks and small helpers shared by the modules of kdtutor (private).

One place for each rule a user's input must follow, so every function that takes, say,
labels accepts the same shapes and refuses the same mistakes with the same message.
"""

from __future__ import annotations

import math
import numbers

import keras
from keras import ops


def check_int(value, argument: str, *, minimum: int) -> int:
    """Return ``value`` as an int, or raise ``ValueError`` if it is not an integer >= minimum."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{argument}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def check_real(
    value,
    argument: str,
    *,
    low: float,
    high: float,
    low_open: bool = False,
    high_open: bool = False,
    hint: str = "",
) -> float:
    """Return ``value`` as a float, or raise ``ValueError`` unless it is a real in the interval.

    ``low``/``high`` bound the interval, open at an end whose ``*_open`` is True. NumPy
    scalars and 0-d arrays or tensors count as numbers; bools, strings and NaN do not.
    ``hint`` is added to the message (e.g. what the usual values are).
    """
    number = value
    if not isinstance(number, numbers.Real) and getattr(number, "shape", None) == ():
        number = ops.convert_to_numpy(number).item()  # a 0-d array, tensor or variable
    interval = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
    if isinstance(number, bool) or not isinstance(number, numbers.Real) or math.isnan(number):
        inside = False
    else:
        inside = (low < number if low_open else low <= number) and (
            number < high if high_open else number <= high
        )
    if not inside:
        raise ValueError(
            f"`{argument}` must be a number in {interval}; got {value!r} of type "
            f"{type(value).__name__}.{' ' + hint if hint else ''}"
        )
    return float(number)


def check_built_model(model, function: str) -> None:
    """Raise unless ``model`` is a built Keras 3 model (``function`` names the caller)."""
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"{function}() needs a Keras 3 model (keras.Model); got {type(model).__name__}. "
            "tf_keras (Keras 2) models are not supported."
        )
    if not model.built:
        raise ValueError(
            f"{function}() needs a built model, but {model.name!r} has no weights yet. Give it "
            "a keras.Input(...) layer, or call it once on a batch, before this call."
        )


def is_cloneable(model) -> bool:
    """True for Sequential and Functional models (rebuilt from their config), not subclasses."""
    if isinstance(model, keras.Sequential):
        return True
    # keras.Model(inputs, outputs) returns an instance of Keras' own Functional class, which
    # keras does not export (Keras 2's `_is_graph_network` flag is gone in Keras 3). A
    # subclass of it may have a constructor of its own, so only the class itself counts.
    cls = type(model)
    return cls.__name__ == "Functional" and cls.__module__.startswith("keras.")


def uncompiled_copy(model: keras.Model) -> keras.Model:
    """A Sequential/Functional copy of ``model`` with the same weights and no compile state."""
    # Not keras.models.clone_model(): it compiles the clone like the original, and a
    # compiled model is saved with its optimizer state.
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


# --- labels --------------------------------------------------------------------------------
# Keras accepts class ids shaped (N,) or (N, 1) and one-hot labels (N, num_classes); a pandas
# Series becomes (N, 1) on its way through Keras' data adapters. Every function of kdtutor
# that takes labels decides between them here, by shape alone, so that (N, 1) is never read
# as one-hot labels of one class (that made accuracies silently wrong).


def label_kind(shape, num_classes: int, argument: str = "y") -> str:
    """Return ``"sparse"`` for class ids (N,) or (N, 1), ``"one_hot"`` for (N, num_classes).

    ``shape`` is the labels' shape (its first axis is the batch, possibly ``None``). A last
    axis of size ``num_classes`` means one-hot (or soft) labels; any other shape raises
    ``ValueError`` naming the shapes that are accepted.
    """
    shape = tuple(shape)
    if len(shape) == 1:
        return "sparse"
    if len(shape) == 2 and shape[1] == num_classes and num_classes != 1:
        return "one_hot"
    if len(shape) == 2 and shape[1] == 1:
        return "sparse"
    raise ValueError(
        f"`{argument}` must hold labels as class ids of shape (N,) or (N, 1), or one-hot "
        f"labels of shape (N, {num_classes}); got shape {shape}."
    )


def sparse_labels(labels, num_classes: int, argument: str = "y"):
    """Return ``labels`` as int32 class ids of shape (N,): a tensor, or NumPy for NumPy input.

    Accepts what :func:`label_kind` accepts; one-hot rows give their argmax. Works inside a
    traced ``train_step`` (keras.ops only) and on NumPy arrays or pandas Series.
    """
    is_numpy = not ops.is_tensor(labels)
    labels = ops.convert_to_tensor(_as_array(labels)) if is_numpy else labels
    kind = label_kind(labels.shape, num_classes, argument)
    if kind == "one_hot":
        ids = ops.argmax(labels, axis=-1)
    else:
        ids = ops.reshape(labels, (-1,))
    ids = ops.cast(ids, "int32")
    return ops.convert_to_numpy(ids) if is_numpy else ids


def _as_array(labels):
    import numpy as np

    return np.asarray(getattr(labels, "values", labels))
