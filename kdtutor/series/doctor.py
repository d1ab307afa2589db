"""``kdtutor doctor``: checks the environment a newcomer may get wrong and says how to fix it.

Each check is a line ``OK``, ``WARN`` or ``FAIL`` with, for the latter two, the fix: Python,
TensorFlow and Keras 3 (the check the notebooks' Setup cells make), ``tf_keras``, the
``python3`` Jupyter kernel, the notebooks, the datasets offline, free disk, CPU threads and
GPUs. Exit code 1 if any check FAILs.
"""

from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path

from kdtutor.data import DATASET_NAMES, offline_sources
from kdtutor.series import machine, notebooks, runner


def doctor_command(_args) -> int:
    """Print every check, its fix where it does not pass, and the counts; 1 if any FAILs."""
    print("kdtutor doctor: the environment the notebooks and `kdtutor run` need")
    counts = {"OK": 0, "WARN": 0, "FAIL": 0}
    for level, what, fix in checks():
        counts[level] += 1
        print(f"{level:<4}  {what}")
        if fix and level != "OK":
            print(f"      fix: {fix}")
    print(f"{counts['OK']} OK, {counts['WARN']} WARN, {counts['FAIL']} FAIL")
    return 1 if counts["FAIL"] else 0


def checks():
    """Yield ``(level, what, fix)`` with level ``OK``, ``WARN`` or ``FAIL``."""
    import kdtutor
    from kdtutor import _quiet

    tensorflow_works = False
    try:
        _quiet.import_tensorflow()  # the command line starts the series: its noise stays out
        summary = kdtutor.check_versions()  # the check the notebooks' Setup cells make
    except RuntimeError as error:  # its message says how to fix it
        yield "FAIL", str(error), None
    except ImportError as error:
        yield (
            "FAIL",
            f"TensorFlow or Keras cannot be imported: {error}",
            "create a fresh virtual environment and run: pip install -r requirements.txt",
        )
    else:
        tensorflow_works = True
        yield "OK", f"{summary}; Python at {sys.executable}", None
        import keras

        if keras.backend.backend() != "tensorflow":
            yield (
                "WARN",
                f"Keras backend is {keras.backend.backend()!r} (KERAS_BACKEND); notebook 04's "
                "LiteRT conversion needs TensorFlow",
                "unset KERAS_BACKEND (or set it to tensorflow)",
            )

    import importlib.util

    legacy = os.environ.get("TF_USE_LEGACY_KERAS", "")
    legacy_on = legacy.lower() in ("1", "true", "yes")
    if importlib.util.find_spec("tf_keras") is None:
        state = f"set to {legacy!r}" if legacy else "unset"
        yield "OK", f"tf_keras (Keras 2) not installed; TF_USE_LEGACY_KERAS {state}", None
    elif legacy_on:
        yield (
            "FAIL",
            f"tf_keras is installed and TF_USE_LEGACY_KERAS={legacy}: tf.keras is Keras 2, "
            "not Keras 3",
            "unset TF_USE_LEGACY_KERAS and pip uninstall tf_keras",
        )
    else:
        yield (
            "WARN",
            "tf_keras (Keras 2) is installed; unused unless TF_USE_LEGACY_KERAS is set",
            "pip uninstall tf_keras",
        )

    yield from _kernel_check()

    if notebooks.NOTEBOOKS_DIR.is_dir():
        found = notebooks.discover()
        yield "OK", f"kdtutor from {notebooks.REPO_ROOT} ({len(found)} notebooks)", None
        for nb in found:
            if nb.problem:
                yield "WARN", f"{nb.path.name} cannot be run: {nb.problem}", None
    else:
        # Installed from a wheel (a handout's): the notebooks are the handout's own files.
        yield (
            "OK",
            "kdtutor installed as a package (a handout's wheel): open the notebooks of your "
            "handout folder; `kdtutor run` needs a clone of the repository",
            None,
        )

    sources = offline_sources()
    for name in DATASET_NAMES:
        if sources[name]:
            yield "OK", f"dataset {name}: offline, {sources[name]}", None
        else:
            level = "FAIL" if name == "mnist-5k" else "WARN"
            yield level, f"dataset {name}: not available offline", runner.dataset_ways(name)

    root = notebooks.REPO_ROOT
    free = shutil.disk_usage(root).free / 1e9
    if free >= 2:
        yield "OK", f"free disk {free:.1f} GB at {root}", None
    else:
        yield (
            "WARN",
            f"free disk {free:.1f} GB at {root}; runs and trained models need ~1-2 GB",
            "free some space, or delete old runs/ folders and artifacts/",
        )

    usable = machine.usable_cpus()
    threads = f"{usable} CPU threads usable ({os.cpu_count()} in the machine)"
    if usable >= 2:
        yield "OK", f"{threads}; the quick profile is sized for 2", None
    else:
        yield "WARN", f"{threads}; the quick profile is sized for 2", "expect about twice the time"

    if not tensorflow_works:
        return
    gpus = machine.gpu_names()
    if gpus:
        yield "OK", f"GPU visible: {', '.join(gpus)}", None
    else:
        yield "OK", "no GPU visible: fine, the series is sized for a CPU", None


def _kernel_check():
    """The ``python3`` Jupyter kernel that papermill and JupyterLab start must be this Python."""
    import importlib.util

    try:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
    except ImportError:
        yield "FAIL", "jupyter_client is not installed", "pip install -r requirements.txt"
        return
    fix = f"{sys.executable} -m ipykernel install --sys-prefix --name python3"
    try:
        spec = KernelSpecManager().get_kernel_spec(runner.KERNEL_NAME)
    except NoSuchKernel:
        yield "FAIL", "no Jupyter kernel named 'python3'", fix
        return
    if not Path(spec.resource_dir).resolve().is_relative_to(Path(sys.prefix).resolve()):
        # Jupyter takes the first 'python3' it finds; replace that one (user or system level).
        fix = f"{sys.executable} -m ipykernel install --user --name python3"
    program = spec.argv[0] if spec.argv else ""
    where = f"kernel 'python3' ({spec.resource_dir})"
    if importlib.util.find_spec("ipykernel") is None:
        yield (
            "FAIL",
            "ipykernel is not installed in this environment",
            "pip install -r requirements.txt",
        )
    elif program in ("python", "python3", "{python}"):
        yield (
            "OK",
            f"{where} runs {program!r}, which Jupyter replaces by the Python that starts it: "
            f"{sys.executable}",
            None,
        )
    elif _same_file(program, sys.executable):
        yield "OK", f"{where} runs this environment's Python {program}", None
    else:
        yield (
            "FAIL",
            f"{where} runs {program}, not this environment's Python {sys.executable}: the "
            "notebooks would import another TensorFlow/kdtutor",
            f"{fix}   (or remove {spec.resource_dir})",
        )


def _same_file(first: str, second: str) -> bool:
    try:
        return os.path.samefile(first, second) or Path(first).resolve() == Path(second).resolve()
    except OSError:
        return False
