"""Knowledge distillation: the softened softmax, the KD loss and ``DistillModel``.

The loss follows Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a
Neural Network": the student matches the teacher's *softened* class
probabilities ``softmax(logits / T)``, and the soft term is multiplied by
``T**2`` so that its gradients keep the same scale whatever the temperature.
Taught in notebooks 02 (the softened softmax) and 03 (the loss and the distiller).

Everything is written with ``keras.ops``; the tests run it on the TensorFlow and
JAX backends. ``DistillModel`` overrides ``compute_loss`` (the Keras 3 way to
customise a loss) and keeps ``model.fit``, callbacks, metrics and saving working
as usual; there is no hand-written training loop.
"""

from __future__ import annotations

import math
import os
import sys
import warnings
from numbers import Real

import keras
import numpy as np
from keras import ops

from kdtutor._checks import is_cloneable, label_kind, sparse_labels

__all__ = [
    "softened_softmax",
    "distillation_loss",
    "DistillModel",
    "strip_softmax",
    "ends_in_softmax",
    "LABELS_KEY",
    "TEACHER_LOGITS_KEY",
    "MAX_TEMPERATURE",
]

LABELS_KEY = "labels"
TEACHER_LOGITS_KEY = "teacher_logits"

# Above this temperature the float32 KD loss is no longer accurate: the soft targets are
# nearly uniform, every log-probability is close to -log(num_classes), and the KL divergence
# (of order 1/T**2) is a difference of nearly equal numbers. Measured against a float64
# reference on N(0, 5**2) logits, 10 classes, 5,120 examples per temperature, the largest
# relative error of one example's loss is 7e-5 at T = 1, 3e-5 at T = 20, 6e-4 at T = 100,
# 3e-3 at T = 200, 7e-2 at T = 1,000 and 10 at T = 10,000 (batch means do a little better).
# KD uses T between 1 and 20 in practice (Hinton et al. 2015 went up to 20).
MAX_TEMPERATURE = 100.0

# How far from 1 a row of outputs may sum and still count as probabilities: a float16
# softmax (mixed precision) is off by up to about 1e-3; logits essentially never land there.
_PROBABILITY_TOLERANCE = 1e-2
# How many examples of the first batch fit() and evaluate() check for probability outputs.
_CHECKED_EXAMPLES = 32


def _check_temperature(temperature) -> float:
    if isinstance(temperature, bool) or not isinstance(temperature, Real):
        raise ValueError(
            f"`temperature` must be a positive finite number such as 4.0; got "
            f"{temperature!r} of type {type(temperature).__name__}."
        )
    if not math.isfinite(temperature) or temperature <= 0:
        raise ValueError(
            f"`temperature` must be a positive finite number such as 4.0; got {temperature!r}. "
            "T = 1 is the ordinary softmax; KD typically uses T between 2 and 20."
        )
    if temperature > MAX_TEMPERATURE:
        raise ValueError(
            f"`temperature` must be at most kdtutor.distill.MAX_TEMPERATURE = "
            f"{MAX_TEMPERATURE:g}; got {temperature!r}. Above it the soft targets are almost "
            "uniform and the float32 KD loss loses its accuracy (over 0.1 % error). KD "
            "typically uses T between 2 and 20: pass a temperature in that range."
        )
    return float(temperature)


def _check_alpha(alpha) -> float:
    if isinstance(alpha, bool) or not isinstance(alpha, Real) or not 0.0 <= alpha <= 1.0:
        raise ValueError(
            f"`alpha` is the weight of the hard-label loss and must be a number in [0, 1]; "
            f"got {alpha!r}. alpha=0 trains on the teacher's soft targets only, alpha=1 on the "
            "labels only (no distillation)."
        )
    return float(alpha)


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
    the soft gradients' scale independent of T: the gradient with respect to the
    student logits is ``T * (q - p) / batch``. Computed from log-softmaxes, so it
    is stable for large logits; ``temperature`` may be at most ``MAX_TEMPERATURE``
    (float32 accuracy). Returns a float32 scalar tensor (0 when the student
    matches the teacher). Taught in notebook 03.
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


# --- softmax outputs ----------------------------------------------------------------------------
def _applies_softmax(layer) -> bool:
    if isinstance(layer, keras.layers.Softmax):
        return True
    activation = getattr(layer, "activation", None)
    return activation is not None and getattr(activation, "__name__", "") == "softmax"


def _softmax_path(model) -> list:
    """``[model, nested model, ..., softmax layer]`` when ``model`` ends in a softmax, else [].

    Looks at ``model`` itself (a bare layer), then at its last layer, and into the last
    layer of nested models, however deep.
    """
    path, layer = [], model
    while layer is not None:
        path.append(layer)
        if _applies_softmax(layer):
            return path
        layers = getattr(layer, "layers", None)
        layer = layers[-1] if layers else None
    return []


def _final_softmax_layer(model) -> keras.layers.Layer | None:
    """The layer that applies ``model``'s final softmax, or None."""
    path = _softmax_path(model)
    return path[-1] if path else None


def ends_in_softmax(model) -> bool:
    """Return True when ``model``'s last layer applies a softmax (so it outputs probabilities).

    Detects a ``Softmax`` layer, an ``Activation("softmax")`` layer and any
    layer built with ``activation="softmax"`` (e.g. ``Dense``), also when it is
    the last layer of a nested model or ``model`` is such a layer itself. Such a
    model cannot be distilled as it is: see :func:`strip_softmax`. A softmax
    applied with ``keras.ops`` cannot be seen here; ``DistillModel`` finds it
    from the outputs instead.
    """
    return _final_softmax_layer(model) is not None


def _strippable(path) -> bool:
    """Whether strip_softmax() can rebuild the models on ``path`` (see _softmax_path)."""
    return len(path) == 1 or all(is_cloneable(model) for model in path[:-1])


def _without_softmax(layer):
    """A new layer like ``layer`` with its softmax removed (not built, no weights)."""
    if isinstance(layer, keras.layers.Softmax | keras.layers.Activation):
        return keras.layers.Identity(name=f"{layer.name}_removed")
    config = layer.get_config()
    config["activation"] = "linear"
    return layer.__class__.from_config(config)


def strip_softmax(model):
    """Return a copy of ``model`` that outputs logits instead of softmax probabilities.

    KD divides *logits* by the temperature; probabilities cannot be softened
    afterwards without first taking their log. For a Sequential or Functional
    model (nested ones included) whose last layer is a
    ``Softmax``/``Activation("softmax")`` layer, that layer is replaced by an
    identity; if the last layer was built with ``activation="softmax"``, it is
    rebuilt with no activation. A bare layer such as ``Dense(10,
    activation="softmax")`` is rebuilt the same way. All weights are copied, so
    the copy's ``softmax(output)`` equals the original's output. A model that
    does not end in a softmax is returned unchanged. Taught in notebook 03.
    """
    path = _softmax_path(model)
    if not path:
        return model
    last = path[-1]
    if not _strippable(path):
        raise ValueError(
            f"strip_softmax() needs a Sequential or Functional model; got a subclassed "
            f"{type(model).__name__}. Remove the softmax in its call() and return logits."
        )
    if last is model:
        layer = _without_softmax(model)
        if model.built:
            layer.build_from_config(model.get_build_config())
            layer.set_weights(model.get_weights())
        return layer

    def clone_layer(layer):
        if layer is last:
            return _without_softmax(layer)
        return layer.__class__.from_config(layer.get_config())

    logits_model = keras.models.clone_model(model, clone_function=clone_layer, recursive=True)
    logits_model.set_weights(model.get_weights())
    return logits_model


def _softmax_fix(role: str, model) -> str:
    path = _softmax_path(model)
    if path and _strippable(path):
        return (
            f"Fix: pass `kdtutor.strip_softmax({role})` instead (same weights, no final "
            "softmax), or build the last layer with no activation."
        )
    return (
        f"Fix: make the {role} return its logits, the values before the softmax (remove "
        "`ops.softmax(...)` or `activation='softmax'` from its call() or last layer)."
    )


def _looks_like_probabilities(outputs) -> bool:
    """True when every row of ``outputs`` is non-negative and sums to 1 (within tolerance)."""
    outputs = np.asarray(ops.convert_to_numpy(outputs), dtype=np.float64)
    if outputs.ndim == 0 or outputs.size == 0 or outputs.shape[-1] < 2:
        return False
    sums = outputs.sum(axis=-1)
    return bool(np.all(outputs >= 0) and np.all(np.abs(sums - 1.0) <= _PROBABILITY_TOLERANCE))


def _refuse_probabilities(outputs, what: str, fix: str) -> None:
    if _looks_like_probabilities(outputs):
        raise ValueError(
            f"{what} look like probabilities (every row is non-negative and sums to 1), so they "
            f"went through a softmax, but distillation needs logits: the temperature divides "
            f"the logits before the softmax. {fix}"
        )


# --- data ---------------------------------------------------------------------------------------
def _is_tf_dataset(data) -> bool:
    # Without importing TensorFlow: if it is not imported, `data` cannot be a tf.data.Dataset.
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(data, tf.data.Dataset)


def _to_numpy(structure):
    return keras.tree.map_structure(
        lambda a: None if a is None else np.asarray(ops.convert_to_numpy(a)), structure
    )


def _first_examples(x, y, count: int = _CHECKED_EXAMPLES):
    """``(x, y)`` of the first ``count`` examples fit() will see, or ``(None, None)``.

    Python generators and iterators cannot be looked at without consuming them: None.
    """
    if x is None:
        return None, None
    if _is_tf_dataset(x):
        element = next(iter(x.take(1)), None)
        if element is None:
            return None, None
        x, y, _ = keras.utils.unpack_x_y_sample_weight(element)
    elif isinstance(x, keras.utils.PyDataset):
        x, y, _ = keras.utils.unpack_x_y_sample_weight(x[0])
    elif not hasattr(x, "__getitem__"):
        return None, None

    def first(array):
        return getattr(array, "iloc", array)[:count]

    try:
        x = keras.tree.map_structure(first, x)
        y = None if y is None else keras.tree.map_structure(first, y)
    except TypeError:
        return None, None
    return x, y


def _scale_for_replicas(loss):
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


def _output_shape(model):
    try:
        shape = model.output_shape
    except (AttributeError, ValueError):
        return None
    return tuple(shape) if isinstance(shape, tuple | list) else None


@keras.saving.register_keras_serializable(package="kdtutor")
class DistillModel(keras.Model):
    """Train a student to match a frozen teacher's softened outputs (Hinton et al. 2015).

    ``DistillModel(teacher, student, temperature=8.0, alpha=0.5)`` is a Keras
    model whose predictions are the student's logits; the defaults are the
    recipe taught in notebook 03. Compile it with an optimizer and metrics (no
    ``loss``: it computes its own) and ``fit`` it like any model. The loss on a
    batch is::

        alpha * CE(labels, student_logits)
        + (1 - alpha) * T**2 * KL(softmax(teacher_logits / T) || softmax(student_logits / T))

    ``alpha`` is the weight of the hard-label term (the keras.io example's
    convention; ``keras.distillation.Distiller`` calls it
    ``student_loss_weight``). ``temperature`` (T, at most ``MAX_TEMPERATURE``)
    and ``alpha`` are held in non-trainable variables, so a callback may change
    them during ``fit`` (e.g. to anneal T). Both teacher and student must output
    logits of the same shape ``(batch, num_classes)``: a final softmax layer is
    refused here, and outputs that look like probabilities are refused when
    ``fit``/``evaluate`` start. The teacher is frozen (``teacher.trainable`` is
    set to False) and always called with ``training=False``, so its dropout is
    off and its weights never change.

    Targets ``y`` may be integer labels ``(batch,)`` or ``(batch, 1)`` (a
    pandas Series works), one-hot labels ``(batch, num_classes)``, or a dict
    ``{"labels": ..., "teacher_logits": ...}``: with cached teacher logits (see
    :meth:`cache_teacher_logits`) the teacher is not run at all during training,
    which makes KD cost about the same as training the student alone.
    ``"labels"`` may be left out when ``alpha == 0``; metrics that need labels
    are then skipped, with a warning. ``fit``/``evaluate`` report ``loss`` (the
    total), ``student_loss`` (the hard-label CE), ``distillation_loss`` (the soft
    term, with its T**2) and the compiled metrics, computed on the student's
    predictions. ``model.student`` is the trained student; see
    :meth:`export_student`.
    """

    def __init__(self, teacher, student, *, temperature=8.0, alpha=0.5, **kwargs):
        super().__init__(**kwargs)
        self._validate_models(teacher, student)
        self.teacher = teacher
        self.student = student
        # Frozen: Keras then excludes the teacher's weights from the gradients.
        self.teacher.trainable = False
        # Variables, not Python floats: the traced train step reads their current value, so
        # a callback may change them during fit() (the Keras idiom for a schedule).
        self._temperature = keras.Variable(
            _check_temperature(temperature),
            dtype="float32",
            trainable=False,
            autocast=False,
            name="temperature",
        )
        self._alpha = keras.Variable(
            _check_alpha(alpha), dtype="float32", trainable=False, autocast=False, name="alpha"
        )
        self.student_loss_tracker = keras.metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = keras.metrics.Mean(name="distillation_loss")
        self._outputs_checked = False
        self._label_metrics = None
        self._warned_label_metrics = False

    # -- validation ---------------------------------------------------------------------------
    @staticmethod
    def _validate_models(teacher, student):
        for role, model in (("teacher", teacher), ("student", student)):
            if not isinstance(model, keras.layers.Layer):
                raise ValueError(
                    f"`{role}` must be a Keras model; got {type(model).__name__}. Build it with "
                    f"kdtutor.make_{role}() or any keras.Model that outputs logits."
                )
            layer = _final_softmax_layer(model)
            if layer is not None:
                raise ValueError(
                    f"The {role} ({model.name!r}) ends in a softmax (layer {layer.name!r}), so it "
                    f"outputs probabilities, but distillation needs logits: the temperature "
                    f"divides the logits before the softmax. {_softmax_fix(role, model)}"
                )
        teacher_shape, student_shape = _output_shape(teacher), _output_shape(student)
        if teacher_shape is not None and student_shape is not None:
            if teacher_shape[1:] != student_shape[1:]:
                raise ValueError(
                    f"The teacher and student outputs must have the same shape, one logit per "
                    f"class; got teacher output shape {teacher_shape} and student output shape "
                    f"{student_shape}. Build both with the same `num_classes`."
                )

    def _check_first_batch(self, x, y):
        """Check, eagerly and on a few examples, what no layer reveals before training.

        A softmax applied with ``keras.ops`` (in a subclassed model's call(), on a
        Functional output, ...) shows only in the values, and a traced train step has
        no values. So fit() and evaluate() look at the first examples here, before
        Keras traces anything: the models' outputs once per DistillModel (they cannot
        change their nature), the targets at every call. Nothing is added to the
        training step itself.
        """
        x_sample, y_sample = _first_examples(x, y)
        if x_sample is None:
            return
        labels, cached_logits = self._split_targets(y_sample)
        if labels is None and self.alpha > 0:
            raise ValueError(
                f"alpha={self.alpha:g} gives the hard-label loss a weight, but no labels were "
                f"given. Pass labels as `y` (or under {LABELS_KEY!r}), or use alpha=0 to "
                "distill from the teacher alone."
            )
        if cached_logits is not None:
            _refuse_probabilities(
                cached_logits,
                f"The cached teacher logits (y[{TEACHER_LOGITS_KEY!r}])",
                "Fix: compute them with `cache_teacher_logits()` from a teacher that outputs "
                "logits.",
            )
        if not self._outputs_checked:
            for role, model in (("teacher", self.teacher), ("student", self.student)):
                _refuse_probabilities(
                    model(x_sample, training=False),
                    f"The {role}'s ({model.name!r}) outputs on the first batch",
                    _softmax_fix(role, model),
                )
            self._outputs_checked = True

    # -- hyper-parameters ---------------------------------------------------------------------
    @staticmethod
    def _read(variable) -> float:
        # The shortest decimal that is this float32, so 0.3 reads back as 0.3, not 0.30000001.
        return float(str(np.float32(ops.convert_to_numpy(variable))))

    @property
    def temperature(self) -> float:
        """The distillation temperature T, in (0, ``MAX_TEMPERATURE``]; may change during fit."""
        return self._read(self._temperature)

    @temperature.setter
    def temperature(self, value):
        self._temperature.assign(_check_temperature(value))

    @property
    def alpha(self) -> float:
        """The weight of the hard-label loss, in [0, 1]; may change during fit."""
        return self._read(self._alpha)

    @alpha.setter
    def alpha(self, value):
        self._alpha.assign(_check_alpha(value))

    # -- Keras API ------------------------------------------------------------------------------
    def call(self, inputs, training=None):
        return self.student(inputs, training=training)

    def build(self, input_shape=None):
        for model in (self.teacher, self.student):
            if not model.built and input_shape is not None:
                model.build(input_shape)
        self.built = True

    def compile(self, optimizer="adam", loss=None, metrics=None, **kwargs):
        """Configure training like ``keras.Model.compile``, without a ``loss``.

        The loss is fixed by ``temperature`` and ``alpha``; passing ``loss``
        raises ``ValueError``. ``metrics`` (e.g. ``["accuracy"]``) are computed
        on the student's predictions against the labels.
        """
        if loss is not None:
            raise ValueError(
                "DistillModel computes its own loss (alpha * CE + (1 - alpha) * KD); remove "
                f"`loss={loss!r}` from compile() and set `temperature`/`alpha` on the model."
            )
        self._label_metrics = metrics
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        # Keras skips re-compiling models whose compile() is overridden; ours only
        # refuses `loss`, so a saved model comes back compiled, optimizer state included.
        config = keras.saving.deserialize_keras_object(config)
        config.pop("loss", None)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

    def fit(self, x=None, y=None, *args, **kwargs):
        self._check_first_batch(x, y)
        return super().fit(x, y, *args, **kwargs)

    fit.__doc__ = keras.Model.fit.__doc__

    def evaluate(self, x=None, y=None, *args, **kwargs):
        if not kwargs.get("_use_cached_eval_dataset"):  # fit()'s validation: checked once
            self._check_first_batch(x, y)
        return super().evaluate(x, y, *args, **kwargs)

    evaluate.__doc__ = keras.Model.evaluate.__doc__

    def train_on_batch(self, x, y=None, *args, **kwargs):
        self._check_first_batch(x, y)
        return super().train_on_batch(x, y, *args, **kwargs)

    train_on_batch.__doc__ = keras.Model.train_on_batch.__doc__

    def _split_targets(self, y):
        if isinstance(y, dict):
            unknown = set(y) - {LABELS_KEY, TEACHER_LOGITS_KEY}
            if unknown:
                raise ValueError(
                    f"Unknown target keys {sorted(unknown)}: DistillModel targets are labels, or "
                    f"a dict with keys {LABELS_KEY!r} and/or {TEACHER_LOGITS_KEY!r}."
                )
            return y.get(LABELS_KEY), y.get(TEACHER_LOGITS_KEY)
        return y, None

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        labels, teacher_logits = self._split_targets(y)
        if y_pred is None:
            y_pred = self(x, training=training)
        # float32 also under mixed precision: the KL is a small difference of log-probabilities.
        student_logits = ops.cast(y_pred, "float32")
        if teacher_logits is None:
            teacher_logits = self.teacher(x, training=False)
        teacher_logits = ops.stop_gradient(ops.cast(teacher_logits, "float32"))
        if tuple(teacher_logits.shape[1:]) != tuple(student_logits.shape[1:]):
            raise ValueError(
                f"Teacher logits of shape {tuple(teacher_logits.shape)} do not match the "
                f"student's output shape {tuple(student_logits.shape)}: both need one logit per "
                "class (and cached teacher logits must come from the same examples, in order)."
            )

        soft = _per_example_distillation_loss(teacher_logits, student_logits, self._temperature)
        if labels is None:
            # alpha is 0 here: fit() and evaluate() refuse missing labels when alpha > 0 (a
            # traced step cannot read the variable's value to decide; generators go unchecked).
            hard = ops.zeros_like(soft)
        else:
            num_classes = student_logits.shape[-1]
            if label_kind(labels.shape, num_classes, "y") == "one_hot":
                hard = keras.losses.categorical_crossentropy(
                    ops.cast(labels, "float32"), student_logits, from_logits=True
                )
            else:
                hard = keras.losses.sparse_categorical_crossentropy(
                    sparse_labels(labels, num_classes, "y"), student_logits, from_logits=True
                )

        if sample_weight is None:
            student_loss, soft_loss = ops.mean(hard), ops.mean(soft)
        else:
            # Keras' "sum_over_batch_size": weighted sum divided by the batch size.
            weights = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            student_loss = ops.mean(hard * weights)
            soft_loss = ops.mean(soft * weights)
        alpha = ops.convert_to_tensor(self._alpha)
        total = alpha * student_loss + (1.0 - alpha) * soft_loss
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(soft_loss)
        return _scale_for_replicas(total)

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        labels, _ = self._split_targets(y)
        if labels is not None:
            if self._compile_metrics is not None:
                self._compile_metrics.update_state(labels, y_pred, sample_weight)
            return self.get_metrics_result()
        if self._compile_metrics is not None and not self._warned_label_metrics:
            # A Python side effect: it runs while Keras traces the step, not at every step.
            warnings.warn(
                f"The compiled metrics {self._label_metrics!r} need labels, but the targets "
                f"hold only {TEACHER_LOGITS_KEY!r} (alpha=0): they are skipped and not "
                f"reported. To see them, pass labels too: `cache_teacher_logits(x, y)` or "
                f"{{{LABELS_KEY!r}: y, {TEACHER_LOGITS_KEY!r}: ...}}.",
                UserWarning,
                stacklevel=2,
            )
            self._warned_label_metrics = True
        return self._metrics_result(include_label_metrics=False)

    def get_metrics_result(self):
        # The label metrics stay unbuilt while no batch had labels, and then have no result.
        built = self._compile_metrics is not None and self._compile_metrics.built
        return self._metrics_result(include_label_metrics=built)

    def _metrics_result(self, include_label_metrics: bool) -> dict:
        results = {}
        for metric in self.metrics:
            if metric is self._compile_metrics and not include_label_metrics:
                continue
            result = metric.result()
            if isinstance(result, dict):
                results.update(result)
            else:
                results[metric.name] = result
        return results

    # -- helpers ------------------------------------------------------------------------------
    def cache_teacher_logits(self, x, y=None, *, batch_size: int = 256):
        """Run the teacher once over ``x`` and return targets for ``fit``/``evaluate``.

        For arrays, returns ``{"teacher_logits": (N, num_classes) float32,
        "labels": y}`` (``"labels"`` only when ``y`` is given). Pass it as ``y``
        with the same ``x``, in the same order; shuffling in ``fit`` keeps pairs
        together. For a batched ``tf.data.Dataset`` of ``x`` or ``(x, y)`` (or
        ``(x, y, sample_weight)``; ``y`` must then be None), a dataset may shuffle
        differently at every pass, so the logits are computed in one pass over it
        together with the examples they belong to, and a ``tf.data.Dataset`` of
        ``(x, targets)`` is returned, batched like the first batch of that pass and
        in its order (``.unbatch().shuffle(n).batch(b)`` reshuffles it, pairs
        intact). The teacher runs with ``training=False``, exactly as it would at
        every step, so the result is the same while each epoch skips the teacher.
        Teacher outputs that look like probabilities are refused. Taught in
        notebook 03.
        """
        if _is_tf_dataset(x):
            if y is not None:
                raise ValueError(
                    "cache_teacher_logits() takes the labels from the dataset when `x` is a "
                    f"tf.data.Dataset; got `y` of type {type(y).__name__} too. Pass y=None."
                )
            return self._cache_dataset(x)
        teacher_logits = self.teacher.predict(x, batch_size=batch_size, verbose=0)
        teacher_logits = np.asarray(ops.convert_to_numpy(teacher_logits), dtype="float32")
        self._refuse_probability_logits(teacher_logits)
        targets = {TEACHER_LOGITS_KEY: teacher_logits}
        if y is not None:
            targets[LABELS_KEY] = y
        return targets

    def _refuse_probability_logits(self, teacher_logits):
        _refuse_probabilities(
            teacher_logits,
            f"The teacher's ({self.teacher.name!r}) outputs",
            _softmax_fix("teacher", self.teacher),
        )

    def _cache_dataset(self, dataset):
        import tensorflow as tf

        parts = []
        for element in dataset:
            x, y, sample_weight = _to_numpy(keras.utils.unpack_x_y_sample_weight(element))
            logits = self.teacher(x, training=False)
            logits = np.asarray(ops.convert_to_numpy(logits), dtype="float32")
            parts.append((x, y, sample_weight, logits))
        if not parts:
            raise ValueError("cache_teacher_logits() got an empty tf.data.Dataset.")

        def concatenate(*arrays):
            return np.concatenate(arrays, axis=0)

        x, y, sample_weight, logits = (
            None if column[0] is None else keras.tree.map_structure(concatenate, *column)
            for column in zip(*parts, strict=True)
        )
        self._refuse_probability_logits(logits)
        targets = {TEACHER_LOGITS_KEY: logits}
        if y is not None:
            targets[LABELS_KEY] = y
        data = (x, targets) if sample_weight is None else (x, targets, sample_weight)
        return tf.data.Dataset.from_tensor_slices(data).batch(len(parts[0][3]))

    def export_student(self, path):
        """Save the student alone as a ``.keras`` file and return its path.

        The file holds a plain Keras model (no kdtutor classes), so
        ``keras.models.load_model(path)`` works anywhere Keras 3 does. The
        path must end in ``.keras``; parent folders are created.
        """
        path = os.fspath(path)
        if not path.endswith(".keras"):
            raise ValueError(
                f"export_student() writes the Keras v3 format, so the path must end in "
                f"'.keras'; got {path!r}."
            )
        parent = os.path.dirname(path)
        if parent:
            os.makedirs(parent, exist_ok=True)
        self.student.save(path)
        return path

    # -- serialization ------------------------------------------------------------------------
    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "teacher": keras.saving.serialize_keras_object(self.teacher),
                "student": keras.saving.serialize_keras_object(self.student),
                "temperature": self.temperature,
                "alpha": self.alpha,
            }
        )
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        teacher = keras.saving.deserialize_keras_object(config.pop("teacher"))
        student = keras.saving.deserialize_keras_object(config.pop("student"))
        return cls(teacher, student, **config)
