"""DistillModel beyond one TensorFlow device: tf.distribute, and the JAX backend.

Each test runs a script in a fresh Python process: logical devices must be set before
TensorFlow initialises its devices, and the Keras backend is chosen before Keras is
imported. The scripts print one JSON line of measured values; the checks against NumPy
float64 references happen here.
"""

import importlib.util
import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

NUM_CLASSES = 10

# Written from the formulas, as in test_distill.py.
REFERENCES = """
import numpy as np

def np_log_softmax(z):
    z = np.asarray(z, dtype=np.float64)
    shifted = z - z.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))

def np_kd_loss(teacher_logits, student_logits, temperature):
    log_p = np_log_softmax(np.asarray(teacher_logits) / temperature)
    log_q = np_log_softmax(np.asarray(student_logits) / temperature)
    return (temperature**2 * (np.exp(log_p) * (log_p - log_q)).sum(axis=-1)).mean()

def np_cross_entropy(labels, logits):
    return (-np_log_softmax(logits)[np.arange(len(labels)), labels]).mean()
"""

MODELS = """
import keras

def tiny_teacher():
    keras.utils.set_random_seed(0)
    return keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(16, activation="relu"),
         keras.layers.Dropout(0.5), keras.layers.Dense(10)], name="teacher")

def tiny_student():
    keras.utils.set_random_seed(1)
    return keras.Sequential(
        [keras.Input((8, 8, 1)), keras.layers.Flatten(), keras.layers.Dense(10)], name="student")

rng = np.random.default_rng(0)
x = rng.random((64, 8, 8, 1), dtype=np.float32)
y = rng.integers(0, 10, size=64)
"""


def run_script(body: str, **env) -> dict:
    script = REFERENCES + MODELS + textwrap.dedent(body)
    environment = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3", **env}
    done = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env=environment,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-4000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


MIRRORED = """
import tensorflow as tf

cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(
    cpu, [tf.config.LogicalDeviceConfiguration(), tf.config.LogicalDeviceConfiguration()]
)
import json
import kdtutor

def one_step(strategy):
    with strategy.scope():
        teacher, student = tiny_teacher(), tiny_student()
        model = kdtutor.DistillModel(teacher, student, temperature=4.0, alpha=0.3)
        model.compile(optimizer=keras.optimizers.SGD(0.5))
    t = keras.ops.convert_to_numpy(teacher(x, training=False))
    s = keras.ops.convert_to_numpy(student(x, training=False))
    reference = 0.3 * np_cross_entropy(y, s) + 0.7 * np_kd_loss(t, s, 4.0)
    history = model.fit(x, y, batch_size=len(x), epochs=1, shuffle=False, verbose=0)
    weights = [w.tolist() for w in student.get_weights()]
    return {"loss": history.history["loss"][0], "reference": reference, "weights": weights,
            "distillation_loss": history.history["distillation_loss"][0],
            "reference_kd": np_kd_loss(t, s, 4.0)}

mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
print(json.dumps({"replicas": mirrored.num_replicas_in_sync,
                  "one": one_step(tf.distribute.get_strategy()), "two": one_step(mirrored)}))
"""


@pytest.mark.slow
def test_mirrored_strategy_on_two_devices_matches_one_device():
    result = run_script(MIRRORED)
    assert result["replicas"] == 2
    one, two = result["one"], result["two"]
    for run in (one, two):
        np.testing.assert_allclose(run["loss"], run["reference"], rtol=1e-5)
        np.testing.assert_allclose(run["distillation_loss"], run["reference_kd"], rtol=1e-5)
    np.testing.assert_allclose(two["loss"], one["loss"], rtol=1e-6)
    # One SGD step from the same start: the same gradient, so the same weights. Without
    # dividing each replica's loss by the number of replicas the step would be twice as long.
    for a, b in zip(one["weights"], two["weights"], strict=True):
        np.testing.assert_allclose(np.array(b), np.array(a), rtol=1e-5, atol=1e-6)


JAX = """
import json
import kdtutor
from kdtutor.distill import distillation_loss

assert keras.backend.backend() == "jax", keras.backend.backend()
rng = np.random.default_rng(3)
teacher_logits = (rng.normal(size=(16, 10)) * 5).astype(np.float32)
student_logits = (rng.normal(size=(16, 10)) * 5).astype(np.float32)
loss = {str(T): [float(distillation_loss(teacher_logits, student_logits, T)),
                 np_kd_loss(teacher_logits, student_logits, T)] for T in (1.0, 4.0, 20.0)}

teacher, student = tiny_teacher(), tiny_student()
t = keras.ops.convert_to_numpy(teacher(x, training=False))
s = keras.ops.convert_to_numpy(student(x, training=False))
model = kdtutor.DistillModel(teacher, student, temperature=4.0, alpha=0.3)
model.compile(optimizer=keras.optimizers.SGD(0.0), metrics=["accuracy"])
compute_loss = float(model.compute_loss(x=x, y=y[:, None], y_pred=s, training=False))
reference = 0.3 * np_cross_entropy(y, s) + 0.7 * np_kd_loss(t, s, 4.0)

class Anneal(keras.callbacks.Callback):
    def on_train_batch_begin(self, batch, logs=None):
        if batch == 1:
            self.model.temperature = 8.0

# Labels shaped (N, 1); T changes from 4 to 8 before the second of two batches.
history = model.fit(x, y[:, None], batch_size=32, epochs=1, shuffle=False, verbose=0,
                    callbacks=[Anneal()])
halves = [slice(0, 32), slice(32, 64)]
annealed = np.mean([0.3 * np_cross_entropy(y[h], s[h]) + 0.7 * np_kd_loss(t[h], s[h], T)
                    for h, T in zip(halves, (4.0, 8.0))])
accuracy = float(np.mean(s.argmax(-1) == y))

model = kdtutor.DistillModel(teacher, tiny_student(), temperature=4.0, alpha=0.3)
model.compile(optimizer=keras.optimizers.Adam(0.05))
trained = model.fit(x, y, batch_size=16, epochs=3, verbose=0).history["loss"]
print(json.dumps({"loss": loss, "compute_loss": [compute_loss, reference],
                  "annealed": [history.history["loss"][0], annealed],
                  "accuracy": [history.history["accuracy"][0], accuracy],
                  "trained": trained, "temperature": model.temperature}))
"""


@pytest.mark.slow
@pytest.mark.skipif(
    importlib.util.find_spec("jax") is None,
    reason="JAX is not installed: `pip install 'jax~=0.10.2'` runs DistillModel on Keras' JAX "
    "backend (optional; the package is tested on TensorFlow without it).",
)
def test_distill_model_on_the_jax_backend():
    result = run_script(JAX, KERAS_BACKEND="jax", JAX_PLATFORMS="cpu")
    for temperature, (got, expected) in result["loss"].items():
        np.testing.assert_allclose(got, expected, rtol=1e-5, err_msg=f"T={temperature}")
    np.testing.assert_allclose(*result["compute_loss"], rtol=1e-5)
    np.testing.assert_allclose(*result["annealed"], rtol=1e-5)
    np.testing.assert_allclose(*result["accuracy"], atol=1e-6)
    assert np.isfinite(result["trained"]).all()
    assert result["trained"][-1] < result["trained"][0]
