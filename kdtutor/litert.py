"""LiteRT (TensorFlow Lite): conversion, evaluation, file size and latency.

:func:`to_tflite` converts a Keras 3 model to a ``.tflite`` flatbuffer, in float32 or with
dynamic-range or full-integer (int8) quantization; :func:`tflite_predict`,
:func:`tflite_accuracy` and :func:`latency_ms` run it with the ``ai_edge_litert``
interpreter (``tf.lite.Interpreter`` is deprecated). :func:`keras_file_bytes`,
:func:`file_size` and :func:`gzip_size` measure what would be shipped. Taught in notebook 04.
"""

from __future__ import annotations

import gzip
import logging
import os
import statistics
import tempfile
import time

import keras
import numpy as np

from kdtutor._checks import check_built_model as _check_model
from kdtutor._checks import check_class_ids
from kdtutor._checks import check_int as _check_int
from kdtutor._checks import is_cloneable as _is_cloneable
from kdtutor._checks import uncompiled_copy as _uncompiled_copy
from kdtutor._quiet import known_chatter_filtered

__all__ = [
    "QUANTIZATIONS",
    "file_size",
    "gzip_size",
    "keras_file_bytes",
    "latency_ms",
    "tflite_accuracy",
    "tflite_predict",
    "to_tflite",
]

#: The values :func:`to_tflite` accepts for ``quantization``.
QUANTIZATIONS: tuple[str, ...] = ("float", "dynamic", "int8")


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


# --- LiteRT conversion ---------------------------------------------------------------------


def _calibration_samples(model, representative_data, num_calibration: int) -> np.ndarray:
    if not hasattr(representative_data, "__len__") or not hasattr(
        representative_data, "__getitem__"
    ):
        raise ValueError(
            "`representative_data` must be an array of model inputs (e.g. dataset.x_train); "
            f"got a {type(representative_data).__name__}. Collect a generator's batches first."
        )
    data = np.asarray(representative_data, dtype=np.float64)
    if not np.all(np.isfinite(data)) or np.abs(data).max(initial=0) > 1e30:
        raise ValueError(
            "`representative_data` holds NaN, infinite or huge (over 1e30) values, which the "
            "int8 calibration cannot turn into scales (the converter then returns a float "
            "model, or crashes). Pass model inputs in their usual range, e.g. dataset.x_train."
        )
    data = data.astype(np.float32)
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

    # Keras' own LiteRT export traces the model in inference mode, saves a SavedModel and
    # converts it with TFLiteConverter.from_saved_model: the path kdtutor used to write out
    # by hand (measured on a Conv/BatchNorm/Dropout net: byte-identical .tflite files for
    # float, dynamic and int8). Its default op sets add SELECT_TF_OPS, TensorFlow ops that the
    # LiteRT interpreter cannot run, so the op sets are always given: an unsupported op then
    # fails the conversion, with the converter's message, not the first inference.
    options = {"target_spec": {"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS]}}
    if quantization in ("dynamic", "int8"):
        options["optimizations"] = [tf.lite.Optimize.DEFAULT]
    if quantization == "int8":
        options.update(
            representative_dataset=lambda: ([sample[np.newaxis]] for sample in samples),
            # Only integer kernels: the conversion fails rather than leave a float op behind.
            target_spec={"supported_ops": [tf.lite.OpsSet.TFLITE_BUILTINS_INT8]},
            inference_input_type=tf.int8,
            inference_output_type=tf.int8,
        )
    with tempfile.TemporaryDirectory(prefix="kdtutor-tflite-") as directory:
        path = os.path.join(directory, "model.tflite")
        # In an interactive session (Jupyter) TensorFlow's Python logger runs at INFO and
        # the export logs "Assets written to: <temporary folder>"; keep it out of notebooks.
        # The int8 calibration prints "fully_quantize: ..." from C++ straight to stderr,
        # which Jupyter copies into the notebook: that known line is dropped, every other
        # one kept; conversion errors still arrive as Python exceptions.
        tf_logger = tf.get_logger()
        level = tf_logger.level
        tf_logger.setLevel(max(level, logging.WARNING))
        try:
            with known_chatter_filtered():
                model.export(path, format="litert", verbose=False, **options)
        finally:
            tf_logger.setLevel(level)
        with open(path, "rb") as stream:
            return stream.read()


# --- LiteRT inference ----------------------------------------------------------------------


def _interpreter(tflite_model, num_threads: int):
    from ai_edge_litert.interpreter import Interpreter

    num_threads = _check_int(num_threads, "num_threads", minimum=1)
    # The first allocation in a process prints "INFO: Created TensorFlow Lite XNNPACK
    # delegate for CPU." from C++ to stderr (see to_tflite); allocate once here, with that
    # known line dropped, so it never reaches a notebook's output.
    with known_chatter_filtered():
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

    ``x``: inputs ``(N, *input_shape)``; ``y``: integer class ids ``(N,)`` or ``(N, 1)``, or
    one-hot labels ``(N, num_classes)``, as Keras accepts them. The prediction is the argmax
    of :func:`tflite_predict`'s logits. A class id outside ``[0, num_classes)``, fractional
    or NaN raises ``ValueError`` (it would silently count as wrong, or be truncated).
    """
    logits = tflite_predict(tflite_model, x, batch_size=batch_size, num_threads=num_threads)
    y = check_class_ids(y, logits.shape[-1], "y")
    if len(y) != len(x):
        raise ValueError(
            f"`y` must hold one label per example of `x` ({len(x)}); got {len(y)} labels."
        )
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
