"""Magnitude pruning for Keras 3: schedule, callback, strip, report.

Distillation makes a model *smaller by design*; pruning makes a trained model smaller after
the fact, so notebook 04 can compare both on one table.

TensorFlow Model Optimization's pruning API only accepts ``tf_keras`` (Keras 2) models, so
kdtutor prunes Keras 3 models itself, the same way: zero the weights of smallest magnitude,
layer by layer, following a sparsity schedule during ``fit`` (Zhu & Gupta 2017, "To prune,
or not to prune"):

- :class:`SparsitySchedule`: the schedule, step -> sparsity (a cubic ramp or one jump).
- :class:`MagnitudePruning`: a Keras callback that applies the schedule during ``fit`` and
  keeps pruned weights at zero; :func:`prune_weights` prunes once, without training.
- :func:`sparsity_report`, :func:`count_nonzero_params`: what fraction is zero, per layer.
- :func:`strip_pruning`: a plain Keras copy of the pruned model, for saving and converting.

Only kernels are pruned (``Dense`` and ``Conv2D`` by default): biases and normalisation
parameters are few, and zeroing them hurts accuracy for no saving. A pruned model keeps its
shape, so its raw file is as large as before; the zeros pay off once the file is compressed
(:func:`kdtutor.litert.gzip_size`) or run by a sparse-aware runtime. Taught in notebook 04.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable

import keras
import numpy as np
from keras import ops

from kdtutor._checks import check_built_model as _check_model
from kdtutor._checks import check_int as _check_int
from kdtutor._checks import check_real as _check_real
from kdtutor._checks import is_cloneable as _is_cloneable
from kdtutor._checks import uncompiled_copy as _uncompiled_copy

__all__ = [
    "PRUNABLE_LAYER_TYPES",
    "MagnitudePruning",
    "SparsitySchedule",
    "count_nonzero_params",
    "magnitude_mask",
    "prunable_layers",
    "prune_weights",
    "sparsity_report",
    "strip_pruning",
]

#: The layers whose kernels are pruned when no ``layers`` are named.
PRUNABLE_LAYER_TYPES: tuple[type, ...] = (keras.layers.Dense, keras.layers.Conv2D)


def _check_sparsity(value, argument: str) -> float:
    return _check_real(
        value,
        argument,
        low=0.0,
        high=1.0,
        high_open=True,
        hint="It is the fraction of weights set to zero (e.g. 0.8 for 80 %); 1 would remove "
        "every weight.",
    )


# --- schedules -----------------------------------------------------------------------------


class SparsitySchedule:
    """A pruning schedule: called with a training step, returns the sparsity to prune to.

    ``SparsitySchedule(final_sparsity, *, initial_sparsity=0.0, begin_step=0, end_step=None,
    frequency=1)``; ``schedule(step)`` is a float in [0, 1), the fraction of each kernel's
    weights that is zero after that step. Steps count training batches from 0. Before
    ``begin_step`` nothing is pruned (0.0). With ``end_step=None`` the schedule is constant
    (one-shot): ``final_sparsity`` from ``begin_step`` on, so :class:`MagnitudePruning` ranks
    the weights once and fine-tunes the survivors with that mask fixed. With an ``end_step``
    it is Zhu & Gupta's (2017) cubic ramp from ``initial_sparsity`` (s_i) at ``begin_step``
    (t0) to ``final_sparsity`` (s_f) at ``end_step`` (t0 + n*dt):
    ``s_t = s_f + (s_i - s_f) * (1 - (t - t0) / (n*dt))**3``, fast at first, while many
    weights are redundant, then slowly; from ``end_step`` on it is s_f. ``frequency`` (dt, in
    steps) holds the value between updates: at step t the formula is evaluated at the last
    update step ``t0 + k*frequency <= t``, and ``end_step`` is always an update, so s_f is
    reached there even when ``end_step - begin_step`` is not a multiple of ``frequency``
    (TFMOT would then never reach it). Arguments are checked here; ``get_config`` and
    ``from_config`` round-trip them. Taught in notebook 04.
    """

    def __init__(
        self,
        final_sparsity: float,
        *,
        initial_sparsity: float = 0.0,
        begin_step: int = 0,
        end_step: int | None = None,
        frequency: int = 1,
    ):
        self.final_sparsity = _check_sparsity(final_sparsity, "final_sparsity")
        self.initial_sparsity = _check_sparsity(initial_sparsity, "initial_sparsity")
        self.begin_step = _check_int(begin_step, "begin_step", minimum=0)
        self.frequency = _check_int(frequency, "frequency", minimum=1)
        if end_step is None:
            # Silently ignoring a ramp's arguments would hide a forgotten `end_step`.
            for argument, value, default in (
                ("initial_sparsity", self.initial_sparsity, 0.0),
                ("frequency", self.frequency, 1),
            ):
                if value != default:
                    raise ValueError(
                        f"`{argument}`={value!r} shapes a gradual schedule, but `end_step` is "
                        f"None, which means one jump to `final_sparsity` at `begin_step`. Give "
                        f"`end_step` for a ramp, or leave `{argument}` at {default!r}."
                    )
        else:
            end_step = _check_int(end_step, "end_step", minimum=0)
            if end_step <= self.begin_step:
                raise ValueError(
                    f"`end_step` ({end_step}) must be greater than `begin_step` "
                    f"({self.begin_step}); pruning ramps up between them. For one jump, "
                    "leave end_step=None."
                )
            if self.initial_sparsity > self.final_sparsity:
                raise ValueError(
                    f"`initial_sparsity` ({self.initial_sparsity}) must not exceed "
                    f"`final_sparsity` ({self.final_sparsity}): the schedule only ever prunes "
                    "more. Swap them."
                )
        self.end_step = end_step

    def __call__(self, step: int) -> float:
        step = _check_int(step, "step", minimum=0)
        if step < self.begin_step:
            return 0.0
        if self.end_step is None or step >= self.end_step:
            return self.final_sparsity
        update_step = self.begin_step + (step - self.begin_step) // self.frequency * self.frequency
        remaining = 1.0 - (update_step - self.begin_step) / (self.end_step - self.begin_step)
        return self.final_sparsity + (self.initial_sparsity - self.final_sparsity) * remaining**3

    def get_config(self) -> dict:
        """Return the constructor's arguments, so that ``from_config`` rebuilds the schedule."""
        return {
            "final_sparsity": self.final_sparsity,
            "initial_sparsity": self.initial_sparsity,
            "begin_step": self.begin_step,
            "end_step": self.end_step,
            "frequency": self.frequency,
        }

    @classmethod
    def from_config(cls, config: dict) -> SparsitySchedule:
        """Return the schedule that ``get_config`` described."""
        return cls(**config)

    def __repr__(self) -> str:
        config = self.get_config()
        final = config.pop("final_sparsity")
        arguments = ", ".join(f"{key}={value!r}" for key, value in config.items())
        return f"SparsitySchedule({final!r}, {arguments})"


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
        # Nested models (Sequential, Functional, DistillModel's teacher and student): their
        # layers are pruned like the outer ones.
        if isinstance(layer, keras.Model):
            yield from _walk(layer)


def _is_built(model) -> bool:
    # A subclassed model such as DistillModel is only marked built by its first training
    # step, though its sub-models, and so every kernel, usually exist long before.
    layers = list(_walk(model))
    return model.built or (bool(layers) and all(layer.built for layer in layers))


def prunable_layers(
    model: keras.Model, layers=None, *, trainable_only: bool = False
) -> list[keras.layers.Layer]:
    """Return the layers of ``model`` whose kernels are pruned, in model order.

    ``layers=None`` selects every ``Dense`` and ``Conv2D`` layer (:data:`PRUNABLE_LAYER_TYPES`),
    nested models included. Otherwise ``layers`` is an iterable of layer names or layer
    objects of ``model``; each must have a ``kernel`` weight (e.g. ``Conv1D`` works too).
    ``trainable_only=True`` keeps only the kernels that ``fit`` trains (those in
    ``model.trainable_weights``): frozen layers and frozen sub-models, such as a
    ``DistillModel``'s teacher, are left out. That is what :class:`MagnitudePruning` prunes.
    """
    if not isinstance(model, keras.Model) or not _is_built(model):
        _check_model(model, "prunable_layers")
    all_layers = [layer for layer in _walk(model) if not isinstance(layer, keras.Model)]
    frozen = []
    if trainable_only:
        trained = {id(weight) for weight in model.trainable_weights}
        frozen = [
            layer
            for layer in all_layers
            if isinstance(getattr(layer, "kernel", None), keras.Variable)
            and id(layer.kernel) not in trained
        ]
    candidates = [layer for layer in all_layers if all(layer is not f for f in frozen)]
    if layers is None:
        chosen = [layer for layer in candidates if isinstance(layer, PRUNABLE_LAYER_TYPES)]
    else:
        if isinstance(layers, str | keras.layers.Layer):
            layers = [layers]
        by_name = {layer.name: layer for layer in candidates}
        frozen_names = {layer.name for layer in frozen}
        chosen = []
        for item in layers:
            if isinstance(item, str):
                if item in frozen_names and item not in by_name:
                    raise ValueError(_frozen_message(model, item))
                if item not in by_name:
                    raise ValueError(
                        f"`layers` names {item!r}, but model {model.name!r} has no layer of "
                        f"that name; its layers are {sorted(by_name)}."
                    )
                item = by_name[item]
            elif any(item is layer for layer in frozen):
                raise ValueError(_frozen_message(model, item.name))
            elif not any(item is layer for layer in candidates):
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


def _frozen_message(model, name: str) -> str:
    return (
        f"`layers` names {name!r}, a layer of model {model.name!r} whose kernel does not train "
        "(the layer, or a model around it, has trainable=False; a DistillModel freezes its "
        "teacher). A mask on weights that do not train only damages them: leave it out, or "
        "prune it once with prune_weights()."
    )


def prune_weights(model: keras.Model, sparsity: float, *, layers=None) -> dict[str, np.ndarray]:
    """Prune ``model`` once, in place, without training: one-shot magnitude pruning.

    In each kernel chosen by ``layers`` (see :func:`prunable_layers`; default every Dense
    and Conv2D kernel, frozen ones included) the ``round(sparsity * n)`` weights of smallest
    magnitude are set to 0. Returns the masks ``{layer name: bool array shaped like the
    kernel}`` (False = pruned). Training afterwards without :class:`MagnitudePruning` lets
    the zeros grow back.
    """
    sparsity = _check_sparsity(sparsity, "sparsity")
    masks = {}
    for layer in prunable_layers(model, layers):
        mask = _mask_tensor(layer.kernel, sparsity)
        layer.kernel.assign(ops.multiply(layer.kernel, mask))
        masks[layer.name] = ops.convert_to_numpy(mask).astype(bool)
    return masks


class MagnitudePruning(keras.callbacks.Callback):
    """Keras callback: prune the trained kernels by magnitude during ``fit``, keep them pruned.

    ``MagnitudePruning(schedule, layers=None)``; ``schedule`` maps the training step (batches
    seen by this callback, from 0, continuing across ``fit`` calls) to a sparsity in [0, 1),
    e.g. a :class:`SparsitySchedule`. Whenever the scheduled sparsity changes, just before
    that step's batch, each chosen kernel gets a new mask that zeroes its
    ``round(sparsity * n)`` smallest-magnitude weights; after every batch the masks are
    applied again, so pruned weights stay exactly zero. Only kernels that ``fit`` trains are
    pruned (``prunable_layers(model, layers, trainable_only=True)``; default every trainable
    Dense and Conv2D): on a ``DistillModel`` that is the student, never the frozen teacher.
    The layers are chosen when training begins; a model that only its first training step
    builds is pruned from the end of that step. ``masks`` holds the current masks,
    ``sparsity`` the sparsity they were made for, ``step`` the next step; used to train
    another model, the callback starts again from step 0. Needs ``steps_per_execution=1``
    (the default) in ``compile``.
    """

    def __init__(self, schedule: Callable[[int], float], layers=None):
        super().__init__()
        if not callable(schedule):
            raise TypeError(
                f"`schedule` must be a callable step -> sparsity, such as "
                f"SparsitySchedule(0.8, end_step=1000); got {type(schedule).__name__}."
            )
        self.schedule = schedule
        self._scheduled(0)
        self.layer_selection = layers
        self.step = 0
        self.sparsity = 0.0
        self._layers: list[keras.layers.Layer] | None = None
        self._masks: dict = {}
        self._pruned_model = None

    def _scheduled(self, step: int) -> float:
        value = self.schedule(step)
        try:
            return _check_sparsity(value, "schedule")
        except ValueError:
            raise ValueError(
                f"`schedule` must return a sparsity in [0, 1); at step {step} it returned "
                f"{value!r}."
            ) from None

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
        self._layers = None
        if _is_built(self.model):
            self._choose_layers()

    def _choose_layers(self) -> None:
        self._layers = prunable_layers(self.model, self.layer_selection, trainable_only=True)
        if not self._layers:
            raise ValueError(
                f"MagnitudePruning found no kernel to prune in model {self.model.name!r}: no "
                "Dense or Conv2D layer of it trains (trainable=False), and `layers` named none. "
                "Set `trainable = True` on the model you mean to prune, or name its layers."
            )
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

    def _follow_schedule(self) -> None:
        sparsity = self._scheduled(self.step)
        if sparsity != self.sparsity:
            # Ranked before this step's forward pass, as TFMOT does; the weights pruned
            # earlier are exactly zero now, so a rising schedule keeps them pruned.
            self._masks = {
                layer.name: _mask_tensor(layer.kernel, sparsity) for layer in self._layers
            }
            self.sparsity = sparsity
            self._apply_masks()

    def on_train_batch_begin(self, batch, logs=None):
        if self._layers is None and _is_built(self.model):
            self._choose_layers()
        if self._layers is not None:
            self._follow_schedule()

    def on_train_batch_end(self, batch, logs=None):
        if self._layers is None:
            # The model was built by the step that just ended (no keras.Input before fit).
            self._choose_layers()
            self._follow_schedule()
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
