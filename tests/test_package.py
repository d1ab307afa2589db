"""Tests of what `import kdtutor` promises: quiet TensorFlow, saved distillers that load.

Each test starts a fresh Python process, because what is checked (which classes Keras knows,
what TensorFlow prints while it starts) depends on what that process imported before.
"""

import os
import re
import subprocess
import sys
import textwrap

import pytest

# TensorFlow's C++ log lines ("I0000 00:00:... port.cc:153] oneDNN ...") and its CUDA probes.
TF_NOISE = re.compile(r"^[IWEF]\d{4} |cuInit|cuda drivers|oneDNN|absl::InitializeLog", re.M)


def run_python(code: str, **env) -> subprocess.CompletedProcess:
    environment = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    environment.update(env)
    return subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        env=environment,
        timeout=300,
        check=False,
    )


SAVE = """
    import numpy as np
    import kdtutor, keras
    x = np.random.default_rng(0).random((64, 28, 28, 1), dtype="float32")
    y = np.arange(64) % 10
    keras.utils.set_random_seed(0)
    model = kdtutor.DistillModel(kdtutor.make_teacher(), kdtutor.make_student())
    model.compile(optimizer="adam", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=32, verbose=0)
    model.save({path!r})
    np.save({predictions!r}, model.predict(x, verbose=0))
"""


@pytest.mark.parametrize("order", ["import kdtutor, keras", "import keras, kdtutor"])
def test_saved_distiller_loads_in_a_fresh_process_after_import_kdtutor(tmp_path, order):
    path, predictions = str(tmp_path / "d.keras"), str(tmp_path / "p.npy")
    saved = run_python(SAVE.format(path=path, predictions=predictions))
    assert saved.returncode == 0, saved.stderr[-2000:]
    loaded = run_python(
        f"""
        import warnings
        warnings.simplefilter("always")
        import numpy as np
        {order}
        x = np.random.default_rng(0).random((64, 28, 28, 1), dtype="float32")
        model = keras.models.load_model({path!r})
        assert type(model).__name__ == "DistillModel", type(model)
        same = np.array_equal(model.predict(x, verbose=0), np.load({predictions!r}))
        print("identical", same)
        """
    )
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert "identical True" in loaded.stdout
    # Keras warns when a file's optimizer variables cannot be restored into the model.
    assert "optimizer" not in loaded.stderr.lower(), loaded.stderr[-2000:]


def test_tensorflow_imported_after_kdtutor_is_quiet():
    # A learner's own `import keras` after `import kdtutor` starts TensorFlow; its C++
    # start-up lines must not reach the notebook (they would land in the stored outputs).
    result = run_python("import kdtutor\nimport keras\nimport tensorflow as tf\nprint(tf.ones(1))")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not TF_NOISE.search(result.stderr), result.stderr[-2000:]
    # The check can fail: the same process without kdtutor prints that noise here.
    noisy = run_python("import keras", TF_CPP_MIN_LOG_LEVEL="0")
    assert TF_NOISE.search(noisy.stderr), "TensorFlow printed nothing: this check proves nothing"


def test_tensorflow_logs_stay_on_when_asked_for():
    result = run_python("import kdtutor\nimport keras", TF_CPP_MIN_LOG_LEVEL="0")
    assert TF_NOISE.search(result.stderr)
