"""Knowledge distillation: the softened softmax, the KD loss and ``DistillModel``.

The loss follows Hinton, Vinyals & Dean (2015), "Distilling the Knowledge in a
Neural Network": the student matches the teacher's *softened* class
probabilities ``softmax(logits / T)``, and the soft term is multiplied by
``T**2`` so that its gradients keep the same scale whatever the temperature.

Everything is written with ``keras.ops``, so it runs on any Keras 3 backend.
``DistillModel`` overrides ``compute_loss`` (the Keras 3 way to customise a
loss) and keeps ``model.fit``, callbacks, metrics and saving working as usual;
there is no hand-written training loop.
"""

from __future__ import annotations

import math
import os
from numbers import Real

import keras
from keras import ops

__all__ = [
    "softened_softmax",
    "distillation_loss",
    "DistillModel",
    "strip_softmax",
    "ends_in_softmax",
]

LABELS_KEY = "labels"
TEACHER_LOGITS_KEY = "teacher_logits"


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
    shape works). ``temperature`` > 0: 1 gives the ordinary softmax; larger
    values give softer distributions that reveal how the model ranks the wrong
    classes. Returns probabilities of the same shape, each row summing to 1.
    """
    temperature = _check_temperature(temperature)
    logits = ops.convert_to_tensor(logits, dtype="float32")
    return ops.softmax(ops.divide(logits, temperature), axis=-1)


def _per_example_distillation_loss(teacher_logits, student_logits, temperature: float):
    """T**2 * KL(softmax(t/T) || softmax(s/T)) for each example: shape (batch,)."""
    teacher_log_probs = ops.log_softmax(ops.divide(teacher_logits, temperature), axis=-1)
    student_log_probs = ops.log_softmax(ops.divide(student_logits, temperature), axis=-1)
    kl = ops.sum(ops.exp(teacher_log_probs) * (teacher_log_probs - student_log_probs), axis=-1)
    return (temperature**2) * kl


def distillation_loss(teacher_logits, student_logits, temperature: float):
    """Return the KD loss: the batch mean of ``T**2 * KL(p || q)``.

    ``p = softmax(teacher_logits / T)`` are the teacher's soft targets and
    ``q = softmax(student_logits / T)`` the student's softened predictions;
    both logits have shape ``(batch, num_classes)``. The ``T**2`` factor
    (Hinton et al. 2015) keeps the soft gradients' scale independent of T: the
    gradient with respect to the student logits is ``T * (q - p) / batch``.
    Computed from log-softmaxes, so it is stable for large logits. Returns a
    float32 scalar tensor (0 when the student matches the teacher).
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


def _final_softmax_layer(model) -> keras.layers.Layer | None:
    """The model's last layer if it applies a softmax, else None."""
    layers = getattr(model, "layers", None)
    if not layers:
        return None
    last = layers[-1]
    if isinstance(last, keras.layers.Softmax):
        return last
    activation = getattr(last, "activation", None)
    if activation is not None and getattr(activation, "__name__", "") == "softmax":
        return last
    return None


def ends_in_softmax(model) -> bool:
    """Return True when ``model``'s last layer applies a softmax (so it outputs probabilities).

    Detects a ``Softmax`` layer, an ``Activation("softmax")`` layer and any
    layer built with ``activation="softmax"`` (e.g. ``Dense``). Such a model
    cannot be distilled as it is: see :func:`strip_softmax`.
    """
    return _final_softmax_layer(model) is not None


def strip_softmax(model: keras.Model) -> keras.Model:
    """Return a copy of ``model`` that outputs logits instead of softmax probabilities.

    KD divides *logits* by the temperature; probabilities cannot be softened
    afterwards without first taking their log. For a Sequential or Functional
    model whose last layer is a ``Softmax``/``Activation("softmax")`` layer,
    that layer is replaced by an identity; if the last layer was built with
    ``activation="softmax"``, it is rebuilt with no activation. All weights
    are copied, so the copy's ``softmax(output)`` equals the original's output.
    A model that does not end in a softmax is returned unchanged.
    """
    last = _final_softmax_layer(model)
    if last is None:
        return model
    if not isinstance(model, keras.Sequential) and not getattr(model, "_is_graph_network", False):
        raise ValueError(
            f"strip_softmax() needs a Sequential or Functional model; got a subclassed "
            f"{type(model).__name__}. Remove the softmax in its call() and return logits."
        )

    def clone_layer(layer):
        if layer is last:
            if isinstance(last, keras.layers.Softmax | keras.layers.Activation):
                return keras.layers.Identity(name=f"{layer.name}_removed")
            config = layer.get_config()
            config["activation"] = "linear"
            return layer.__class__.from_config(config)
        return layer.__class__.from_config(layer.get_config())

    logits_model = keras.models.clone_model(model, clone_function=clone_layer)
    logits_model.set_weights(model.get_weights())
    return logits_model


def _output_shape(model):
    try:
        shape = model.output_shape
    except (AttributeError, ValueError):
        return None
    return tuple(shape) if isinstance(shape, tuple | list) else None


@keras.saving.register_keras_serializable(package="kdtutor")
class DistillModel(keras.Model):
    """Train a student to match a frozen teacher's softened outputs (Hinton et al. 2015).

    ``DistillModel(teacher, student, temperature=4.0, alpha=0.1)`` is a Keras
    model whose predictions are the student's logits. Compile it with an
    optimizer and metrics (no ``loss``: it computes its own) and ``fit`` it
    like any model. The loss on a batch is::

        alpha * CE(labels, student_logits)
        + (1 - alpha) * T**2 * KL(softmax(teacher_logits / T) || softmax(student_logits / T))

    ``alpha`` is the weight of the hard-label term (the keras.io example's
    convention; ``keras.distillation.Distiller`` calls it
    ``student_loss_weight``). Both teacher and student must output logits of
    the same shape ``(batch, num_classes)``. The teacher is frozen
    (``teacher.trainable`` is set to False) and always called with
    ``training=False``, so its dropout is off and its weights never change.

    Targets ``y`` may be integer labels ``(batch,)``, one-hot labels
    ``(batch, num_classes)``, or a dict ``{"labels": ..., "teacher_logits":
    ...}``: with cached teacher logits (see :meth:`cache_teacher_logits`) the
    teacher is not run at all during training, which makes KD cost about the
    same as training the student alone. ``"labels"`` may be left out when
    ``alpha == 0``. ``fit``/``evaluate`` report ``loss`` (the total),
    ``student_loss`` (the hard-label CE), ``distillation_loss`` (the soft term,
    with its T**2) and the compiled metrics, computed on the student's
    predictions. ``model.student`` is the trained student; see
    :meth:`export_student`.
    """

    def __init__(self, teacher, student, *, temperature=4.0, alpha=0.1, **kwargs):
        super().__init__(**kwargs)
        self._validate_models(teacher, student)
        self.teacher = teacher
        self.student = student
        # Frozen: Keras then excludes the teacher's weights from the gradients.
        self.teacher.trainable = False
        self._temperature = _check_temperature(temperature)
        self._alpha = _check_alpha(alpha)
        self.student_loss_tracker = keras.metrics.Mean(name="student_loss")
        self.distillation_loss_tracker = keras.metrics.Mean(name="distillation_loss")

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
                    f"divides the logits before the softmax. Fix: pass "
                    f"`kdtutor.strip_softmax({role})` instead (same weights, no final softmax), "
                    f"or build the last layer with no activation."
                )
        teacher_shape, student_shape = _output_shape(teacher), _output_shape(student)
        if teacher_shape is not None and student_shape is not None:
            if teacher_shape[1:] != student_shape[1:]:
                raise ValueError(
                    f"The teacher and student outputs must have the same shape, one logit per "
                    f"class; got teacher output shape {teacher_shape} and student output shape "
                    f"{student_shape}. Build both with the same `num_classes`."
                )

    # -- hyper-parameters ---------------------------------------------------------------------
    @property
    def temperature(self) -> float:
        """The distillation temperature T (> 0)."""
        return self._temperature

    @temperature.setter
    def temperature(self, value):
        self._temperature = _check_temperature(value)
        self._forget_compiled_functions()

    @property
    def alpha(self) -> float:
        """The weight of the hard-label loss, in [0, 1]."""
        return self._alpha

    @alpha.setter
    def alpha(self, value):
        self._alpha = _check_alpha(value)
        self._forget_compiled_functions()

    def _forget_compiled_functions(self):
        # The traced train/test functions baked in the old value: make fit() retrace.
        for attribute in ("train_function", "test_function"):
            if getattr(self, attribute, None) is not None:
                setattr(self, attribute, None)

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
        super().compile(optimizer=optimizer, metrics=metrics, **kwargs)

    def compile_from_config(self, config):
        # Keras skips re-compiling models whose compile() is overridden; ours only
        # refuses `loss`, so a saved model comes back compiled, optimizer state included.
        config = keras.saving.deserialize_keras_object(config)
        config.pop("loss", None)
        self.compile(**config)
        if self.built:
            self.optimizer.build(self.trainable_variables)

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

        soft = _per_example_distillation_loss(teacher_logits, student_logits, self.temperature)
        if labels is None:
            if self.alpha > 0:
                raise ValueError(
                    f"alpha={self.alpha} gives the hard-label loss a weight, but no labels were "
                    f"given. Pass labels as `y` (or under {LABELS_KEY!r}), or use alpha=0 to "
                    "distill from the teacher alone."
                )
            hard = ops.zeros_like(soft)
        elif len(labels.shape) == len(student_logits.shape):
            hard = keras.losses.categorical_crossentropy(labels, student_logits, from_logits=True)
        else:
            hard = keras.losses.sparse_categorical_crossentropy(
                labels, student_logits, from_logits=True
            )

        if sample_weight is None:
            student_loss, soft_loss = ops.mean(hard), ops.mean(soft)
        else:
            # Keras' "sum_over_batch_size": weighted sum divided by the batch size.
            weights = ops.reshape(ops.cast(sample_weight, "float32"), (-1,))
            student_loss = ops.mean(hard * weights)
            soft_loss = ops.mean(soft * weights)
        total = self.alpha * student_loss + (1.0 - self.alpha) * soft_loss
        self.student_loss_tracker.update_state(student_loss)
        self.distillation_loss_tracker.update_state(soft_loss)
        return total

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        labels, _ = self._split_targets(y)
        if self._compile_metrics is not None and labels is not None:
            self._compile_metrics.update_state(labels, y_pred, sample_weight)
        return self.get_metrics_result()

    # -- helpers ------------------------------------------------------------------------------
    def cache_teacher_logits(self, x, y=None, *, batch_size: int = 256) -> dict:
        """Run the teacher once over ``x`` and return targets for ``fit``/``evaluate``.

        Returns ``{"teacher_logits": (N, num_classes) float32, "labels": y}``
        (``"labels"`` only when ``y`` is given). Pass it as ``y`` with the same
        ``x``, in the same order; shuffling in ``fit`` keeps pairs together.
        The teacher runs with ``training=False``, exactly as it would at every
        step, so the result is the same while each epoch skips the teacher.
        """
        teacher_logits = self.teacher.predict(x, batch_size=batch_size, verbose=0)
        targets = {TEACHER_LOGITS_KEY: ops.convert_to_numpy(teacher_logits).astype("float32")}
        if y is not None:
            targets[LABELS_KEY] = y
        return targets

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
        return {
            "name": self.name,
            "trainable": self.trainable,
            "teacher": keras.saving.serialize_keras_object(self.teacher),
            "student": keras.saving.serialize_keras_object(self.student),
            "temperature": self.temperature,
            "alpha": self.alpha,
        }

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        teacher = keras.saving.deserialize_keras_object(config.pop("teacher"))
        student = keras.saving.deserialize_keras_object(config.pop("student"))
        return cls(teacher, student, **config)
