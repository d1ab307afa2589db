"""What do more CPU cores buy the full profile? One training epoch on 1 core and on all.

The full profile's time goes into training: the CNN teacher (notebook 01, the sweep's
teacher in 03, pruning in 04, the teacher at every step in 03 and 05) and many MLP
students (03, 05). This script times one epoch of each on full Fashion-MNIST
(60,000 images, batch 128, as the profile trains them) in a subprocess pinned to 1 core
and in one that may use every core, interleaved, several repetitions each, and prints
the medians and the speed-up. TensorFlow sizes its thread pools from the cores the
process may use, so pinning with ``os.sched_setaffinity`` before importing it is enough.

    python benchmarks/cores.py [--repeats 3]

Needs the Debian package ``dataset-fashion-mnist`` (``kdtutor datasets``). The last line is
exactly ``teacher_speedup=<x.xx> student_speedup=<y.yy> cores=<n>``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys

CHILD = r"""
import json, os, sys, time
os.sched_setaffinity(0, set(json.loads(sys.argv[1])))
os.environ["TF_CPP_MIN_LOG_LEVEL"] = "3"
import keras
import kdtutor
from kdtutor import training

data = kdtutor.load_dataset("fashion_mnist")
model = (training.build_teacher("cnn", seed=0) if sys.argv[2] == "teacher"
         else training.build_student((128,), seed=0))
training.compile_classifier(model)
model.fit(data.x_train[:1280], data.y_train[:1280], epochs=1, batch_size=128, verbose=0)  # trace
start = time.perf_counter()
model.fit(data.x_train, data.y_train, epochs=1, batch_size=128, verbose=0)
print(time.perf_counter() - start)
"""


def epoch_seconds(cores: list[int], model: str) -> float:
    result = subprocess.run(
        [sys.executable, "-c", CHILD, json.dumps(cores), model],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    every = sorted(os.sched_getaffinity(0))
    speedups = {}
    for model in ("teacher", "student"):
        times = {1: [], len(every): []}
        for _ in range(args.repeats):  # interleaved, so that machine noise hits both alike
            times[1].append(epoch_seconds(every[:1], model))
            times[len(every)].append(epoch_seconds(every, model))
        one, many = (statistics.median(times[n]) for n in (1, len(every)))
        speedups[model] = one / many
        print(
            f"{model}: one epoch {one:.1f} s on 1 core, {many:.1f} s on {len(every)} "
            f"(medians of {args.repeats}): {one / many:.2f}x"
        )
    print(
        f"teacher_speedup={speedups['teacher']:.2f} student_speedup={speedups['student']:.2f} "
        f"cores={len(every)}"
    )


if __name__ == "__main__":
    main()
