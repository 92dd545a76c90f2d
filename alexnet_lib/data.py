"""Fashion-MNIST (and Flowers102) from the configured data root, read with torchvision, with clear errors.

The files are torchvision's layout, ``<root>/FashionMNIST/raw/*-ubyte``. Where they are
missing and the internet is reachable, torchvision downloads them; where it is not, the error
says which folder was searched and how to fix it, at once, instead of hanging on a download.
Flowers102, the colour data set of many AlexNet tutorials, follows the same rules in
``<root>/flowers-102/`` (:func:`load_flowers102`). The batches a model trains on are made in
:mod:`alexnet_lib.loaders`.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import struct
from pathlib import Path
from urllib.parse import urlparse

import torch

from .basics import is_whole_number
from .config import ENV_DATA, ENV_OFFLINE, get_config

FASHION_MNIST_SIDE = 28  # pixels; Xiao, Rasul and Vollgraf 2017
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


# The sizes of the official uncompressed files: a 16-byte header and 784 bytes per image, an
# 8-byte header and one byte per label. (torchvision publishes md5s of the archives only.)
OFFICIAL_SIZES = {
    "train-images-idx3-ubyte": 47_040_016,
    "train-labels-idx1-ubyte": 60_008,
    "t10k-images-idx3-ubyte": 7_840_016,
    "t10k-labels-idx1-ubyte": 10_008,
}


class DataNotFoundError(FileNotFoundError):
    """A data set is not on disk and could not be downloaded."""


class DataDamagedError(DataNotFoundError):
    """A data file is on disk but damaged (cut short, wrong header, labels out of range).

    A subclass of :class:`DataNotFoundError`, so code that handles missing data handles this too.
    """


def fashion_mnist_folder(root: str | Path | None = None) -> Path:
    """The folder that holds (or will hold) Fashion-MNIST's raw IDX files.

    >>> fashion_mnist_folder("/data").as_posix()
    '/data/FashionMNIST/raw'
    """
    root = get_config().data_root if root is None else Path(root)
    return root / "FashionMNIST" / "raw"


def _damaged(path: Path, problem: str) -> DataDamagedError:
    """The one-sentence error for a damaged data file: what is wrong and the two fixes."""
    return DataDamagedError(
        f"{path} is damaged: {problem}; delete it and download again (`python -m alexnet_lib doctor --download`), "
        f"or point {ENV_DATA} at a good copy."
    )


def _idx_dims(path: Path, ndim: int) -> tuple[int, ...]:
    """The dimensions an IDX file of unsigned bytes declares in its header (the item count first).

    The header is a magic number (``0x0800 + ndim``: unsigned bytes, ``ndim`` dimensions),
    then one big-endian uint32 per dimension.
    """
    with path.open("rb") as f:
        header = f.read(4 + 4 * ndim)
    if len(header) < 4 + 4 * ndim:
        raise _damaged(path, f"it holds {len(header)} bytes, less than the {4 + 4 * ndim}-byte IDX header")
    magic, *dims = struct.unpack(f">{1 + ndim}I", header)
    if magic != 0x0800 + ndim:
        raise _damaged(path, f"its magic number is {magic:#010x}, not {0x0800 + ndim:#010x} (an IDX file of {ndim}-d bytes)")
    return tuple(dims)


def _check_images(path: Path) -> int:
    """The image count of an IDX image file, after checking that its size matches its header."""
    n, rows, cols = _idx_dims(path, 3)
    if (rows, cols) != (28, 28):
        raise _damaged(path, f"its header declares {rows}×{cols} images, not Fashion-MNIST's 28×28")
    expected, size = 16 + n * rows * cols, path.stat().st_size
    if size != expected:
        raise _damaged(path, f"it is {size:,} bytes but its header declares {n:,} images ({expected:,} bytes)")
    return n


def _check_labels(path: Path) -> int:
    """The label count of an IDX label file, after checking its size and that every label is a class (0 to 9)."""
    (n,) = _idx_dims(path, 1)
    labels = path.read_bytes()[8:]
    if len(labels) != n:
        raise _damaged(path, f"it is {8 + len(labels):,} bytes but its header declares {n:,} labels ({8 + n:,} bytes)")
    if labels and max(labels) >= len(CLASS_NAMES):
        first = next(i for i, label in enumerate(labels) if label >= len(CLASS_NAMES))
        raise _damaged(path, f"the label at position {first:,} is {labels[first]}, but Fashion-MNIST's classes are 0 to {len(CLASS_NAMES) - 1}")
    return n


def fashion_mnist_counts(root: str | Path | None = None) -> dict[str, int] | None:
    """Images per split found under ``root``; None if any file is missing; a DataDamagedError if any is damaged.

    The checks, cheap enough for every load: each file's magic number and size agree with its
    header, the images are 28×28, every label is a class (0 to 9) and each split has as many
    labels as images. The contents of the images are not checked here
    (:func:`verify_fashion_mnist` compares checksums where it can).

    >>> fashion_mnist_counts("/nonexistent") is None
    True
    """
    folder = fashion_mnist_folder(root)
    paths = {split: [folder / name for name in names] for split, names in _FILES.items()}
    if not all(p.is_file() for ps in paths.values() for p in ps):
        return None
    counts = {}
    for split, (images, labels) in paths.items():
        n_images, n_labels = _check_images(images), _check_labels(labels)
        if n_images != n_labels:
            raise _damaged(folder, f"{images.name} holds {n_images:,} images but {labels.name} holds {n_labels:,} labels")
        counts[split] = n_images
    return counts


def _md5(path: Path) -> str:
    digest = hashlib.md5()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _gunzip_md5(path: Path) -> str:
    """The md5 of the contents of a .gz archive, decompressed on the fly."""
    digest = hashlib.md5()
    with gzip.open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _verify_against_archive(path: Path, archive_md5: str) -> str:
    """Check ``path`` against the official archive beside it (``path`` + ``.gz``); say what was checked."""
    archive = path.with_name(path.name + ".gz")
    if not archive.is_file():
        official = path.stat().st_size == OFFICIAL_SIZES[path.name]
        return f"{path.name}: {'the official size' if official else 'not the official size (a subset)'}, no archive to check an md5"
    if _md5(archive) != archive_md5:
        raise _damaged(archive, f"its md5 is not torchvision's published {archive_md5}")
    if _gunzip_md5(archive) != _md5(path):
        raise _damaged(path, f"its contents differ from those of {archive.name}, whose md5 is torchvision's")
    return f"{path.name}: equal to {archive.name}, whose md5 is torchvision's"


def verify_fashion_mnist(root: str | Path | None = None) -> list[str]:
    """Check Fashion-MNIST thoroughly (what ``doctor`` runs); return one line per file saying what was checked.

    First the checks of :func:`fashion_mnist_counts`; then, where torchvision's download left
    the archives (``*.gz``) beside the files, the md5 of each archive is compared with
    torchvision's published one and the file with the archive's contents. The official files
    have no published md5 of their own; copies without archives (the offline subset, a
    teacher's copy) get the header, size and label checks only. Raises :class:`DataNotFoundError`
    if a file is missing, :class:`DataDamagedError` if one is damaged. Hashing the full data
    set takes about a second, so loading does not do it.

    >>> verify_fashion_mnist()[0]
    'train-images-idx3-ubyte: ...'
    """
    folder = fashion_mnist_folder(root)
    if fashion_mnist_counts(root) is None:
        raise DataNotFoundError(_missing_message(folder, "a file is missing"))
    from torchvision.datasets import FashionMNIST  # imported when needed: torchvision takes a second to import

    archives = dict(FashionMNIST.resources)  # archive name -> md5, as torchvision publishes them
    return [_verify_against_archive(folder / name, archives[name + ".gz"]) for names in _FILES.values() for name in names]


def _mirror_reachable(timeout: float = 3.0) -> bool:
    """Whether the first of torchvision's Fashion-MNIST mirrors accepts a connection."""
    from torchvision.datasets import FashionMNIST  # deferred: torchvision takes a second to import

    host = urlparse(FashionMNIST.mirrors[0]).hostname
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def _not_found_message(dataset: str, folder: Path, reason: str, holds: str, download: str) -> str:
    """What to do when ``dataset`` is not in ``folder``: point the data root at a copy, or download it."""
    return (
        f"{dataset} was not found in {folder} ({reason}).\n"
        f"Fix it in one of these ways:\n"
        f"  - point {ENV_DATA} at a folder that holds {holds} (for example: export {ENV_DATA}=/path/to/data);\n"
        f"  - or, with internet access, {download}."
    )


def _missing_message(folder: Path, reason: str) -> str:
    return _not_found_message("Fashion-MNIST", folder, reason, "FashionMNIST/raw/*-ubyte",
                              f"run `python -m alexnet_lib doctor --download` to download it into {folder.parent.parent}")


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
    from torchvision.datasets import FashionMNIST  # deferred: torchvision takes a second to import

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
    from torchvision.datasets import FashionMNIST  # deferred: torchvision takes a second to import

    ds = FashionMNIST(root=str(root), train=train, download=False)
    images, labels = ds.data, ds.targets
    if limit is not None:
        images, labels = images[:limit], labels[:limit]
    return images.contiguous(), labels.contiguous()


# Oxford Flowers102 (Nilsback and Zisserman, 2008): 102 classes of colour photographs, in
# torchvision's layout <root>/flowers-102/{jpg/image_NNNNN.jpg, imagelabels.mat, setid.mat}.
FLOWERS102_HOST = "www.robots.ox.ac.uk"
_FLOWERS_SPLITS = {"train": "trnid", "val": "valid", "test": "tstid"}


def flowers102_folder(root: str | Path | None = None) -> Path:
    """The folder that holds (or will hold) Flowers102: ``jpg/``, ``imagelabels.mat`` and ``setid.mat``.

    >>> flowers102_folder("/data").as_posix()
    '/data/flowers-102'
    """
    root = get_config().data_root if root is None else Path(root)
    return root / "flowers-102"


def flowers102_class_names() -> tuple[str, ...]:
    """The 102 flower names, in label order (torchvision's list; generic names on older torchvision).

    >>> names = flowers102_class_names()
    >>> len(names), names[0]
    (102, 'pink primrose')
    """
    from torchvision.datasets import Flowers102  # deferred: torchvision takes a second to import

    names = getattr(Flowers102, "classes", None)
    return tuple(names) if names else tuple(f"flower {i}" for i in range(102))


def _flowers_missing_message(folder: Path, reason: str) -> str:
    return _not_found_message("Flowers102", folder, reason, "flowers-102/ with jpg/, imagelabels.mat and setid.mat",
                              f"call alexnet_lib.data.load_flowers102(download=True) to download it (about 330 MB) into {folder.parent}")


def _flowers_present(folder: Path) -> bool:
    return (folder / "jpg").is_dir() and all((folder / name).is_file() for name in ("imagelabels.mat", "setid.mat"))


def _host_reachable(host: str, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_flowers102(root: str | Path | None = None, download: bool | None = None) -> Path:
    """Make sure Flowers102 is on disk (downloading it with torchvision if allowed); return its folder.

    The same rules as :func:`ensure_fashion_mnist`: ``download=None`` downloads only when the
    files are missing, ``ALEXNET_OFFLINE`` is not set and the server answers; otherwise a
    :class:`DataNotFoundError` names the folder and the fix at once.

    >>> ensure_flowers102("/nonexistent", download=False)
    Traceback (most recent call last):
    ...
    alexnet_lib.data.DataNotFoundError: Flowers102 was not found in /nonexistent/flowers-102 (download=False). ...
    """
    cfg = get_config()
    root = cfg.data_root if root is None else Path(root)
    folder = flowers102_folder(root)
    if _flowers_present(folder):
        return folder
    if download is False:
        raise DataNotFoundError(_flowers_missing_message(folder, "download=False"))
    if cfg.offline:
        raise DataNotFoundError(_flowers_missing_message(folder, f"{ENV_OFFLINE} is set, so nothing is downloaded"))
    if not _host_reachable(FLOWERS102_HOST):
        raise DataNotFoundError(_flowers_missing_message(folder, "no internet connection to download it"))
    from torchvision.datasets import Flowers102  # deferred: torchvision takes a second to import

    try:
        Flowers102(root=str(root), split="train", download=True)
    except ImportError:
        raise
    except Exception as exc:  # network errors come in many types; all mean the same to a student
        raise DataNotFoundError(_flowers_missing_message(folder, f"the download failed: {exc}")) from exc
    return folder


def _loadmat(path: Path) -> dict:
    try:
        from scipy.io import loadmat  # optional: only Flowers102 needs it
    except ImportError as exc:
        raise ImportError(
            f"Flowers102 keeps its labels in MATLAB files ({path.name}), which torchvision reads with scipy; "
            "install it with `pip install scipy`."
        ) from exc
    return loadmat(path, squeeze_me=True)


def _check_split(split: str) -> str:
    if split not in _FLOWERS_SPLITS:
        raise ValueError(f"split={split!r} is not a Flowers102 split; choose one of {', '.join(map(repr, _FLOWERS_SPLITS))}.")
    return split


def flowers102_split_size(split: str = "train", root: str | Path | None = None) -> int:
    """How many images the Flowers102 ``split`` holds (``'train'``, ``'val'`` or ``'test'``), from ``setid.mat``."""
    folder = ensure_flowers102(root, download=False)
    return len(_loadmat(folder / "setid.mat")[_FLOWERS_SPLITS[_check_split(split)]].reshape(-1))


def load_flowers102(
    split: str = "train",
    root: str | Path | None = None,
    size: int = 256,
    limit: int | None = None,
    download: bool | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Flowers102 images as uint8 ``(N, 3, size, size)`` and labels int64 ``(N,)`` (0 to 101).

    Read through ``torchvision.datasets.Flowers102`` (its split lists, labels and checksums),
    each photograph decoded once (PIL), its shorter side resized to ``size`` (bilinear,
    antialiased) and its centre square kept: torchvision's ``Resize(size)``,
    ``CenterCrop(size)``, ``PILToTensor()``. ``limit`` keeps the first ``limit`` images of the
    split, in torchvision's order.
    """
    from torchvision import transforms as T  # deferred: torchvision takes a second to import
    from torchvision.datasets import Flowers102  # deferred: torchvision takes a second to import

    root = get_config().data_root if root is None else Path(root)
    folder = ensure_flowers102(root, download=download)
    _check_split(split)
    if not is_whole_number(size):
        raise ValueError(f"size={size!r} should be the side in pixels of the stored images (e.g. 256).")
    to_square = T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BILINEAR), T.CenterCrop(size), T.PILToTensor()])
    try:
        dataset = Flowers102(root=str(root), split=split, download=False)
    except RuntimeError as exc:  # torchvision's "Dataset not found or corrupted"
        raise DataNotFoundError(
            f"Flowers102 in {folder} is incomplete or damaged ({exc}); delete the folder and download it again "
            "with load_flowers102(download=True)."
        ) from exc
    except ImportError as exc:
        _loadmat(folder / "setid.mat")  # raises the explained ImportError
        raise exc
    n = len(dataset)
    if limit is not None:
        if not is_whole_number(limit):
            raise ValueError(f"limit must be a positive number of images, got {limit!r}.")
        if limit > n:
            raise ValueError(f"limit={limit:,} asks for more {split} images than the {n:,} of Flowers102; use limit <= {n:,}.")
        n = limit
    images = torch.empty(n, 3, size, size, dtype=torch.uint8)
    labels = torch.empty(n, dtype=torch.int64)
    for i in range(n):
        image, label = dataset[i]
        images[i] = to_square(image.convert("RGB"))
        labels[i] = int(label)
    return images, labels
