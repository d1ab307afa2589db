"""The checks of notebook 01's exercises."""

from __future__ import annotations

import numbers

from kdtutor.exercises._common import close, is_number, is_plain, unanswered, verdict

__all__ = ["check_dense_parameters", "check_most_missed_class", "check_one_epoch_accuracy"]


def check_dense_parameters(answer, conv2_filters: int = 128) -> bool:
    """Exercise 1 of notebook 01: the parameters of the CNN teacher's ``dense`` layer, changed.

    The quick profile's teacher (:func:`kdtutor.make_teacher`) is rebuilt with
    ``conv2_filters`` filters in its second convolution instead of 64; ``answer`` is the number
    of parameters (weights and biases) of its ``dense`` layer then. The check builds that
    model, counts them and prints the verdict with a hint that names the usual slip.
    """
    if unanswered(answer, "answer_1"):
        return False
    if not is_number(answer) or float(answer) != int(answer):
        return verdict(False, "Answer with one whole number of parameters.")
    from kdtutor.models import make_teacher

    def dense(filters):
        return make_teacher(filters=(32, filters)).get_layer("dense")

    changed, today = dense(conv2_filters), dense(64)
    expected = changed.count_params()
    slips = [
        (
            today.count_params(),
            "That is the layer as it is today: a wider conv2 changes what `flatten` passes on.",
        ),
        (expected - changed.units, "Almost: every unit of `dense` also has a bias."),
        (
            today.count_params() * conv2_filters // 64,
            "Scaling today's count scales the biases too, but `dense` keeps its units.",
        ),
    ]
    hint = next(
        (message for value, message in slips if int(answer) == value),
        "Work out the shape `flatten` outputs with the wider conv2 (the convolutions and "
        "poolings keep the image sizes of the summary, only the channels change), then count "
        "one weight per input and unit, plus one bias per unit.",
    )
    return verdict(int(answer) == expected, hint)


def check_most_missed_class(answer, y_true, y_pred, class_names) -> bool:
    """Exercise 2 of notebook 01: the true class the teacher gets wrong most often.

    ``y_true`` (the test labels) and ``y_pred`` (the teacher's predicted classes) are ``(N,)``
    integer class ids indexing ``class_names``. ``answer`` is a class name from
    ``class_names`` (or its index); any class tied for the most errors is right. The hint
    tells a row (true class) from a column (the teacher's answer) of the confusion matrix.
    """
    import numpy as np

    if unanswered(answer, "answer_2"):
        return False
    names = [str(name) for name in class_names]
    if is_plain(answer, str) and answer in names:
        index = names.index(answer)
    elif is_number(answer) and isinstance(answer, numbers.Integral):
        index = int(answer) if 0 <= int(answer) < len(names) else None
    else:
        index = None
    if index is None:
        return verdict(False, "Answer with one of the names in `data.class_names`.")
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    wrong = y_true != y_pred
    missed = np.bincount(y_true[wrong], minlength=len(names))
    given = np.bincount(y_pred[wrong], minlength=len(names))
    if missed[index] == missed.max():
        return verdict(True, "")
    if given[index] == given.max():
        return verdict(
            False,
            "That class is the teacher's most frequent wrong *answer* (a column); the "
            "question is about the true class (a row).",
        )
    return verdict(
        False, "Add up the off-diagonal cells of each row (row = true class) and compare."
    )


def check_one_epoch_accuracy(answer, data, settings, *, seed: int = 0) -> bool:
    """Exercise 3 of notebook 01: the test accuracy of the teacher after a single epoch.

    ``data`` is a :class:`kdtutor.Dataset`; ``settings`` the notebook's resolved profile
    (``teacher``, ``batch_size``, ``learning_rate`` are used). The check trains that teacher
    for one epoch with ``seed``, the recipe of :func:`kdtutor.training.train_teacher` (a few
    seconds on mnist-5k), and accepts an ``answer`` (a fraction in [0, 1]) within one point
    of its test accuracy: floating-point sums may differ a little from run to run.
    """
    if unanswered(answer, "answer_3"):
        return False
    if not is_number(answer) or not 0 <= answer <= 100:
        return verdict(False, "Answer with the test accuracy as a fraction in [0, 1].")
    if answer > 1:
        return verdict(False, "Give the accuracy as a fraction in [0, 1], not in percent.")
    from kdtutor.training import train_teacher

    teacher, _ = train_teacher(
        data,
        architecture=settings["teacher"],
        epochs=1,
        batch_size=settings["batch_size"],
        learning_rate=settings["learning_rate"],
        seed=seed,
    )
    _, expected = teacher.evaluate(data.x_test, data.y_test, verbose=0)
    return verdict(
        close(answer, expected, rel=0.0, abs_=0.01),
        "Set TEACHER_EPOCHS = 1 in the parameters cell, run the notebook again and read the "
        "printed test accuracy (`evaluate` gives it as a fraction).",
    )
