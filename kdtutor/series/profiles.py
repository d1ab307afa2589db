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

__all__ = ["PROFILES", "resolve", "describe"]

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
