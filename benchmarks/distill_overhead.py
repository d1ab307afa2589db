"""How much does distillation cost compared with training the student alone?

On mnist-5k, times three ways of training the same student for the same epochs,
batch size and data, side by side in one run, several repetitions each:

- ``student``:  plain ``student.fit`` on the labels (the baseline);
- ``uncached``: ``DistillModel.fit`` running the teacher at every step;
- ``cached``:   ``DistillModel.fit`` from teacher logits computed once
  (that one-time teacher pass is counted in).

Each timed run builds fresh models and includes everything a user waits for
(graph tracing included). Repetitions are interleaved so that machine noise
hits all three alike; the ratios use the medians. The last line is exactly
``cached_ratio=<x.xx> uncached_ratio=<y.yy>`` (KD time / student time).

    python benchmarks/distill_overhead.py [--epochs 10] [--repeats 5] [--batch-size 64]

The default of 10 epochs is what notebook 03 trains the student for in the
quick profile. The one-time teacher pass is a fixed cost (it is printed
separately), so the cached ratio falls towards 1.0 as the epochs grow and
rises for very short runs: pass ``--epochs`` to see it.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras

import kdtutor


def student_only(data, args, seed):
    keras.utils.set_random_seed(seed)
    student = kdtutor.make_student()
    student.compile(
        optimizer="adam",
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        metrics=["accuracy"],
    )
    start = time.perf_counter()
    student.fit(
        data.x_train, data.y_train, epochs=args.epochs, batch_size=args.batch_size, verbose=0
    )
    return time.perf_counter() - start


def distilled(data, args, seed, teacher, cached):
    keras.utils.set_random_seed(seed)
    model = kdtutor.DistillModel(teacher, kdtutor.make_student(), temperature=4.0, alpha=0.1)
    model.compile(optimizer="adam", metrics=["accuracy"])
    start = time.perf_counter()
    targets = model.cache_teacher_logits(data.x_train, data.y_train) if cached else data.y_train
    teacher_pass = time.perf_counter() - start
    model.fit(data.x_train, targets, epochs=args.epochs, batch_size=args.batch_size, verbose=0)
    return time.perf_counter() - start, teacher_pass


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--batch-size", type=int, default=64)
    args = parser.parse_args()
    if args.epochs < 1 or args.repeats < 1 or args.batch_size < 1:
        parser.error("--epochs, --repeats and --batch-size must be positive integers")

    data = kdtutor.load_dataset("mnist-5k")
    # The teacher's weights do not change its speed; training it first would only
    # make the benchmark slower. It is the CNN teacher the notebooks use.
    keras.utils.set_random_seed(0)
    teacher = kdtutor.make_teacher()
    print(
        f"mnist-5k: {len(data.x_train)} training images, epochs={args.epochs}, "
        f"batch_size={args.batch_size}, repeats={args.repeats}; teacher "
        f"{teacher.count_params():,} params, student {kdtutor.make_student().count_params():,}"
    )
    # One untimed round so that one-time process start-up costs hit no variant.
    student_only(data, argparse.Namespace(epochs=1, batch_size=args.batch_size), 0)
    distilled(data, argparse.Namespace(epochs=1, batch_size=args.batch_size), 0, teacher, False)

    times = {"student": [], "uncached": [], "cached": []}
    teacher_passes = []
    for repeat in range(args.repeats):
        times["student"].append(student_only(data, args, repeat))
        times["uncached"].append(distilled(data, args, repeat, teacher, cached=False)[0])
        seconds, teacher_pass = distilled(data, args, repeat, teacher, cached=True)
        times["cached"].append(seconds)
        teacher_passes.append(teacher_pass)
        print(
            f"repeat {repeat + 1}/{args.repeats}: "
            + ", ".join(f"{name} {values[-1]:.2f}s" for name, values in times.items()),
            flush=True,
        )
    medians = {name: statistics.median(values) for name, values in times.items()}
    print(
        "median seconds: "
        + ", ".join(f"{k} {v:.2f}" for k, v in medians.items())
        + f" (of which the one-time teacher pass {statistics.median(teacher_passes):.2f})"
    )
    print(
        f"cached_ratio={medians['cached'] / medians['student']:.2f} "
        f"uncached_ratio={medians['uncached'] / medians['student']:.2f}"
    )


if __name__ == "__main__":
    main()
