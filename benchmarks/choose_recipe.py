"""Choose a profile's distillation recipe (T, alpha, training length) on the validation split.

How the quick profile's ``temperature``, ``alpha`` and ``student_epochs`` were chosen: a
validation part is held out of the train split, a teacher is trained on the rest (it never
sees the validation images), and for every (T, alpha) pair a distilled student and a scratch
student are trained from the same seed's weights for ``max(--epochs)`` epochs, with their
validation accuracy recorded after each of ``--epochs``. Every gain is judged with the
series' rule (:func:`kdtutor.compare.compare_paired`) over ``--seeds`` seeds. The test split
is never read. Notebook 03 runs a two-seed version of the same sweep.

    python benchmarks/choose_recipe.py [--profile quick] [--seeds 8] [--epochs 20 40 60 80]
        [--temperatures 2 4 8] [--alphas 0.1 0.5] [--student-share 0.25]

The students train on the profile's share of the images the teacher was trained on
(``student_images`` out of the train split; ``--student-share`` overrides it), as in notebook 03.

It trains ``seeds x (1 + pairs)`` students; the quick profile's default grid with 8 seeds
takes about 10 minutes on 2 cores.
"""

from __future__ import annotations

import argparse
import os
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import kdtutor
from kdtutor import training
from kdtutor.compare import compare_paired
from kdtutor.series import profiles


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="quick", choices=sorted(profiles.PROFILES))
    parser.add_argument("--seeds", type=int, default=8)
    parser.add_argument("--epochs", type=int, nargs="+", default=[20, 40, 60, 80])
    parser.add_argument("--temperatures", type=float, nargs="+", default=[2.0, 4.0, 8.0])
    parser.add_argument("--alphas", type=float, nargs="+", default=[0.1, 0.5])
    parser.add_argument("--student-share", type=float, default=None,
                        help="the share of the fitting images the students train on "
                             "(default: the profile's student_images / train split size)")
    args = parser.parse_args()
    settings = profiles.resolve(args.profile)
    data = kdtutor.load_dataset(settings["dataset"])
    x_fit, y_fit, x_val, y_val = data.validation_split(settings["validation_size"], seed=0)
    fit_data = kdtutor.Dataset(x_fit, y_fit, x_val, y_val, name="fit", source="train - val",
                               class_names=data.class_names)
    start = time.perf_counter()
    teacher, _ = training.train_teacher(fit_data, architecture=settings["teacher"],
                                        epochs=settings["teacher_epochs"],
                                        batch_size=settings["batch_size"], seed=0)
    share = args.student_share
    if share is None:
        share = (settings["student_images"] or len(data.y_train)) / len(data.y_train)
    keep = kdtutor.data.stratified_subset(y_fit, round(share * len(y_fit)), seed=0)
    teacher_logits = teacher.predict(x_fit, verbose=0)
    x_fit, y_fit = x_fit[keep], y_fit[keep]  # the students' images; the teacher saw them all
    targets = {"labels": y_fit, "teacher_logits": teacher_logits[keep]}
    teacher_right = teacher.predict(x_val, verbose=0).argmax(1) == y_val
    print(f"{args.profile}: teacher trained on {len(teacher_logits):,} images "
          f"({settings['teacher_epochs']} epochs), {teacher_right.mean():.2%} on the "
          f"{len(y_val):,} validation images; students train on {len(y_fit):,} of its images "
          f"[{time.perf_counter() - start:.0f} s]", flush=True)
    recipe = dict(hidden_units=settings["student_hidden"], num_classes=data.num_classes,
                  batch_size=settings["batch_size"], learning_rate=settings["learning_rate"],
                  epochs=max(args.epochs))
    pairs = [(t, a) for t in args.temperatures for a in args.alphas]
    right = {"scratch": []} | {pair: [] for pair in pairs}  # one CorrectAtEpochs per seed
    for seed in range(args.seeds):
        start = time.perf_counter()
        record = training.CorrectAtEpochs(x_val, y_val, args.epochs)
        training.train_scratch_student(x_fit, y_fit, seed=seed, callbacks=[record], **recipe)
        right["scratch"].append(record.right)
        for temperature, alpha in pairs:
            record = training.CorrectAtEpochs(x_val, y_val, args.epochs)
            training.train_distilled_student(x_fit, targets, teacher, seed=seed,
                                             temperature=temperature, alpha=alpha,
                                             callbacks=[record], **recipe)
            right[temperature, alpha].append(record.right)
        print(f"seed {seed} done [{time.perf_counter() - start:.0f} s]", flush=True)
    print(f"\nGain over the scratch student on validation, {args.seeds} seeds "
          f"(kdtutor.compare.compare_paired):")
    print(f"{'T':>5} {'alpha':>5} " + " ".join(f"{f'{e} epochs':>30}" for e in args.epochs))
    scratch = "  ".join(
        f"{100 * sum(r[e].mean() for r in right['scratch']) / args.seeds:>28.2f}%"
        for e in args.epochs)
    print(f"{'scratch accuracy':>11} {scratch}")
    for pair in pairs:
        cells = []
        for epochs in args.epochs:
            result = compare_paired([r[epochs] for r in right["scratch"]],
                                    [r[epochs] for r in right[pair]])
            cells.append(f"{result.gain_points:+.2f} ± {result.standard_error_points:.2f} "
                         f"{result.verdict:>16}")
        print(f"{pair[0]:>5g} {pair[1]:>5g} " + " ".join(f"{cell:>30}" for cell in cells))


if __name__ == "__main__":
    main()
