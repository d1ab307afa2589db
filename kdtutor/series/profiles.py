"""Run profiles: the settings every notebook takes unless a parameter overrides them.

- ``quick``: mnist-5k (embedded, offline), the small CNN teacher and a
  128-unit MLP student, a few epochs: each notebook runs in about two minutes
  on a 2-core laptop CPU and still shows every effect. CI and the committed
  notebook outputs use it.
- ``full``: full Fashion-MNIST (offline with the ``dataset-fashion-mnist``
  package; pass ``DATASET="mnist"`` for MNIST where Keras can download it), the
  same CNN teacher and MLP student as ``quick``, trained on 15 times the data:
  the teacher is the strongest model of the run and the student has less than
  half its parameters. The whole series runs in under an hour on 2 cores.

In a notebook's ``parameters`` cell every knob defaults to ``None``, meaning
"the profile's value"; a value given there (or injected by papermill) wins.
"""

from __future__ import annotations

import dataclasses
import math

from kdtutor._checks import check_int, check_positive_ints, check_real
from kdtutor.compare import MIN_SEEDS

__all__ = [
    "PROFILES",
    "RUN_PARAMETERS",
    "RULES",
    "MAX_TEMPERATURE",
    "MIN_TEMPERATURE",
    "resolve",
    "check_value",
    "describe",
]

#: The run's own parameters, which every notebook may declare and ``setup.start`` reads by
#: name, never as profile overrides; each maps to the ``kdtutor run`` option that sets it, or
#: to ``None`` where ``-p`` does (``-p SEED=1``). ``DATASET`` replaces the profile's dataset.
RUN_PARAMETERS: dict[str, str | None] = {
    "PROFILE": "--profile",
    "DATASET": "--dataset",
    "RESULTS_DIR": "--out",
    "ARTIFACTS_DIR": "--artifacts",
    "ARTIFACTS_READ_ONLY": None,
    "SEED": None,
}

PROFILES: dict[str, dict] = {
    "quick": {
        "dataset": "mnist-5k",
        "teacher": "cnn",  # kdtutor.make_teacher
        "teacher_epochs": 15,
        "student_hidden": (128,),  # kdtutor.make_student(hidden_units=...)
        # The students train on a quarter of the teacher's images (notebook 03): with all 4,000
        # the gain was smaller, just past the rule's line on 1,000 test images (README).
        "student_images": 1000,
        "student_epochs": 80,
        "batch_size": 64,
        "learning_rate": 1e-3,
        "seeds": 5,
        # T, alpha and student_epochs were chosen on a validation split held out of the train
        # split (teacher trained without it, 8 seeds): `python benchmarks/choose_recipe.py`,
        # output in docs/results/choose_recipe_quick.txt. The gain grows with training length
        # up to 80 epochs; T = 8 gave the largest gains, alpha 0.1 and 0.5 the same within
        # their noise (+2.81 and +2.64 ± 0.7 points): 0.5 weighs labels and teacher equally.
        "temperature": 8.0,
        "alpha": 0.5,
        "validation_size": 800,  # held out of the train split to choose the recipe
        "sweep_teacher_epochs": 8,  # the sweep's own teacher, trained without the validation part
        "sweep_temperatures": (2.0, 8.0),
        "sweep_alphas": (0.1, 0.5),
        "sweep_epochs": (20, 40, 80),  # training lengths compared in one run each
        "sweep_seeds": 2,
        "compare_epochs": 10,  # the Distiller pitfall's two students
        # notebook 04: compression
        "prune_sparsity": 0.8,  # fraction of every Dense/Conv2D kernel set to zero
        "prune_epochs": 3,  # fine-tuning while pruning: the sparsity ramps up, then one epoch at it
        "calibration_samples": 200,  # train images that calibrate full-integer (int8) ranges
        "latency_warmup": 20,  # untimed batch-1 runs before the timed ones
        "latency_runs": 300,  # timed batch-1 runs per round; their median is the round result
        "latency_rounds": 7,  # interleaved rounds over all models; the fastest round is reported
        "latency_threads": 1,  # LiteRT interpreter threads, the same for every model
        # notebook 05: when distillation helps
        "label_fractions": (0.01, 0.05, 0.1, 0.25, 1.0),  # fractions of the images with labels
        "label_fraction_batch_size": 32,  # every student of 05, whatever its data's size
        "label_fraction_seeds": 3,  # 05 trains ~20 models a seed; its gains are points, not tenths
        # Every student of 05 trains until its accuracy on a validation part (held out of the
        # train split) stops improving: one criterion for 40 images and for 3,600.
        "early_stopping_validation_size": 400,
        "early_stopping_eval_steps": 50,  # steps between two validation checks
        "early_stopping_patience": 5,  # checks without improvement before stopping
        "early_stopping_max_steps": 4000,
        "baseline_fraction": 0.1,  # the labelled fraction of the strong baselines and 4.
        "augment_shift": 0.08,  # RandomTranslation factor: up to 8 % of the width (about 2 px)
        "augment_rotation": 0.03,  # RandomRotation factor: up to 3 % of a full turn
        "label_smoothing": 0.1,
        "omitted_digit": 3,
        "feature_weight": 0.1,  # weight of FeatureDistillation's MSE next to the logits' KD term
        "tree_max_depth": 10,  # the scikit-learn students
    },
    "full": {
        "dataset": "fashion_mnist",
        # The quick profile's pair. Hinton et al.'s (2015) MLP pair (``"hinton"``) is no
        # teacher on Fashion-MNIST: there it reached 87.4 % and its distilled student 89.0 %.
        "teacher": "cnn",
        "teacher_epochs": 20,  # its training accuracy has levelled off by then
        "student_hidden": (128,),
        "student_images": None,  # all of the train split
        # Chosen on the validation split (teacher trained without it, 2 seeds), never on
        # test: after 20 epochs no (T, alpha) pair beat the scratch student by more than its
        # noise; after 40 the scratch student overfits (its validation accuracy drops) and
        # T = 8, alpha = 0.5 kept the distilled one ahead. Distillation regularises.
        "student_epochs": 40,
        "batch_size": 128,
        "learning_rate": 1e-3,
        "seeds": 5,  # the gain is a few tenths of a point: 5 x 10,000 test images to see it
        "temperature": 8.0,
        "alpha": 0.5,
        "validation_size": 5000,
        "sweep_teacher_epochs": 12,
        "sweep_temperatures": (2.0, 8.0),
        "sweep_alphas": (0.5,),
        "sweep_epochs": (10, 20, 40),
        "sweep_seeds": 2,
        "compare_epochs": 3,
        "prune_sparsity": 0.8,
        "prune_epochs": 3,
        "calibration_samples": 500,
        "latency_warmup": 50,
        "latency_runs": 1000,
        "latency_rounds": 5,
        "latency_threads": 1,
        "label_fractions": (0.01, 0.05, 0.1, 0.25, 1.0),
        "label_fraction_batch_size": 128,
        "label_fraction_seeds": 3,
        "early_stopping_validation_size": 5000,
        "early_stopping_eval_steps": 200,
        "early_stopping_patience": 5,
        "early_stopping_max_steps": 10000,
        "baseline_fraction": 0.01,  # 550 images, near quick's 360; the teacher runs every step
        "augment_shift": 0.08,
        "augment_rotation": 0.03,
        "label_smoothing": 0.1,
        "omitted_digit": 3,
        "feature_weight": 0.1,
        "tree_max_depth": 14,
    },
}


# --- the valid values of each setting ---------------------------------------------------------
# One table, read by `kdtutor run` (runner.plan_run, before any kernel starts) and by the
# notebooks' Setup cell (setup.start), so a value a notebook cannot use is refused at once with
# the same message either way, not minutes later in the cell that uses it.

#: kdtutor.distill.MAX_TEMPERATURE, repeated here because importing kdtutor.distill imports
#: TensorFlow, which the command line must not (a test checks that the two agree).
MAX_TEMPERATURE = 100.0
MIN_TEMPERATURE = 0.01  # kdtutor.distill.MIN_TEMPERATURE, likewise

#: kdtutor.training.TEACHER_ARCHITECTURES' names, repeated for the same reason.
TEACHERS = ("cnn", "hinton")

#: Classes of every dataset of the series (kdtutor.data.DATASET_NAMES).
NUM_CLASSES = 10


@dataclasses.dataclass(frozen=True)
class Rule:
    """The valid values of one setting, by ``kind``.

    "choice" (one of TEACHERS), "int" (an integer in [low, high]), "number" (a real in the
    interval, open where ``*_open``), "ints" (a non-empty list of positive ints), "numbers"
    (a non-empty list of reals in the interval), "images" (a count of train images, ``low``
    to the dataset's train split; None = all) or "size" (a count of images in [classes,
    train - classes] or a fraction in (0, 1)); ``why`` is said when refused.
    """

    kind: str
    low: float = 0
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    why: str = ""


_EPOCHS = Rule("int", 1, why="Train for at least one epoch.")
_TEMPERATURE = Rule(
    "number", MIN_TEMPERATURE, MAX_TEMPERATURE,
    why=f"T divides the logits (1 = the plain softmax; kdtutor.distill allows "
    f"{MIN_TEMPERATURE:g} to {MAX_TEMPERATURE:g}).",
)  # fmt: skip
_ALPHA = Rule("number", 0.0, 1.0, why="It is the weight of the hard-label loss.")
_FRACTION = Rule("number", 0.0, 1.0, low_open=True, why="It is a fraction of the images.")
_SEEDS = Rule(
    "int", MIN_SEEDS,
    why=f"The paired comparison (kdtutor.compare) needs at least {MIN_SEEDS} seeds to measure "
    "the seed-to-seed noise.",
)  # fmt: skip
_POSITIVE = Rule("int", 1)

#: The valid values of every numeric setting (lower-case names, as in PROFILES) and of the
#: notebooks' own numeric parameters that `kdtutor run -p` can set.
RULES: dict[str, Rule] = {
    "teacher": Rule("choice", why="It names a teacher architecture."),
    "teacher_epochs": _EPOCHS,
    "student_hidden": Rule("ints", why="They are the widths of the hidden layers, e.g. [128]."),
    "student_images": Rule(
        "images", NUM_CLASSES, why="It counts train images, at least one per class"
    ),
    "student_epochs": _EPOCHS,
    "batch_size": Rule("int", 1, why="Keras would read 0 as its default, 32."),
    "learning_rate": Rule("number", 0.0, math.inf, low_open=True, high_open=True),
    "seeds": _SEEDS,
    "temperature": _TEMPERATURE,
    "alpha": _ALPHA,
    "validation_size": Rule("size"),
    "sweep_teacher_epochs": _EPOCHS,
    "sweep_temperatures": dataclasses.replace(_TEMPERATURE, kind="numbers"),
    "sweep_alphas": dataclasses.replace(_ALPHA, kind="numbers"),
    "sweep_epochs": Rule("ints", why="They are training lengths in epochs, e.g. [20, 40]."),
    "sweep_seeds": _SEEDS,
    "compare_epochs": _EPOCHS,
    "prune_sparsity": Rule("number", 0.0, 1.0, high_open=True, why="1 would remove every weight."),
    "prune_epochs": _EPOCHS,
    "calibration_samples": _POSITIVE,
    "latency_warmup": Rule("int", 0),
    "latency_runs": _POSITIVE,
    "latency_rounds": _POSITIVE,
    "latency_threads": _POSITIVE,
    "label_fractions": dataclasses.replace(_FRACTION, kind="numbers"),
    "label_fraction_batch_size": _POSITIVE,
    "label_fraction_seeds": _SEEDS,
    "early_stopping_validation_size": Rule("size"),
    "early_stopping_eval_steps": _POSITIVE,
    "early_stopping_patience": _POSITIVE,
    "early_stopping_max_steps": _POSITIVE,
    "baseline_fraction": _FRACTION,
    "augment_shift": Rule("number", 0.0, 1.0, why="It is a fraction of the image's size."),
    "augment_rotation": Rule("number", 0.0, 1.0, why="It is a fraction of a full turn."),
    "label_smoothing": Rule("number", 0.0, 1.0),
    "omitted_digit": Rule("int", 0, NUM_CLASSES - 1, why="It is a class id."),
    "feature_weight": Rule("number", 0.0, math.inf, high_open=True),
    "tree_max_depth": _POSITIVE,
    # the notebooks' own parameters (not profile settings)
    "seed": Rule("int", 0, 2**32 - 1, why="Seeds are in [0, 2**32)."),
    "tiny_epochs": _EPOCHS,
    "prune_min_share": Rule("number", 0.0, 1.0, high_open=True),
    "temperatures": dataclasses.replace(_TEMPERATURE, kind="numbers"),
}


def check_value(name: str, value, *, dataset: str | None = None):
    """Return ``value`` if it is valid for setting ``name``, else raise ``ValueError``.

    ``name`` is the parameter's name as the user wrote it (``SEEDS`` or ``seeds``); the rule
    is ``RULES[name.lower()]`` (a name without one, a text setting, passes). ``None`` passes
    too: it means "the profile's value". ``dataset`` (default mnist-5k's sizes) bounds the
    settings that count train images. The message names the parameter, the value given and
    the valid range, e.g. "`SEEDS` must be an integer >= 2; got 1. The paired comparison ...".
    """
    rule = RULES.get(name.lower())
    if rule is None or value is None:
        return value
    if rule.kind == "choice":
        if value not in TEACHERS:
            valid = ", ".join(repr(name) for name in TEACHERS)
            raise ValueError(f"`{name}` must be one of {valid}; got {value!r}. {rule.why}")
    elif rule.kind == "int":
        high = None if rule.high is None else int(rule.high)
        check_int(value, name, minimum=int(rule.low), maximum=high, hint=rule.why)
    elif rule.kind == "number":
        _check_number(value, name, rule)
    elif rule.kind == "ints":
        try:
            check_positive_ints(value, name)
        except ValueError as error:
            raise ValueError(f"{error} {rule.why}".strip()) from None
    elif rule.kind == "numbers":
        if isinstance(value, str) or not isinstance(value, list | tuple) or not value:
            raise ValueError(f"`{name}` must be a non-empty list of numbers; got {value!r}.")
        for index, item in enumerate(value):
            _check_number(item, f"{name}[{index}]", rule)
    else:  # "images" or "size": counts of the dataset's train images
        from kdtutor.data import TRAIN_IMAGES

        train = TRAIN_IMAGES.get(dataset or "mnist-5k", TRAIN_IMAGES["mnist-5k"])
        which = f"the {dataset or 'mnist-5k'} train split has {train:,} images"
        if rule.kind == "images":
            hint = f"{rule.why}; {which}."
            check_int(value, name, minimum=int(rule.low), maximum=train, hint=hint)
        elif isinstance(value, float):
            check_real(
                value, name, low=0.0, high=1.0, low_open=True, high_open=True,
                hint="A float is the fraction of the train split held out; an int, a count.",
            )  # fmt: skip
        else:
            check_int(
                value, name, minimum=NUM_CLASSES, maximum=train - NUM_CLASSES,
                hint=f"Both parts need every class ({which}).",
            )  # fmt: skip
    return value


def check_together(settings: dict, *, dataset: str | None = None) -> None:
    """Refuse settings that pass their own rules but not together (``settings``: resolved).

    Notebook 03 compares recipes on the train split less the validation part, with the same
    share of images as its students see: ``student_images / train * (train - validation)``
    images, which must hold one per class.
    """
    from kdtutor.data import TRAIN_IMAGES

    train = TRAIN_IMAGES.get(dataset or settings.get("dataset"), TRAIN_IMAGES["mnist-5k"])
    images, validation = settings.get("student_images") or train, settings.get("validation_size")
    if isinstance(validation, int) and round(images / train * (train - validation)) < NUM_CLASSES:
        raise ValueError(
            f"STUDENT_IMAGES={images} with VALIDATION_SIZE={validation} leaves notebook 03's "
            f"recipe comparison {round(images / train * (train - validation))} images (the "
            f"same share of the {train - validation:,} images left after validation); it needs "
            f"at least {NUM_CLASSES}, one per class. Raise STUDENT_IMAGES or lower VALIDATION_SIZE."
        )


def _check_number(value, name: str, rule: Rule) -> None:
    check_real(
        value, name, low=rule.low, high=rule.high, low_open=rule.low_open,
        high_open=rule.high_open, hint=rule.why,
    )  # fmt: skip


def resolve(profile: str, **overrides) -> dict:
    """Return the settings of ``profile`` with every non-``None`` override applied.

    ``profile`` is ``"quick"`` or ``"full"``; override names are the profile's
    keys in lower case (``dataset=``, ``teacher_epochs=``, ...). Unknown
    profiles or keys raise ``ValueError`` listing the valid ones, so a typo in
    a papermill parameter fails at once instead of being ignored.
    """
    if profile not in PROFILES:
        raise ValueError(f"Unknown PROFILE {profile!r}; valid profiles: {', '.join(PROFILES)}.")
    settings = dict(PROFILES[profile])
    unknown = sorted(set(overrides) - set(settings))
    if unknown:
        raise ValueError(
            f"Unknown setting(s) {unknown}; valid settings: {', '.join(sorted(settings))}."
        )
    settings.update({key: value for key, value in overrides.items() if value is not None})
    settings["profile"] = profile
    return settings


def describe(settings: dict, keys=None) -> str:
    """Format ``settings`` (or just ``keys`` of it) as aligned ``name = value`` lines."""
    keys = list(keys) if keys is not None else list(settings)
    width = max(len(key) for key in keys)
    return "\n".join(f"{key:<{width}} = {settings[key]!r}" for key in keys)
