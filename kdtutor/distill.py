"""Knowledge distillation: the softened softmax, the KD loss and ``DistillModel``.

The loss follows Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a
Neural Network": the student matches the teacher's *softened* class
probabilities ``softmax(logits / T)``, and the soft term is multiplied by ``T**2`` so that its
gradients do not vanish as the temperature rises (at large T they approach logit
matching; at small T they are smaller). Taught in notebooks 02 (the softened softmax,
the loss and its gradient) and 03 (the distiller).

Everything is written with ``keras.ops``; the tests run it on the TensorFlow and
JAX backends. ``DistillModel`` overrides only Keras' public hooks (``compute_loss``,
``compute_metrics``, ``call``), so ``model.fit``, callbacks, metrics and saving work
as usual; there is no hand-written training loop.
"""

from __future__ import annotations

import os
import warnings

import keras
import numpy as np
from keras import ops

from kdtutor import _distill_inputs as _inputs
from kdtutor._checks import check_int, check_real, label_kind, sparse_labels
from kdtutor._distill_inputs import LABELS_KEY, TEACHER_LOGITS_KEY
from kdtutor.logits import ends_in_softmax, strip_softmax

__all__ = [
    "softened_softmax",
    "distillation_loss",
    "DistillModel",
    "strip_softmax",
    "ends_in_softmax",
    "LABELS_KEY",
    "TEACHER_LOGITS_KEY",
    "MAX_TEMPERATURE",
    "MIN_TEMPERATURE",
]

# Above this T the float32 KD loss (a KL of order 1/T**2 between near-uniform targets) loses
# accuracy: against float64 on N(0, 5**2) logits, 10 classes, one example's relative error
# is 7e-5 at T = 1, 3e-5 at T = 20, 6e-4 at T = 100, 7e-2 at T = 1,000, 10 at T = 10,000.
# KD uses T between 1 and 20 in practice (Hinton et al. 2015 went up to 20).
MAX_TEMPERATURE = 100.0
MIN_TEMPERATURE = 0.01  # below: the softmax is an argmax, and logits / T may overflow to inf


def _check_temperature(temperature) -> float:
    return check_real(
        temperature, "temperature", low=MIN_TEMPERATURE, high=MAX_TEMPERATURE,
        hint=f"T must be at most kdtutor.distill.MAX_TEMPERATURE = {MAX_TEMPERATURE:g}: above "
        "it the float32 KD loss loses its accuracy (below MIN_TEMPERATURE = "
        f"{MIN_TEMPERATURE:g} the softmax is an argmax). T = 1 is the ordinary softmax; KD "
        "typically uses T between 2 and 20.",
    )  # fmt: skip


def _check_alpha(alpha) -> float:
    return check_real(
        alpha, "alpha", low=0.0, high=1.0,
        hint="alpha is the weight of the hard-label loss: 0 trains on the teacher's soft "
        "targets only, 1 on the labels only (no distillation).",
    )  # fmt: skip


def softened_softmax(logits, temperature: float):
    """Return ``softmax(logits / temperature)`` over the last axis.

    ``logits``: array or tensor of shape ``(batch, num_classes)`` (any leading
    shape works). ``temperature`` in (0, ``MAX_TEMPERATURE``]: 1 gives the
    ordinary softmax; larger values give softer distributions that reveal how
    the model ranks the wrong classes. Returns float32 probabilities of the same
    shape, each row summing to 1. Taught in notebook 02.
    """
    temperature = _check_temperature(temperature)
    logits = ops.convert_to_tensor(logits, dtype="float32")
    return ops.softmax(ops.divide(logits, temperature), axis=-1)


def _per_example_distillation_loss(teacher_logits, student_logits, temperature):
    """T**2 * KL(softmax(t/T) || softmax(s/T)) for each example: shape (batch,).

    ``temperature`` may be a float or a float32 scalar tensor/variable.
    """
    teacher_log_probs = ops.log_softmax(ops.divide(teacher_logits, temperature), axis=-1)
    student_log_probs = ops.log_softmax(ops.divide(student_logits, temperature), axis=-1)
    kl = ops.sum(ops.exp(teacher_log_probs) * (teacher_log_probs - student_log_probs), axis=-1)
    return ops.square(temperature) * kl


def distillation_loss(teacher_logits, student_logits, temperature: float):
    """Return the KD loss: the batch mean of ``T**2 * KL(p || q)``.

    ``p = softmax(teacher_logits / T)`` are the teacher's soft targets and
    ``q = softmax(student_logits / T)`` the student's softened predictions;
    both logits have shape ``(batch, num_classes)`` and are cast to float32
    (also under mixed precision). The ``T**2`` factor (Hinton et al. 2015) keeps
    the soft gradients from vanishing as T rises: the gradient with respect to the
    student logits is ``T * (q - p) / batch``, which tends to logit matching at
    large T and is smaller at small T (it is not independent of T). Computed from
    log-softmaxes, so it is stable for large logits; ``temperature`` may be at
    least ``MIN_TEMPERATURE`` and at most ``MAX_TEMPERATURE`` (float32 accuracy).
    Returns a float32 scalar tensor (0 when the student matches the teacher).
    Taught in notebook 02; notebook 03 trains with it.
    """
    temperature = _check_temperature(temperature)
    teacher_logits = ops.convert_to_tensor(teacher_logits, dtype="float32")
    student_logits = ops.convert_to_tensor(student_logits, dtype="float32")
    if tuple(teacher_logits.shape) != tuple(student_logits.shape):
        raise ValueError(
            f"`teacher_logits` and `student_logits` must have the same shape; got "
            f"{tuple(teacher_logits.shape)} and {tuple(student_logits.shape)}."
        )
    return ops.mean(_per_example_distillation_loss(teacher_logits, student_logits, temperature))


def _replica_share(loss):
    # Keras 3 expects compute_loss() to return each replica's loss divided by the number of
    # replicas, as keras.losses do: tf.distribute sums the replicas' gradients, and
    # train_step() multiplies the loss back for the reported `loss`. JAX's distribution
    # computes the loss over the global batch, so there is nothing to do there.
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        replicas = tf.distribute.get_strategy().num_replicas_in_sync
        if replicas > 1:
            loss = ops.divide(loss, float(replicas))
    return loss


def _hard_label_loss(labels, student_logits):
    """Per-example cross-entropy with the labels: class ids or one-hot (soft) rows."""
    num_classes = student_logits.shape[-1]
    if label_kind(labels.shape, num_classes, "y") == "one_hot":
        labels = ops.cast(labels, "float32")
        return keras.losses.categorical_crossentropy(labels, student_logits, from_logits=True)
    ids = sparse_labels(labels, num_classes, "y")
    return keras.losses.sparse_categorical_crossentropy(ids, student_logits, from_logits=True)


def _read(variable) -> float:
    # The shortest decimal that is this float32, so 0.3 reads back as 0.3, not 0.30000001.
    return float(str(np.float32(ops.convert_to_numpy(variable))))


@keras.saving.register_keras_serializable(package="kdtutor")
class DistillModel(keras.Model):
    """Train a student to match a frozen teacher's softened outputs (Hinton et al. 2015).

    ``DistillModel(teacher, student, temperature=8.0, alpha=0.5)`` is a Keras model whose
    predictions are the student's logits; the defaults are the recipe of notebook 03.
    Compile it with an optimizer and metrics (no ``loss``) and ``fit`` it like any model.
    The loss on a batch is::

        alpha * CE(labels, student_logits)
        + (1 - alpha) * T**2 * KL(softmax(teacher_logits / T) || softmax(student_logits / T))

    ``alpha`` weighs the hard-label term (``keras.distillation.Distiller`` calls it
    ``student_loss_weight``). ``temperature`` (T, at most ``MAX_TEMPERATURE``) and
    ``alpha`` are non-trainable variables, so a callback may change them during ``fit``.
    Both models must output logits ``(batch, num_classes)``: a final softmax layer is
    refused, and so are outputs that look like probabilities on random inputs (when the
    input shape is known). The teacher is frozen and always runs with ``training=False``.

    Targets ``y``: class ids ``(batch,)`` or ``(batch, 1)``, one-hot labels ``(batch,
    num_classes)``, or a dict ``{"labels": ..., "teacher_logits": ...}`` from
    :meth:`cache_teacher_logits`, which spares the teacher at every step. ``"labels"`` may be
    left out only when ``alpha == 0`` (label metrics are then skipped, with a warning).
    ``sample_weight`` weighs both terms as Keras weighs a loss (``class_weight`` needs
    labels as ``y``; with a dict pass ``sample_weight=weights[labels]``). ``fit`` reports
    ``loss``, ``student_loss`` (the hard-label CE), ``distillation_loss`` (the soft term,
    with its T**2) and the compiled metrics, given the labels as class ids. Load a saved one
    after ``from kdtutor import DistillModel``, which registers the class with Keras.
    """

    def __init__(self, teacher, student, *, temperature=8.0, alpha=0.5, **kwargs):
        super().__init__(**kwargs)
        _inputs.check_models(teacher, student)
        self.teacher, self.student = teacher, student
        self.teacher.trainable = False  # Keras then leaves its weights out of the gradients
        fixed = {"dtype": "float32", "trainable": False, "autocast": False}  # callbacks may set
        self._temperature = keras.Variable(_check_temperature(temperature), **fixed, name="T")
        self._alpha = keras.Variable(_check_alpha(alpha), **fixed, name="alpha")
        self._alpha_is_zero = self.alpha == 0  # decides, when a step is traced, if labels are due
        self.student_loss_tracker = keras.metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = keras.metrics.Mean(name="distillation_loss")
        self._warned_unlabelled_metrics = False

    @property
    def temperature(self) -> float:
        """The distillation temperature T, in (0, ``MAX_TEMPERATURE``]; may change during fit."""
        return _read(self._temperature)

    @temperature.setter
    def temperature(self, value):
        self._temperature.assign(_check_temperature(value))

    @property
    def alpha(self) -> float:
        """The weight of the hard-label loss, in [0, 1]; may change during fit."""
        return _read(self._alpha)

    @alpha.setter
    def alpha(self, value):
        self._alpha.assign(_check_alpha(value))
        self._follow_alpha()

    def load_own_variables(self, store):  # load_weights(), BackupAndRestore, .keras files
        super().load_own_variables(store)
        self._follow_alpha()

    def _follow_alpha(self):
        # Traced steps decided from alpha whether labels are due: when it crossed 0, trace anew.
        if (self.alpha == 0) != self._alpha_is_zero:
            self._alpha_is_zero = self.alpha == 0
            for make, made in ((self.make_train_function, self.train_function),
                               (self.make_test_function, self.test_function)):  # fmt: skip
                if made is not None:
                    make(force=True)

    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def build(self, input_shape=None):
        for role, model in (("teacher", self.teacher), ("student", self.student)):
            if not model.built and input_shape is not None:  # its outputs not yet checked
                _inputs.build_and_check_outputs(role, model, input_shape)
        self.built = True

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Like ``keras.Model.compile`` without ``loss``; ``metrics`` get labels as class ids."""
        if loss is not None:
            raise ValueError(
                "DistillModel computes its own loss (alpha * CE + (1 - alpha) * KD); remove "
                f"`loss={loss!r}` from compile() and set `temperature`/`alpha` on the model."
            )
        _inputs.refuse_metrics_of_other_labels(metrics, kwargs.get("weighted_metrics"))
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        # Keras skips re-compiling models whose compile() is overridden; ours only
        # refuses `loss`, so a saved model comes back compiled, optimizer state included.
        config = keras.saving.deserialize_keras_object(config)
        config.pop("loss", None)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        labels, teacher_logits = _inputs.split_targets(y)
        if labels is None and not self._alpha_is_zero:
            raise ValueError(
                "alpha > 0 gives the hard-label loss a weight, but the data has no labels."
                f" Pass labels as `y` (or under {LABELS_KEY!r}; a generator or dataset "
                "must yield (x, y)), or set alpha=0 to distill from the teacher alone."
            )
        y_pred = self(x, training=training) if y_pred is None else y_pred
        where = f"the cached y[{TEACHER_LOGITS_KEY!r}]: cache them from this teacher, same x"
        if teacher_logits is None:
            teacher_logits, where = self.teacher(x, training=False), "in training"
        _inputs.check_single_output("student", y_pred)
        _inputs.check_single_output("teacher", teacher_logits)
        # float32 also under mixed precision: the KL is a small difference of log-probabilities.
        student_logits = ops.cast(y_pred, "float32")
        teacher_logits = ops.stop_gradient(ops.cast(teacher_logits, "float32"))
        if where != "in training":
            _inputs.assert_cached_logits(teacher_logits)
        _inputs.check_logits_shapes(teacher_logits.shape, student_logits.shape, where)
        soft = _per_example_distillation_loss(teacher_logits, student_logits, self._temperature)
        hard = ops.zeros_like(soft) if labels is None else _hard_label_loss(labels, student_logits)
        weights = _inputs.per_example_weights(sample_weight)
        if weights is not None:  # Keras' "sum_over_batch_size": weighted sum / batch size
            hard, soft = hard * weights, soft * weights
        examples = ops.shape(student_logits)[0]  # batches weigh by size, as in Keras' `loss`
        size = ops.maximum(ops.cast(examples, "float32"), 1.0)  # an empty batch adds 0, not NaN
        student_loss, soft_loss = ops.sum(hard) / size, ops.sum(soft) / size
        self.student_loss_tracker.update_state(student_loss, sample_weight=examples)
        self.distillation_loss_tracker.update_state(soft_loss, sample_weight=examples)
        alpha = self._alpha.value  # read when the step runs: a callback may have changed it
        return _replica_share(alpha * student_loss + (1.0 - alpha) * soft_loss)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        labels, _ = _inputs.split_targets(y)
        weights = _inputs.per_example_weights(sample_weight)
        if labels is not None:
            ids = sparse_labels(labels, y_pred.shape[-1], "y")
            return super().compute_metrics(x, ids, y_pred, weights)
        # No labels: the label metrics are built (a traced step may create variables only the
        # first time) but left as they were (zero weights), and not reported.
        no_examples = ops.zeros(ops.shape(y_pred)[:1])
        results = super().compute_metrics(x, ops.cast(no_examples, "int32"), y_pred, no_examples)
        skipped = set(results) - {metric.name for metric in self.metrics}
        if skipped and not self._warned_unlabelled_metrics:
            self._warned_unlabelled_metrics = True  # warned once, while Keras traces the step
            warnings.warn(
                f"The compiled metrics {sorted(skipped)} need labels, but the targets hold only "
                f"{TEACHER_LOGITS_KEY!r} (alpha=0): they are skipped. To see them, pass labels "
                f"too: `cache_teacher_logits(x, y)` or {{{LABELS_KEY!r}: y, ...}}.",
                UserWarning,
                stacklevel=2,
            )
        return {name: value for name, value in results.items() if name not in skipped}

    def cache_teacher_logits(self, x, y=None, *, batch_size: int = 256):
        """Run the teacher once over ``x`` and return targets for ``fit``/``evaluate``.

        For arrays, returns ``{"teacher_logits": (N, num_classes) float32, "labels": y}``
        (``"labels"`` only when ``y`` is given): pass it as ``y`` with the same ``x``, in the
        same order (``fit``'s shuffling keeps pairs together). For a batched
        ``tf.data.Dataset`` of ``x``, ``(x, y)`` or ``(x, y, sample_weight)`` (``y`` must be
        None), which may shuffle differently at every pass, the logits are computed in one
        pass together with their examples and a ``tf.data.Dataset`` of ``(x, targets)`` is
        returned, batched and ordered like that pass. The teacher runs with
        ``training=False``, as at every step. Probability outputs are refused. Notebook 03.
        """
        batch_size = check_int(batch_size, "batch_size", minimum=1)
        return _inputs.cache_teacher_logits(self.teacher, x, y, batch_size)

    def export_student(self, path):
        """Save the student alone, a plain Keras model, as a ``.keras`` file; return its path.

        ``~`` is expanded and parent folders are created; the path must end in ``.keras``.
        """
        path = os.path.expanduser(os.fsdecode(path))
        if not path.endswith(".keras"):
            raise ValueError(
                f"export_student() writes the Keras v3 format, so the path must end in "
                f"'.keras'; got {path!r}."
            )
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self.student.save(path)
        return path

    def get_config(self):
        config = super().get_config()
        serialize = keras.saving.serialize_keras_object
        teacher, student = serialize(self.teacher), serialize(self.student)
        return {**config, "teacher": teacher, "student": student,
                "temperature": self.temperature, "alpha": self.alpha}  # fmt: skip

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        teacher = keras.saving.deserialize_keras_object(config.pop("teacher"))
        student = keras.saving.deserialize_keras_object(config.pop("student"))
        return cls(teacher, student, **config)


# Legacy .h5 files name the class without its package ("kdtutor>"); let them load too.
keras.saving.get_custom_objects().setdefault("DistillModel", DistillModel)
