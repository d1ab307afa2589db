"""Tests of what `import kdtutor` promises (light, no hooks) and where the series quiets TensorFlow.

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


@pytest.mark.slow
@pytest.mark.parametrize(
    "order",
    ["from kdtutor import DistillModel\nimport keras", "import keras\nimport kdtutor.distill"],
)
def test_saved_distiller_loads_in_a_fresh_process_after_importing_distill_model(tmp_path, order):
    path, predictions = str(tmp_path / "d.keras"), str(tmp_path / "p.npy")
    saved = run_python(SAVE.format(path=path, predictions=predictions))
    assert saved.returncode == 0, saved.stderr[-2000:]
    load = f"""
        import warnings
        warnings.simplefilter("always")
        import numpy as np
        {{}}
        x = np.random.default_rng(0).random((64, 28, 28, 1), dtype="float32")
        model = keras.models.load_model({path!r})
        assert type(model).__name__ == "DistillModel", type(model)
        same = np.array_equal(model.predict(x, verbose=0), np.load({predictions!r}))
        print("identical", same)
        """
    loaded = run_python(load.format(textwrap.indent(order, " " * 8).strip()))
    assert loaded.returncode == 0, loaded.stderr[-2000:]
    assert "identical True" in loaded.stdout
    # Keras warns when a file's optimizer variables cannot be restored into the model.
    assert "optimizer" not in loaded.stderr.lower(), loaded.stderr[-2000:]
    # Without that import Keras cannot know the class; its error names the module to import.
    bare = run_python(f"import kdtutor, keras\nkeras.models.load_model({path!r})")
    assert bare.returncode != 0
    assert re.search(r"DistillModel.*kdtutor\.distill|kdtutor\.distill.*DistillModel", bare.stderr)


def test_import_kdtutor_is_plain():
    # No TensorFlow or Keras until a name needs them, no import hooks, no environment writes.
    result = run_python(
        """
        import os, sys
        hooks, environment = list(sys.meta_path), dict(os.environ)
        import kdtutor
        assert sys.meta_path == hooks, sys.meta_path
        assert dict(os.environ) == environment
        heavy = sorted(n for n in ("tensorflow", "keras", "wrapt", "wurlitzer") if n in sys.modules)
        print("heavy", heavy)
        kdtutor.DistillModel  # a lazy name imports TensorFlow on first use
        print("tensorflow" in sys.modules)
        """
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split("\n")[:2] == ["heavy []", "True"], result.stdout


@pytest.mark.slow
def test_the_series_setup_imports_tensorflow_quietly():
    # The Setup cell of every notebook imports kdtutor.series.setup first, then Keras: the
    # C++ start-up lines of TensorFlow must not reach the notebook's stored outputs.
    setup_cell = "from kdtutor.series import setup\nimport keras\nimport tensorflow as tf\n"
    result = run_python(setup_cell + "print(tf.ones(1))")
    assert result.returncode == 0, result.stderr[-2000:]
    assert not TF_NOISE.search(result.stderr), result.stderr[-2000:]
    # The check can fail: the same imports without the series' setup print that noise here.
    noisy = run_python("import kdtutor\nimport keras")
    assert TF_NOISE.search(noisy.stderr), "TensorFlow printed nothing: this check proves nothing"
    # And logs stay on when the user asks for them.
    asked = run_python(setup_cell, TF_CPP_MIN_LOG_LEVEL="0")
    assert TF_NOISE.search(asked.stderr)


def test_only_the_known_messages_are_dropped_and_other_output_is_kept():
    result = run_python(
        """
        import os
        from kdtutor._quiet import known_chatter_filtered
        with known_chatter_filtered():
            os.write(2, b"INFO: Created TensorFlow Lite XNNPACK delegate for CPU.\\n")
            os.write(2, b"F0000 00:00:1.2 123 some_op.cc:12] a fatal message\\n")
            os.write(1, b"stdout untouched\\n")
        """
    )
    assert result.returncode == 0, result.stderr
    assert "XNNPACK" not in result.stderr
    assert "a fatal message" in result.stderr
    assert "stdout untouched" in result.stdout
