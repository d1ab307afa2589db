"""Teacher and student models for the kdtutor series.

Every model here ends in a plain ``Dense`` layer with no activation: it outputs
**logits**, not probabilities. Distillation needs logits, because the
temperature divides them before the softmax (Hinton et al. 2015); a model that
already applied a softmax has thrown that information away.

- :func:`make_teacher` / :func:`make_student`: the quick-profile pair, a small
  CNN teacher and an MLP student, sized to train in seconds on a laptop CPU.
- :func:`make_hinton_teacher` / :func:`make_hinton_student`: the MNIST pair of
  Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a Neural Network",
  section 3: 784-1200-1200-10 with dropout, and 784-800-800-10. Used by the full
  profile.
"""

from __future__ import annotations

from collections.abc import Sequence

import keras

from kdtutor._checks import check_int, check_positive_ints, check_real

__all__ = ["make_teacher", "make_student", "make_hinton_teacher", "make_hinton_student"]

MNIST_SHAPE = (28, 28, 1)


def _check_rate(value, argument: str) -> float:
    return check_real(value, argument, low=0.0, high=1.0, high_open=True)


def _check_num_classes(num_classes) -> int:
    return check_int(num_classes, "num_classes", minimum=2)


def make_teacher(
    input_shape: tuple[int, ...] = MNIST_SHAPE,
    num_classes: int = 10,
    *,
    filters: Sequence[int] = (32, 64),
    dense_units: int = 128,
    dropout: float = 0.5,
    name: str = "teacher",
) -> keras.Model:
    """Build the CNN teacher: conv blocks, dropout and a dense head, ending in logits.

    Each entry of ``filters`` adds a block ``Conv2D(f, 3, relu) -> MaxPooling2D(2)``;
    then ``Flatten -> Dropout -> Dense(dense_units, relu) -> Dropout ->
    Dense(num_classes)``. Input: images of ``input_shape`` (default 28x28x1,
    floats in [0, 1]). Output: ``(batch, num_classes)`` logits. With the
    defaults it has 225,034 parameters and reaches about 97-98 % on mnist-5k
    after a few epochs. The model is not compiled.
    """
    filters = check_positive_ints(filters, "filters")
    dense_units = check_positive_ints(dense_units, "dense_units")[0]
    dropout = _check_rate(dropout, "dropout")
    num_classes = _check_num_classes(num_classes)
    layers = [keras.Input(shape=tuple(input_shape), name="images")]
    for index, count in enumerate(filters, start=1):
        layers += [
            keras.layers.Conv2D(count, 3, activation="relu", name=f"conv{index}"),
            keras.layers.MaxPooling2D(2, name=f"pool{index}"),
        ]
    layers += [
        keras.layers.Flatten(name="flatten"),
        keras.layers.Dropout(dropout, name="dropout1"),
        keras.layers.Dense(dense_units, activation="relu", name="dense"),
        keras.layers.Dropout(dropout, name="dropout2"),
        keras.layers.Dense(num_classes, name="logits"),
    ]
    return keras.Sequential(layers, name=name)


def make_student(
    input_shape: tuple[int, ...] = MNIST_SHAPE,
    num_classes: int = 10,
    *,
    hidden_units: Sequence[int] = (128,),
    dropout: float = 0.0,
    name: str = "student",
) -> keras.Model:
    """Build the MLP student: ``Flatten -> Dense(h, relu)... -> Dense(num_classes)``.

    ``hidden_units`` gives the width of each hidden layer (default one layer of
    128 units: 101,770 parameters for 28x28 inputs, about half the default
    teacher). ``dropout`` > 0 adds a ``Dropout`` after each hidden layer. It
    takes the same images as the teacher, ``input_shape`` (default 28x28x1),
    and outputs ``(batch, num_classes)`` logits. The model is not compiled.
    """
    hidden_units = check_positive_ints(hidden_units, "hidden_units")
    dropout = _check_rate(dropout, "dropout")
    num_classes = _check_num_classes(num_classes)
    layers = [keras.Input(shape=tuple(input_shape), name="images"), keras.layers.Flatten()]
    for index, units in enumerate(hidden_units, start=1):
        layers.append(keras.layers.Dense(units, activation="relu", name=f"hidden{index}"))
        if dropout:
            layers.append(keras.layers.Dropout(dropout, name=f"dropout{index}"))
    layers.append(keras.layers.Dense(num_classes, name="logits"))
    return keras.Sequential(layers, name=name)


def make_hinton_teacher(
    input_shape: tuple[int, ...] = MNIST_SHAPE,
    num_classes: int = 10,
    *,
    dropout: float = 0.5,
    input_dropout: float = 0.2,
    name: str = "hinton_teacher",
) -> keras.Model:
    """Build Hinton et al.'s (2015) MNIST teacher: 784-1200-1200-10 with dropout.

    Dropout ``input_dropout`` on the flattened pixels and ``dropout`` after each
    hidden ReLU layer (the paper regularised this net strongly with dropout;
    2,395,210 parameters for 28x28 inputs). Output: ``(batch, num_classes)``
    logits. The model is not compiled.
    """
    dropout = _check_rate(dropout, "dropout")
    input_dropout = _check_rate(input_dropout, "input_dropout")
    num_classes = _check_num_classes(num_classes)
    return keras.Sequential(
        [
            keras.Input(shape=tuple(input_shape), name="images"),
            keras.layers.Flatten(),
            keras.layers.Dropout(input_dropout, name="input_dropout"),
            keras.layers.Dense(1200, activation="relu", name="hidden1"),
            keras.layers.Dropout(dropout, name="dropout1"),
            keras.layers.Dense(1200, activation="relu", name="hidden2"),
            keras.layers.Dropout(dropout, name="dropout2"),
            keras.layers.Dense(num_classes, name="logits"),
        ],
        name=name,
    )


def make_hinton_student(
    input_shape: tuple[int, ...] = MNIST_SHAPE,
    num_classes: int = 10,
    *,
    name: str = "hinton_student",
) -> keras.Model:
    """Build Hinton et al.'s (2015) MNIST student: 784-800-800-10, no regularisation.

    Two hidden ReLU layers of 800 units (1,276,810 parameters for 28x28
    inputs); outputs ``(batch, num_classes)`` logits. Trained alone it makes
    about 146 test errors on full MNIST in the paper, distilled at T = 20 about
    74. The model is not compiled.
    """
    return make_student(input_shape, num_classes, hidden_units=(800, 800), name=name)
