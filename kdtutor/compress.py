"""Model compression for the kdtutor series: magnitude pruning, LiteRT conversion, measurement.

Distillation makes a model *smaller by design*; this module makes a trained model smaller
after the fact, so the notebooks can compare both on the same table.

Pruning. TensorFlow Model Optimization's pruning API only accepts ``tf_keras`` (Keras 2)
models, so kdtutor prunes Keras 3 models itself, the same way: zero the weights of smallest
magnitude, layer by layer, following a sparsity schedule during ``fit``
(Zhu & Gupta 2017, "To prune, or not to prune"):

- :func:`polynomial_sparsity` / :func:`constant_sparsity`: the schedules, step -> sparsity;
  :func:`polynomial_schedule` / :func:`constant_schedule` check their arguments once and
  return the callable that :class:`MagnitudePruning` takes.
- :class:`MagnitudePruning`: a Keras callback that applies the schedule during ``fit`` and
  keeps pruned weights at zero; :func:`prune_weights` prunes once, without training.
- :func:`sparsity_report`, :func:`count_nonzero_params`: what fraction is zero, per layer.
- :func:`strip_pruning`: a plain Keras copy of the pruned model, for saving and converting.

Only kernels are pruned (``Dense`` and ``Conv2D`` by default): biases and normalisation
parameters are few, and zeroing them hurts accuracy for no saving. A pruned model keeps its
shape, so its raw file is as large as before; the zeros pay off once the file is compressed
(:func:`gzip_size`) or run by a sparse-aware runtime.

LiteRT (TensorFlow Lite). :func:`to_tflite` converts a Keras 3 model to a ``.tflite``
flatbuffer, in float32 or with dynamic-range or full-integer (int8) quantization;
:func:`tflite_predict`, :func:`tflite_accuracy` and :func:`latency_ms` run it with the
``ai_edge_litert`` interpreter (``tf.lite.Interpreter`` is deprecated). :func:`keras_file_bytes`,
:func:`file_size` and :func:`gzip_size` measure what would be shipped.

Written with ``keras.ops`` and Keras callbacks; the pruning callback and the conversion are
tested with the TensorFlow backend.
"""

from __future__ import annotations

import functools
import gzip
import logging
import math
import numbers
import os
import statistics
import tempfile
import time
from collections.abc import Callable, Iterable

import keras
import numpy as np
from keras import ops

from kdtutor import _native_stderr_silenced

__all__ = [
    "PRUNABLE_LAYER_TYPES",
    "QUANTIZATIONS",
    "MagnitudePruning",
    "constant_schedule",
    "constant_sparsity",
    "count_nonzero_params",
    "file_size",
    "gzip_size",
    "keras_file_bytes",
    "latency_ms",
    "magnitude_mask",
    "polynomial_schedule",
    "polynomial_sparsity",
    "prunable_layers",
    "prune_weights",
    "sparsity_report",
    "strip_pruning",
    "tflite_accuracy",
    "tflite_predict",
    "to_tflite",
]

#: The layers whose kernels are pruned when no ``layers`` are named.
PRUNABLE_LAYER_TYPES: tuple[type, ...] = (keras.layers.Dense, keras.layers.Conv2D)

#: The values :func:`to_tflite` accepts for ``quantization``.
QUANTIZATIONS: tuple[str, ...] = ("float", "dynamic", "int8")


# --- validation ----------------------------------------------------------------------------


def _check_sparsity(value, argument: str) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0.0 <= value < 1.0:
        raise ValueError(
            f"`{argument}` must be a number in [0, 1), the fraction of weights set to zero "
            f"(e.g. 0.8 for 80 %); got {value!r}. 1 would remove every weight."
        )
    return float(value)


def _check_int(value, argument: str, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < minimum:
        raise ValueError(f"`{argument}` must be an integer >= {minimum}; got {value!r}.")
    return int(value)


def _check_model(model, function: str) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"{function}() needs a Keras 3 model (keras.Model); got {type(model).__name__}. "
            "tf_keras (Keras 2) models are not supported."
        )
    if not model.built:
        raise ValueError(
            f"{function}() needs a built model, but {model.name!r} has no weights yet. Give it "
            "a keras.Input(...) layer, or call it once on a batch, before this call."
        )


def _as_bytes(data, argument: str) -> bytes:
    if isinstance(data, bytes | bytearray | memoryview):
        return bytes(data)
    if isinstance(data, str | os.PathLike):
        with open(data, "rb") as stream:
            return stream.read()
    raise TypeError(
        f"`{argument}` must be bytes (e.g. what to_tflite() returns) or a file path; got "
        f"{type(data).__name__}."
    )


def _is_cloneable(model) -> bool:
    return isinstance(model, keras.Sequential) or getattr(model, "_is_graph_network", False)


def _uncompiled_copy(model: keras.Model) -> keras.Model:
    # Not keras.models.clone_model(): it compiles the clone like the original, and a
    # compiled model is saved with its optimizer state.
    copy = type(model).from_config(model.get_config())
    copy.set_weights(model.get_weights())
    return copy


# --- schedules -----------------------------------------------------------------------------


def _check_polynomial(initial_sparsity, final_sparsity, begin_step, end_step, frequency):
    initial_sparsity = _check_sparsity(initial_sparsity, "initial_sparsity")
    final_sparsity = _check_sparsity(final_sparsity, "final_sparsity")
    if initial_sparsity > final_sparsity:
        raise ValueError(
            f"`initial_sparsity` ({initial_sparsity}) must not exceed `final_sparsity` "
            f"({final_sparsity}): the schedule only ever prunes more. Swap them."
        )
    begin_step = _check_int(begin_step, "begin_step", minimum=0)
    end_step = _check_int(end_step, "end_step", minimum=0)
    if end_step <= begin_step:
        raise ValueError(
            f"`end_step` ({end_step}) must be greater than `begin_step` ({begin_step}); "
            "pruning ramps up between them. For one jump, use constant_sparsity()."
        )
    frequency = _check_int(frequency, "frequency", minimum=1)
    return initial_sparsity, final_sparsity, begin_step, end_step, frequency


def polynomial_sparsity(
    step: int,
    *,
    initial_sparsity: float,
    final_sparsity: float,
    begin_step: int,
    end_step: int,
    frequency: int = 1,
) -> float:
    """Return the sparsity at training step ``step`` of Zhu & Gupta's (2017) cubic schedule.

    Between ``begin_step`` (t0) and ``end_step`` (t0 + n*dt) the sparsity rises from
    ``initial_sparsity`` (s_i) to ``final_sparsity`` (s_f) as
    ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n*dt))**3``: fast at first, while many
    weights are redundant, then slowly. Steps count training batches from 0. Before
    ``begin_step`` nothing is pruned (0.0, as in TFMOT); from ``end_step`` on it is s_f.
    ``frequency`` (dt, in steps) holds the value between updates: at step t the formula is
    evaluated at the last update step ``t0 + k*frequency <= t``, and ``end_step`` is always an
    update, so s_f is reached there even when ``end_step - begin_step`` is not a multiple of
    ``frequency`` (TFMOT would then never reach it). Sparsities are fractions in [0, 1).
    """
    initial_sparsity, final_sparsity, begin_step, end_step, frequency = _check_polynomial(
        initial_sparsity, final_sparsity, begin_step, end_step, frequency
    )
    step = _check_int(step, "step", minimum=0)
    if step < begin_step:
        return 0.0
    if step >= end_step:
        return final_sparsity
    update_step = begin_step + (step - begin_step) // frequency * frequency
    remaining = 1.0 - (update_step - begin_step) / (end_step - begin_step)
    return final_sparsity + (initial_sparsity - final_sparsity) * remaining**3


def constant_sparsity(step: int, *, sparsity: float, begin_step: int = 0) -> float:
    """Return ``sparsity`` from ``begin_step`` on and 0.0 before it (one-shot pruning).

    ``step`` counts training batches from 0; ``sparsity`` is the fraction of each kernel's
    weights to zero, in [0, 1). Used with :class:`MagnitudePruning`, the weights are ranked
    once, at ``begin_step``, and training then fine-tunes the survivors with that mask fixed.
    """
    sparsity = _check_sparsity(sparsity, "sparsity")
    begin_step = _check_int(begin_step, "begin_step", minimum=0)
    step = _check_int(step, "step", minimum=0)
    return sparsity if step >= begin_step else 0.0


def polynomial_schedule(
    *,
    initial_sparsity: float,
    final_sparsity: float,
    begin_step: int,
    end_step: int,
    frequency: int = 1,
) -> Callable[[int], float]:
    """Return ``step -> polynomial_sparsity(step, ...)``, checking the arguments now.

    The same as ``functools.partial(polynomial_sparsity, ...)``, but a bad argument raises
    here rather than at the first training step. Pass the result to :class:`MagnitudePruning`.
    """
    _check_polynomial(initial_sparsity, final_sparsity, begin_step, end_step, frequency)
    return functools.partial(
        polynomial_sparsity,
        initial_sparsity=initial_sparsity,
        final_sparsity=final_sparsity,
        begin_step=begin_step,
        end_step=end_step,
        frequency=frequency,
    )


def constant_schedule(*, sparsity: float, begin_step: int = 0) -> Callable[[int], float]:
    """Return ``step -> constant_sparsity(step, ...)``, checking the arguments now.

    The same as ``functools.partial(constant_sparsity, ...)``, but a bad argument raises here
    rather than at the first training step. Pass the result to :class:`MagnitudePruning`.
    """
    _check_sparsity(sparsity, "sparsity")
    _check_int(begin_step, "begin_step", minimum=0)
    return functools.partial(constant_sparsity, sparsity=sparsity, begin_step=begin_step)


# --- masks ---------------------------------------------------------------------------------


def _num_pruned(sparsity: float, size: int) -> int:
    # Round half up, explicitly: Python's round() would send 2.5 to 2 but 3.5 to 4.
    return min(size, math.floor(sparsity * size + 0.5))


def _mask_tensor(kernel, sparsity: float):
    """A 0/1 tensor shaped like ``kernel``, with 0 at its round(sparsity * n) smallest |w|."""
    size = math.prod(kernel.shape)
    count = _num_pruned(sparsity, size)
    dtype = keras.backend.standardize_dtype(kernel.dtype)
    keep = ops.ones((size,), dtype=dtype)
    if count:
        # Ranking by index, not by a threshold, zeroes exactly `count` weights even when
        # magnitudes tie (already pruned zeros always do).
        order = ops.argsort(ops.abs(ops.reshape(kernel, (-1,))))
        keep = ops.scatter_update(
            keep, ops.expand_dims(order[:count], -1), ops.zeros((count,), dtype=dtype)
        )
    return ops.reshape(keep, tuple(kernel.shape))


def magnitude_mask(weights, sparsity: float) -> np.ndarray:
    """Return the magnitude-pruning mask of ``weights``: False for the weights to zero.

    ``weights``: array or tensor of any shape with n elements; ``sparsity`` in [0, 1). The
    mask is a bool array of the same shape, False at the ``round(sparsity * n)`` entries of
    smallest absolute value (rounding half up), True elsewhere: ``weights * mask`` is pruned.
    """
    sparsity = _check_sparsity(sparsity, "sparsity")
    weights = ops.convert_to_tensor(weights)
    return ops.convert_to_numpy(_mask_tensor(weights, sparsity)).astype(bool)


def _walk(model) -> Iterable[keras.layers.Layer]:
    for layer in model.layers:
        yield layer
        # Nested Sequential/Functional models: their layers are pruned like the outer ones.
        if isinstance(layer, keras.Model):
            yield from _walk(layer)


def prunable_layers(model: keras.Model, layers=None) -> list[keras.layers.Layer]:
    """Return the layers of ``model`` whose kernels are pruned, in model order.

    ``layers=None`` selects every ``Dense`` and ``Conv2D`` layer (:data:`PRUNABLE_LAYER_TYPES`),
    nested models included. Otherwise ``layers`` is an iterable of layer names or layer
    objects of ``model``; each must have a ``kernel`` weight (e.g. ``Conv1D`` works too).
    """
    _check_model(model, "prunable_layers")
    all_layers = [layer for layer in _walk(model) if not isinstance(layer, keras.Model)]
    if layers is None:
        chosen = [layer for layer in all_layers if isinstance(layer, PRUNABLE_LAYER_TYPES)]
    else:
        if isinstance(layers, str | keras.layers.Layer):
            layers = [layers]
        by_name = {layer.name: layer for layer in all_layers}
        chosen = []
        for item in layers:
            if isinstance(item, str):
                if item not in by_name:
                    raise ValueError(
                        f"`layers` names {item!r}, but model {model.name!r} has no layer of "
                        f"that name; its layers are {sorted(by_name)}."
                    )
                item = by_name[item]
            elif not any(item is layer for layer in all_layers):
                raise ValueError(
                    f"`layers` must hold names or layers of model {model.name!r}; got "
                    f"{item!r}, which is not one of them."
                )
            if not isinstance(getattr(item, "kernel", None), keras.Variable):
                raise ValueError(
                    f"Layer {item.name!r} ({type(item).__name__}) has no `kernel` weight to "
                    "prune; choose Dense, Conv or other layers with a kernel."
                )
            if all(item is not other for other in chosen):
                chosen.append(item)
    names = [layer.name for layer in chosen]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise ValueError(
            f"Several prunable layers are named {duplicates}; masks and reports are keyed by "
            "layer name, so give the layers of nested models distinct names."
        )
    return chosen


def prune_weights(model: keras.Model, sparsity: float, *, layers=None) -> dict[str, np.ndarray]:
    """Prune ``model`` once, in place, without training: one-shot magnitude pruning.

    In each kernel chosen by ``layers`` (see :func:`prunable_layers`; default every Dense
    and Conv2D kernel) the ``round(sparsity * n)`` weights of smallest magnitude are set to
    0. Returns the masks ``{layer name: bool array shaped like the kernel}`` (False = pruned).
    Training afterwards without :class:`MagnitudePruning` lets the zeros grow back.
    """
    sparsity = _check_sparsity(sparsity, "sparsity")
    masks = {}
    for layer in prunable_layers(model, layers):
        mask = _mask_tensor(layer.kernel, sparsity)
        layer.kernel.assign(ops.multiply(layer.kernel, mask))
        masks[layer.name] = ops.convert_to_numpy(mask).astype(bool)
    return masks


class MagnitudePruning(keras.callbacks.Callback):
    """Keras callback: prune kernels by magnitude during ``fit`` and keep them pruned.

    ``MagnitudePruning(schedule, layers=None)``; ``schedule`` maps the training step (batches
    seen by this callback, from 0, continuing across ``fit`` calls) to a sparsity in [0, 1),
    e.g. :func:`polynomial_schedule` or :func:`constant_schedule`. Whenever the scheduled
    sparsity changes, just before that step's batch, each chosen kernel (``layers``, see
    :func:`prunable_layers`; default every Dense and Conv2D) gets a new mask that zeroes its
    ``round(sparsity * n)`` smallest-magnitude weights; after every batch the masks are
    applied again, so pruned weights stay exactly zero. ``masks`` holds the current masks,
    ``sparsity`` the sparsity they were made for, ``step`` the next step; used to train
    another model, the callback starts again from step 0. Needs ``steps_per_execution=1``
    (the default) in ``compile``.
    """

    def __init__(self, schedule: Callable[[int], float], layers=None):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"`schedule` must be a callable step -> sparsity, such as "
                f"polynomial_schedule(...) or constant_schedule(...); got "
                f"{type(schedule).__name__}."
            )
        self.schedule = schedule
        self._scheduled(0)
        self.layer_selection = layers
        self.step = 0
        self.sparsity = 0.0
        self._layers: list[keras.layers.Layer] = []
        self._masks: dict = {}
        self._pruned_model = None

    def _scheduled(self, step: int) -> float:
        value = self.schedule(step)
        if isinstance(value, bool) or not isinstance(value, numbers.Real) or not 0 <= value < 1:
            raise ValueError(
                f"`schedule` must return a sparsity in [0, 1); at step {step} it returned "
                f"{value!r}."
            )
        return float(value)

    @property
    def masks(self) -> dict[str, np.ndarray]:
        """The current masks: ``{layer name: bool array shaped like its kernel}``, False = pruned.

        Empty before the first ``fit``; all True until the schedule's first non-zero sparsity.
        """
        return {name: ops.convert_to_numpy(mask).astype(bool) for name, mask in self._masks.items()}

    def _apply_masks(self) -> None:
        for layer in self._layers:
            layer.kernel.assign(ops.multiply(layer.kernel, self._masks[layer.name]))

    def on_train_begin(self, logs=None):
        steps_per_execution = getattr(self.model, "steps_per_execution", 1) or 1
        if steps_per_execution != 1:
            raise ValueError(
                f"MagnitudePruning needs compile(steps_per_execution=1); the model uses "
                f"{steps_per_execution}, so the callback would see only every "
                f"{steps_per_execution}th batch and pruned weights would train in between."
            )
        if self.model is not self._pruned_model:
            # Masks, step and sparsity belong to one model; another one starts from scratch
            # (layer names repeat between models, so masks must not be looked up by name).
            self._pruned_model, self._masks, self.step, self.sparsity = self.model, {}, 0, 0.0
        self._layers = prunable_layers(self.model, self.layer_selection)
        masks = {}
        for layer in self._layers:
            old = self._masks.get(layer.name)
            if old is not None and tuple(old.shape) == tuple(layer.kernel.shape):
                masks[layer.name] = old
            else:
                masks[layer.name] = _mask_tensor(layer.kernel, 0.0)
        self._masks = masks
        # The weights may have been changed since the last fit (e.g. loaded); re-mask them.
        self._apply_masks()

    def on_train_batch_begin(self, batch, logs=None):
        sparsity = self._scheduled(self.step)
        if sparsity != self.sparsity:
            # Ranked before this step's forward pass, as TFMOT does; the weights pruned
            # earlier are exactly zero now, so a rising schedule keeps them pruned.
            self._masks = {
                layer.name: _mask_tensor(layer.kernel, sparsity) for layer in self._layers
            }
            self.sparsity = sparsity
            self._apply_masks()

    def on_train_batch_end(self, batch, logs=None):
        # TFMOT's wrapper multiplies the kernel by the mask at the start of every training
        # step, inside the forward pass; we multiply at the end of the previous step, after
        # the optimizer. Every forward pass, and so every gradient, sees kernel * mask in both
        # cases, and the optimizer updates the same variables; only the moment of re-masking
        # differs. Masking here also leaves the weights pruned whenever anyone else looks:
        # validation, checkpoints, saving, or the end of fit().
        if self.sparsity > 0:
            self._apply_masks()
        self.step += 1


def sparsity_report(model: keras.Model, layers=None) -> dict[str, tuple[int, int, float]]:
    """Return ``{layer name: (zeros, total, fraction)}`` for the kernels that get pruned.

    ``layers`` chooses them as in :func:`prunable_layers` (default: every Dense and Conv2D
    kernel). ``zeros`` counts the kernel's entries equal to 0, ``total`` its size, and
    ``fraction = zeros / total``, the measured sparsity. Biases are not counted.
    """
    report = {}
    for layer in prunable_layers(model, layers):
        kernel = ops.convert_to_numpy(layer.kernel)
        zeros = int(kernel.size - np.count_nonzero(kernel))
        report[layer.name] = (zeros, int(kernel.size), zeros / kernel.size)
    return report


def count_nonzero_params(model: keras.Model) -> tuple[int, int]:
    """Return ``(nonzero, total)``: how many of all of ``model``'s weights are not 0.

    Counts every weight, trainable or not (kernels, biases, normalisation statistics), so
    ``total`` equals ``model.count_params()``.
    """
    _check_model(model, "count_nonzero_params")
    arrays = [ops.convert_to_numpy(weight) for weight in model.weights]
    return sum(int(np.count_nonzero(a)) for a in arrays), sum(int(a.size) for a in arrays)


def strip_pruning(model: keras.Model, pruning: MagnitudePruning | None = None) -> keras.Model:
    """Return a plain Keras copy of a pruned ``model``, with the same (zeroed) weights.

    The counterpart of TFMOT's ``strip_pruning``: ``MagnitudePruning`` adds no wrapper
    layers, so this rebuilds ``model`` (Sequential or Functional) from its config and copies
    its weights; given the ``pruning`` callback, its masks are applied to the copy once more,
    in case the weights were changed after training. The copy holds only standard Keras
    layers, so ``keras.models.load_model`` reads it back without kdtutor. It is not compiled
    (compile it to ``evaluate``), so its ``.keras`` file carries no optimizer state.
    """
    _check_model(model, "strip_pruning")
    if not _is_cloneable(model):
        raise ValueError(
            f"strip_pruning() needs a Sequential or Functional model; got a subclassed "
            f"{type(model).__name__}, which cannot be cloned. Save it as it is: no pruning "
            "wrapper needs removing."
        )
    stripped = _uncompiled_copy(model)
    if pruning is not None:
        masks = pruning.masks
        for layer in prunable_layers(stripped, list(masks)):
            layer.kernel.assign(layer.kernel * masks[layer.name].astype(layer.kernel.dtype))
    return stripped


# --- LiteRT conversion ---------------------------------------------------------------------


def _calibration_samples(model, representative_data, num_calibration: int) -> np.ndarray:
    data = np.asarray(representative_data, dtype=np.float32)
    expected = None
    inputs = getattr(model, "inputs", None)
    if inputs and len(inputs) == 1:
        expected = tuple(inputs[0].shape[1:])
    if data.ndim < 2 or not len(data) or (expected is not None and data.shape[1:] != expected):
        wanted = f"(N, {', '.join(map(str, expected))})" if expected else "(N, *input_shape)"
        raise ValueError(
            f"`representative_data` must be a batch of model inputs of shape {wanted}, e.g. "
            f"dataset.x_train; got shape {data.shape}."
        )
    if len(data) <= num_calibration:
        return data
    # A seeded random subset, so a train split sorted by class still calibrates every class.
    chosen = np.random.default_rng(0).choice(len(data), size=num_calibration, replace=False)
    return data[np.sort(chosen)]


def to_tflite(
    model: keras.Model,
    *,
    quantization: str = "float",
    representative_data=None,
    num_calibration: int = 200,
) -> bytes:
    """Convert a Keras 3 model to a LiteRT (TFLite) flatbuffer and return its bytes.

    ``quantization``: ``"float"`` keeps float32 weights and maths (the faithful baseline);
    ``"dynamic"`` stores weights as int8 (about 4x smaller) and dequantizes them at run time,
    inputs and outputs staying float32; ``"int8"`` is full-integer quantization: weights and
    activations int8, input and output tensors int8 too, with ranges calibrated on
    ``representative_data`` (required: inputs of shape ``(N, *input_shape)`` from the TRAIN
    split, of which a seeded random subset of ``num_calibration`` samples is used).
    :func:`tflite_predict` handles the int8 input/output scaling. The model is converted in
    inference mode (dropout off, batch-norm statistics frozen), with a variable batch size.
    """
    import tensorflow as tf

    _check_model(model, "to_tflite")
    if quantization not in QUANTIZATIONS:
        raise ValueError(
            f"`quantization` must be one of {', '.join(map(repr, QUANTIZATIONS))}; got "
            f"{quantization!r}."
        )
    num_calibration = _check_int(num_calibration, "num_calibration", minimum=1)
    if quantization == "int8":
        if representative_data is None:
            raise ValueError(
                "quantization='int8' needs `representative_data`: a few hundred training "
                "inputs (e.g. representative_data=dataset.x_train) to calibrate the int8 "
                "ranges of the activations. Or use quantization='dynamic', which needs none."
            )
        samples = _calibration_samples(model, representative_data, num_calibration)
    elif representative_data is not None:
        raise ValueError(
            f"`representative_data` is only used with quantization='int8'; got it with "
            f"quantization={quantization!r}. Remove it, or ask for 'int8'."
        )

    with tempfile.TemporaryDirectory(prefix="kdtutor-tflite-") as directory:
        # Export, then convert the SavedModel. With Keras 3 models,
        # from_concrete_functions() yields a model whose outputs are NaN (the weights are
        # not frozen in), and from_keras_model() goes through the same export but prints it
        # and, should the export fail, silently falls back to a legacy path. model.export()
        # traces the model in inference mode, raises when something is wrong, and is quiet.
        saved_model = os.path.join(directory, "saved_model")
        # In an interactive session (Jupyter) TensorFlow's Python logger runs at INFO and
        # the export logs "Assets written to: <temporary folder>"; keep it out of notebooks.
        tf_logger = tf.get_logger()
        level = tf_logger.level
        tf_logger.setLevel(max(level, logging.WARNING))
        try:
            model.export(saved_model, format="tf_saved_model", verbose=False)
        finally:
            tf_logger.setLevel(level)
        converter = tf.lite.TFLiteConverter.from_saved_model(saved_model)
        if quantization in ("dynamic", "int8"):
            converter.optimizations = [tf.lite.Optimize.DEFAULT]
        if quantization == "int8":
            converter.representative_dataset = lambda: ([sample[np.newaxis]] for sample in samples)
            # Only integer kernels: the conversion fails rather than leave a float op behind.
            converter.target_spec.supported_ops = [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]
            converter.inference_input_type = tf.int8
            converter.inference_output_type = tf.int8
        # The int8 calibration prints "fully_quantize: ..." from C++ straight to file
        # descriptor 2, which Jupyter copies into the notebook; conversion errors still
        # arrive as Python exceptions with the converter's message.
        with _native_stderr_silenced():
            return bytes(converter.convert())


# --- LiteRT inference ----------------------------------------------------------------------


def _interpreter(tflite_model, num_threads: int):
    from ai_edge_litert.interpreter import Interpreter

    num_threads = _check_int(num_threads, "num_threads", minimum=1)
    # The first allocation in a process prints "INFO: Created TensorFlow Lite XNNPACK
    # delegate for CPU." from C++ to file descriptor 2 (see to_tflite); allocate once here,
    # quietly, so that one-time message never reaches a notebook's output.
    with _native_stderr_silenced():
        interpreter = Interpreter(
            model_content=_as_bytes(tflite_model, "tflite_model"), num_threads=num_threads
        )
        interpreter.allocate_tensors()
    inputs, outputs = interpreter.get_input_details(), interpreter.get_output_details()
    if len(inputs) != 1 or len(outputs) != 1:
        raise ValueError(
            f"kdtutor runs models with one input and one output; this .tflite model has "
            f"{len(inputs)} inputs and {len(outputs)} outputs."
        )
    return interpreter, inputs[0], outputs[0]


def _check_batch(x, detail, argument: str) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    expected = tuple(int(d) for d in detail["shape_signature"][1:])
    matches = x.ndim == len(expected) + 1 and all(
        e in (-1, a) for e, a in zip(expected, x.shape[1:], strict=True)
    )
    if not matches:
        wanted = ", ".join("?" if d == -1 else str(d) for d in expected)
        raise ValueError(
            f"`{argument}` must be a batch of model inputs of shape (N, {wanted}); got shape "
            f"{x.shape}. A single example needs a batch axis: x[np.newaxis]."
        )
    return x


def _quantize(x: np.ndarray, detail) -> np.ndarray:
    dtype = np.dtype(detail["dtype"])
    if not np.issubdtype(dtype, np.integer):
        return x.astype(dtype)
    scale, zero_point = detail["quantization"]
    limits = np.iinfo(dtype)
    return np.clip(np.round(x / scale + zero_point), limits.min, limits.max).astype(dtype)


def _dequantize(q: np.ndarray, detail) -> np.ndarray:
    if not np.issubdtype(np.dtype(detail["dtype"]), np.integer):
        return q.astype(np.float32)
    scale, zero_point = detail["quantization"]
    return ((q.astype(np.float32) - np.float32(zero_point)) * np.float32(scale)).astype(np.float32)


def tflite_predict(tflite_model, x, *, batch_size: int = 256, num_threads: int = 1) -> np.ndarray:
    """Run a ``.tflite`` model on ``x`` with the LiteRT interpreter and return float32 outputs.

    ``tflite_model``: the bytes from :func:`to_tflite` or a path to a ``.tflite`` file.
    ``x``: float inputs of shape ``(N, *input_shape)`` (for MNIST ``(N, 28, 28, 1)`` in
    [0, 1]). For an int8 model the inputs are quantized as
    ``clip(round(x / scale + zero_point), -128, 127)`` and the int8 outputs dequantized as
    ``(q - zero_point) * scale``, with the model's own scales. Runs ``batch_size`` examples
    per call on ``num_threads`` threads; returns ``(N, num_classes)`` float32 logits.
    """
    batch_size = _check_int(batch_size, "batch_size", minimum=1)
    interpreter, input_detail, output_detail = _interpreter(tflite_model, num_threads)
    x = _check_batch(x, input_detail, "x")
    if not len(x):
        raise ValueError("`x` is empty: give at least one example, shape (N, ...) with N >= 1.")
    quantized = _quantize(x, input_detail)
    outputs, allocated = [], None
    for start in range(0, len(quantized), batch_size):
        chunk = quantized[start : start + batch_size]
        if len(chunk) != allocated:
            # Converted models have a variable batch dimension; resizing costs one allocation.
            interpreter.resize_tensor_input(input_detail["index"], chunk.shape)
            interpreter.allocate_tensors()
            allocated = len(chunk)
        interpreter.set_tensor(input_detail["index"], chunk)
        interpreter.invoke()
        outputs.append(_dequantize(interpreter.get_tensor(output_detail["index"]), output_detail))
    return np.concatenate(outputs)


def tflite_accuracy(tflite_model, x, y, *, batch_size: int = 256, num_threads: int = 1) -> float:
    """Return the accuracy, in [0, 1], of a ``.tflite`` classifier on ``(x, y)``.

    ``x``: inputs ``(N, *input_shape)``; ``y``: integer class ids ``(N,)`` or one-hot labels
    ``(N, num_classes)``. The prediction is the argmax of :func:`tflite_predict`'s logits.
    """
    y = np.asarray(y)
    if y.ndim == 2:
        y = y.argmax(axis=-1)
    if y.ndim != 1 or len(y) != len(x):
        raise ValueError(
            f"`y` must hold one label per example of `x` ({len(x)}), as class ids (N,) or "
            f"one-hot (N, num_classes); got shape {y.shape}."
        )
    logits = tflite_predict(tflite_model, x, batch_size=batch_size, num_threads=num_threads)
    return float(np.mean(logits.argmax(axis=-1) == y))


def latency_ms(
    tflite_model, x_one, *, warmup: int = 10, runs: int = 100, num_threads: int = 1
) -> float:
    """Return the median time, in milliseconds, of one batch-1 inference with LiteRT.

    ``x_one``: one input, shape ``input_shape`` or ``(1, *input_shape)``, quantized
    beforehand for int8 models. Each timed run (``time.perf_counter``) sets the input,
    invokes the interpreter and reads the output; ``warmup`` untimed runs come first (the
    first calls prepare kernels and caches). The median of ``runs`` ignores scheduling
    hiccups. Measure every model this way, float Keras models through their float
    :func:`to_tflite` conversion, so that all share one runtime.
    """
    warmup = _check_int(warmup, "warmup", minimum=0)
    runs = _check_int(runs, "runs", minimum=1)
    interpreter, input_detail, output_detail = _interpreter(tflite_model, num_threads)
    x_one = np.asarray(x_one, dtype=np.float32)
    if x_one.ndim == len(input_detail["shape_signature"]) - 1:
        x_one = x_one[np.newaxis]
    x_one = _check_batch(x_one, input_detail, "x_one")
    if len(x_one) != 1:
        raise ValueError(f"`x_one` must be a single example; got a batch of {len(x_one)}.")
    quantized = _quantize(x_one, input_detail)
    interpreter.resize_tensor_input(input_detail["index"], quantized.shape)
    interpreter.allocate_tensors()
    times = []
    for run in range(warmup + runs):
        start = time.perf_counter()
        interpreter.set_tensor(input_detail["index"], quantized)
        interpreter.invoke()
        interpreter.get_tensor(output_detail["index"])
        if run >= warmup:
            times.append(time.perf_counter() - start)
    return 1000.0 * statistics.median(times)


# --- sizes ---------------------------------------------------------------------------------


def file_size(data) -> int:
    """Return the size in bytes of ``data``: bytes, or the file at a path."""
    if isinstance(data, str | os.PathLike):
        return os.path.getsize(data)
    return len(_as_bytes(data, "data"))


def gzip_size(data) -> int:
    """Return the size in bytes of ``data`` (bytes, or a file path) after gzip at level 9.

    Compressed in memory, with the timestamp fixed, so the result is reproducible. The
    standard proxy for download size: a pruned model's runs of zeros compress well, a dense
    float32 model's weights hardly at all.
    """
    return len(gzip.compress(_as_bytes(data, "data"), compresslevel=9, mtime=0))


def keras_file_bytes(model: keras.Model, *, include_optimizer: bool = False) -> bytes:
    """Return the bytes of ``model`` saved as a ``.keras`` file: its deployable size.

    Saved to a temporary file and read back (the file is deleted). Keras 3 always writes a
    compiled model's optimizer state into the file (Adam's two moments triple it), so by
    default a compiled Sequential/Functional model is saved as an uncompiled copy with the
    same weights; ``include_optimizer=True`` saves it as it is. The ``.keras`` format is an
    uncompressed zip of the config and the weights, so its size is about 4 bytes per
    float32 weight however many are zero; see :func:`gzip_size`.
    """
    _check_model(model, "keras_file_bytes")
    if not include_optimizer and getattr(model, "optimizer", None) is not None:
        if not _is_cloneable(model):
            raise ValueError(
                f"keras_file_bytes() cannot drop the optimizer of the compiled subclassed "
                f"model {model.name!r} (it cannot be cloned). Measure the inner model that "
                "would be deployed (e.g. a DistillModel's .student), or pass "
                "include_optimizer=True to count the optimizer state too."
            )
        model = _uncompiled_copy(model)
    with tempfile.TemporaryDirectory(prefix="kdtutor-keras-") as directory:
        path = os.path.join(directory, "model.keras")
        model.save(path)
        with open(path, "rb") as stream:
            return stream.read()
