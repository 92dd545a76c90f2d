"""Fashion-MNIST from the data root: counts, contents and clear errors when it is missing."""

import shutil
import time

import numpy as np
import pytest
import torch

from alexnet_lib import data
from alexnet_lib.config import get_config
from alexnet_lib.data import DataNotFoundError, fashion_mnist_counts, fashion_mnist_folder, load_fashion_mnist


@pytest.fixture(scope="module")
def raw_folder():
    folder = fashion_mnist_folder(get_config().data_root)
    data.ensure_fashion_mnist()
    return folder


def _count_from_file_size(path, item_bytes, header_bytes):
    return (path.stat().st_size - header_bytes) // item_bytes


def test_counts_match_file_sizes(raw_folder):
    # An independent count: IDX image files are a 16-byte header plus 784 bytes per image,
    # label files an 8-byte header plus one byte per label.
    counts = fashion_mnist_counts(raw_folder.parent.parent)
    assert counts["train"] == _count_from_file_size(raw_folder / "train-images-idx3-ubyte", 784, 16)
    assert counts["test"] == _count_from_file_size(raw_folder / "t10k-labels-idx1-ubyte", 1, 8)


def test_loaded_tensors_equal_raw_bytes(raw_folder):
    images, labels = load_fashion_mnist(train=False, limit=50)
    raw = np.fromfile(raw_folder / "t10k-images-idx3-ubyte", dtype=np.uint8, count=16 + 50 * 784)[16:]
    raw_labels = np.fromfile(raw_folder / "t10k-labels-idx1-ubyte", dtype=np.uint8, count=8 + 50)[8:]
    assert images.dtype == torch.uint8 and images.shape == (50, 28, 28)
    assert labels.dtype == torch.int64
    assert np.array_equal(images.numpy().reshape(-1), raw)
    assert np.array_equal(labels.numpy(), raw_labels)


def test_limit_takes_leading_images():
    all_images, all_labels = load_fashion_mnist(train=True)
    some, some_labels = load_fashion_mnist(train=True, limit=10)
    assert torch.equal(some, all_images[:10]) and torch.equal(some_labels, all_labels[:10])


def test_limit_larger_than_the_split_is_a_clear_error():
    n = fashion_mnist_counts()["test"]
    with pytest.raises(ValueError, match=f"limit={n + 1:,} asks for more test images than the {n:,}"):
        load_fashion_mnist(train=False, limit=n + 1)
    with pytest.raises(ValueError, match="positive"):
        load_fashion_mnist(train=False, limit=0)


def test_empty_folder_offline_fails_fast_naming_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_DATA", str(tmp_path))
    monkeypatch.setenv("ALEXNET_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(DataNotFoundError) as excinfo:
        load_fashion_mnist()
    assert time.monotonic() - start < 10  # fails at once, no download attempt
    message = str(excinfo.value)
    assert str(tmp_path / "FashionMNIST" / "raw") in message
    assert "ALEXNET_DATA" in message and "doctor --download" in message


def test_no_network_gives_the_same_clear_error(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_DATA", str(tmp_path))
    monkeypatch.delenv("ALEXNET_OFFLINE", raising=False)
    monkeypatch.setattr(data, "_mirror_reachable", lambda timeout=3.0: False)
    with pytest.raises(DataNotFoundError, match="no internet connection"):
        load_fashion_mnist()


def test_failed_download_is_wrapped(tmp_path, monkeypatch):
    import torchvision.datasets

    def broken_download(self):
        raise OSError("connection reset")

    monkeypatch.setenv("ALEXNET_DATA", str(tmp_path))
    monkeypatch.delenv("ALEXNET_OFFLINE", raising=False)
    monkeypatch.setattr(data, "_mirror_reachable", lambda timeout=3.0: True)
    monkeypatch.setattr(torchvision.datasets.FashionMNIST, "download", broken_download)
    with pytest.raises(DataNotFoundError, match="the download failed: connection reset"):
        load_fashion_mnist()


def test_download_false_never_downloads(tmp_path, monkeypatch):
    monkeypatch.setattr(data, "_mirror_reachable", lambda timeout=3.0: pytest.fail("must not try the network"))
    with pytest.raises(DataNotFoundError, match="download=False"):
        load_fashion_mnist(root=tmp_path, download=False)


def test_mismatched_images_and_labels_are_reported(tmp_path, raw_folder):
    folder = tmp_path / "FashionMNIST" / "raw"
    shutil.copytree(raw_folder, folder)
    labels = folder / "t10k-labels-idx1-ubyte"
    labels.chmod(0o644)
    content = bytearray(labels.read_bytes())
    content[4:8] = (5).to_bytes(4, "big")
    labels.write_bytes(bytes(content))
    with pytest.raises(DataNotFoundError, match="damaged"):
        fashion_mnist_counts(tmp_path)
