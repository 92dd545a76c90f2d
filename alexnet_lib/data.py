"""Fashion-MNIST from the configured data root, read with torchvision, with clear errors.

The files are torchvision's layout, ``<root>/FashionMNIST/raw/*-ubyte``. Where they are
missing and the internet is reachable, torchvision downloads them; where it is not, the error
says which folder was searched and how to fix it, at once, instead of hanging on a download.
"""

from __future__ import annotations

import socket
import struct
from pathlib import Path
from urllib.parse import urlparse

import torch

from .config import ENV_DATA, ENV_OFFLINE, get_config

CLASS_NAMES = (
    "t-shirt/top",
    "trouser",
    "pullover",
    "dress",
    "coat",
    "sandal",
    "shirt",
    "sneaker",
    "bag",
    "ankle boot",
)

_FILES = {
    "train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
    "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte"),
}


class DataNotFoundError(FileNotFoundError):
    """A data set is not on disk and could not be downloaded."""


def fashion_mnist_folder(root: str | Path | None = None) -> Path:
    """The folder that holds (or will hold) Fashion-MNIST's raw IDX files.

    >>> fashion_mnist_folder("/data").as_posix()
    '/data/FashionMNIST/raw'
    """
    root = get_config().data_root if root is None else Path(root)
    return root / "FashionMNIST" / "raw"


def _idx_count(path: Path) -> int:
    """The item count in an IDX file's header (big-endian uint32 after the magic number)."""
    with path.open("rb") as f:
        header = f.read(8)
    if len(header) < 8:
        raise DataNotFoundError(f"{path} is not an IDX file (only {len(header)} bytes); delete it and download again.")
    return struct.unpack(">I", header[4:8])[0]


def fashion_mnist_counts(root: str | Path | None = None) -> dict[str, int] | None:
    """Images per split found under ``root``, read from the file headers; None if any file is missing.

    >>> fashion_mnist_counts("/nonexistent") is None
    True
    """
    folder = fashion_mnist_folder(root)
    paths = {split: [folder / name for name in names] for split, names in _FILES.items()}
    if not all(p.is_file() for ps in paths.values() for p in ps):
        return None
    counts = {}
    for split, (images, labels) in paths.items():
        n_images, n_labels = _idx_count(images), _idx_count(labels)
        if n_images != n_labels:
            raise DataNotFoundError(
                f"{images.name} holds {n_images:,} images but {labels.name} holds {n_labels:,} labels; "
                f"the copy in {folder} is damaged: delete the folder and download again."
            )
        counts[split] = n_images
    return counts


def _mirror_reachable(timeout: float = 3.0) -> bool:
    """Whether the first of torchvision's Fashion-MNIST mirrors accepts a connection."""
    from torchvision.datasets import FashionMNIST

    host = urlparse(FashionMNIST.mirrors[0]).hostname
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _missing_message(folder: Path, reason: str) -> str:
    return (
        f"Fashion-MNIST was not found in {folder} ({reason}).\n"
        f"Fix it in one of these ways:\n"
        f"  - point {ENV_DATA} at a folder that holds FashionMNIST/raw/*-ubyte "
        f"(for example: export {ENV_DATA}=/path/to/data);\n"
        f"  - or, with internet access, run `python -m alexnet_lib doctor --download` "
        f"to download it into {folder.parent.parent}."
    )


def ensure_fashion_mnist(root: str | Path | None = None, download: bool | None = None) -> dict[str, int]:
    """Make sure Fashion-MNIST is on disk; return the image count per split.

    ``download=None`` downloads only when the files are missing, ``ALEXNET_OFFLINE`` is not
    set and torchvision's mirror answers within a few seconds. Otherwise a
    :class:`DataNotFoundError` names the folder and the fix.
    """
    cfg = get_config()
    root = cfg.data_root if root is None else Path(root)
    folder = fashion_mnist_folder(root)
    counts = fashion_mnist_counts(root)
    if counts is not None:
        return counts
    if download is False:
        raise DataNotFoundError(_missing_message(folder, "download=False"))
    if cfg.offline:
        raise DataNotFoundError(_missing_message(folder, f"{ENV_OFFLINE} is set, so nothing is downloaded"))
    if not _mirror_reachable():
        raise DataNotFoundError(_missing_message(folder, "no internet connection to download it"))
    from torchvision.datasets import FashionMNIST

    try:
        for train in (True, False):
            FashionMNIST(root=str(root), train=train, download=True)
    except Exception as exc:  # network errors come in many types; all mean the same to a student
        raise DataNotFoundError(_missing_message(folder, f"the download failed: {exc}")) from exc
    counts = fashion_mnist_counts(root)
    if counts is None:
        raise DataNotFoundError(_missing_message(folder, "the download finished but files are missing"))
    return counts


def load_fashion_mnist(
    train: bool = True,
    root: str | Path | None = None,
    limit: int | None = None,
    download: bool | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST images as a uint8 tensor ``(N, 28, 28)`` and labels as int64 ``(N,)``.

    ``limit`` keeps the first ``limit`` images of the split (the official order), so the same
    call gives the same images from the full download and from the offline subset.

    >>> images, labels = load_fashion_mnist(train=False, limit=5)
    >>> images.shape, images.dtype, labels.tolist()
    (torch.Size([5, 28, 28]), torch.uint8, [9, 2, 1, 1, 6])
    """
    root = get_config().data_root if root is None else Path(root)
    counts = ensure_fashion_mnist(root, download=download)
    split = "train" if train else "test"
    if limit is not None:
        if limit < 1:
            raise ValueError(f"limit must be a positive number of images, got {limit}.")
        if limit > counts[split]:
            raise ValueError(
                f"limit={limit:,} asks for more {split} images than the {counts[split]:,} in "
                f"{fashion_mnist_folder(root)}; use limit <= {counts[split]:,} or the full data set."
            )
    from torchvision.datasets import FashionMNIST

    ds = FashionMNIST(root=str(root), train=train, download=False)
    images, labels = ds.data, ds.targets
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images.contiguous(), labels.contiguous()
