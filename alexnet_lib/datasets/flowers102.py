"""Oxford Flowers102 (Nilsback and Zisserman 2008): 102 kinds of flowers in colour photographs.

torchvision's layout, ``<root>/flowers-102/{jpg/image_NNNNN.jpg, imagelabels.mat, setid.mat}``,
under the same rules as Fashion-MNIST: downloaded only when allowed and the server answers,
otherwise a :class:`~alexnet_lib.data.DataNotFoundError` that names the folder and the fix at
once. Each split is decoded once into a uint8 tensor and batched by the core's
:class:`~alexnet_lib.data.BatchLoader` (:func:`flowers102_loaders`).
"""

from __future__ import annotations

import socket
from pathlib import Path

import numpy as np
import torch

from ..config import ENV_DATA, ENV_OFFLINE, get_config, is_whole_number
from ..data import BatchLoader, BatchTransform, DataLoaders, DataNotFoundError, split_sizes

FLOWERS102_HOST = "www.robots.ox.ac.uk"
# The ImageNet statistics that torchvision's pretrained models (and most Flowers102 tutorials) use.
IMAGENET_MEAN, IMAGENET_STD = (0.485, 0.456, 0.406), (0.229, 0.224, 0.225)
_SPLITS = {"train": "trnid", "val": "valid", "test": "tstid"}  # split -> its list in setid.mat


def flowers102_folder(root: str | Path | None = None) -> Path:
    """The folder that holds (or will hold) Flowers102: ``jpg/``, ``imagelabels.mat`` and ``setid.mat``.

    >>> flowers102_folder("/data").as_posix()
    '/data/flowers-102'
    """
    return (get_config().data_root if root is None else Path(root)) / "flowers-102"


def flowers102_class_names() -> tuple[str, ...]:
    """The 102 flower names in label order: torchvision's list (generic names on older torchvision).

    >>> names = flowers102_class_names()
    >>> len(names), names[0]
    (102, 'pink primrose')
    """
    from torchvision.datasets import Flowers102  # deferred: torchvision takes a second to import

    return tuple(getattr(Flowers102, "classes", None) or (f"flower {i}" for i in range(102)))


def _missing(folder: Path, reason: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"Flowers102 was not found in {folder} ({reason}).\nFix it in one of these ways:\n"
        f"  - point {ENV_DATA} at a folder that holds flowers-102/ with jpg/, imagelabels.mat and setid.mat "
        f"(for example: export {ENV_DATA}=/path/to/data);\n  - or, with internet access, call "
        f"alexnet_lib.datasets.flowers102.load_flowers102(download=True) to download it (about 330 MB) into {folder.parent}.")


def _host_reachable(host: str, timeout: float = 3.0) -> bool:
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_flowers102(root: str | Path | None = None, download: bool | None = None) -> Path:
    """Make sure Flowers102 is on disk, downloading it with torchvision if allowed; return its folder.

    As :func:`~alexnet_lib.data.ensure_fashion_mnist`: ``download=None`` downloads only when files
    are missing, ``ALEXNET_OFFLINE`` is unset and the server answers.

    >>> ensure_flowers102("/nonexistent", download=False)
    Traceback (most recent call last):
    ...
    alexnet_lib.data.DataNotFoundError: Flowers102 was not found in /nonexistent/flowers-102 (download=False). ...
    """
    cfg = get_config()
    root = cfg.data_root if root is None else Path(root)
    folder = flowers102_folder(root)
    if (folder / "jpg").is_dir() and all((folder / name).is_file() for name in ("imagelabels.mat", "setid.mat")):
        return folder
    if download is False:
        raise _missing(folder, "download=False")
    if cfg.offline:
        raise _missing(folder, f"{ENV_OFFLINE} is set, so nothing is downloaded")
    if not _host_reachable(FLOWERS102_HOST):
        raise _missing(folder, "no internet connection to download it")
    from torchvision.datasets import Flowers102  # deferred: torchvision takes a second to import

    try:
        Flowers102(root=str(root), split="train", download=True)
    except ImportError:  # scipy is missing: load_flowers102 explains
        raise
    except Exception as exc:  # network errors come in many types; all mean the same to a student
        raise _missing(folder, f"the download failed: {exc}") from exc
    return folder


def _loadmat(path: Path) -> dict:
    try:
        from scipy.io import loadmat  # optional: only Flowers102 needs it
    except ImportError as exc:
        raise ImportError(f"Flowers102 keeps its labels in MATLAB files ({path.name}), which torchvision reads with scipy; "
                          "install it with `pip install scipy`.") from exc
    return loadmat(path, squeeze_me=True)


def _check_split(split: str) -> str:
    if split not in _SPLITS:
        raise ValueError(f"split={split!r} is not a Flowers102 split; choose one of {', '.join(map(repr, _SPLITS))}.")
    return split


def flowers102_split_size(split: str = "train", root: str | Path | None = None) -> int:
    """How many images the Flowers102 ``split`` (``'train'``, ``'val'`` or ``'test'``) holds, read from ``setid.mat``."""
    folder = ensure_flowers102(root, download=False)
    return np.asarray(_loadmat(folder / "setid.mat")[_SPLITS[_check_split(split)]]).size  # a split of one is a scalar


def load_flowers102(split: str = "train", root: str | Path | None = None, size: int = 256, limit: int | None = None,
                    download: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Flowers102 images as uint8 ``(N, 3, size, size)`` and labels as int64 ``(N,)`` (0 to 101).

    Read through ``torchvision.datasets.Flowers102`` (its split lists, labels and checksums), each
    photograph decoded once, its shorter side resized to ``size`` and its centre square kept, as
    torchvision's ``Resize(size)``, ``CenterCrop(size)``, ``PILToTensor()``. ``limit`` keeps the
    split's first ``limit`` images.
    """
    from torchvision import transforms as T  # deferred: torchvision takes a second to import
    from torchvision.datasets import Flowers102  # deferred, as above

    root = get_config().data_root if root is None else Path(root)
    folder = ensure_flowers102(root, download=download)
    _check_split(split)
    if not is_whole_number(size):
        raise ValueError(f"size={size!r} should be the side in pixels of the stored images (e.g. 256).")
    try:
        dataset = Flowers102(root=str(root), split=split, download=False)
    except RuntimeError as exc:  # torchvision's "Dataset not found or corrupted"
        raise DataNotFoundError(f"Flowers102 in {folder} is incomplete or damaged ({exc}); delete the folder and "
                                "download it again with load_flowers102(download=True).") from exc
    except ImportError:
        _loadmat(folder / "setid.mat")  # raises the ImportError that says to install scipy
        raise
    n = len(dataset)
    if limit is not None and not is_whole_number(limit):
        raise ValueError(f"limit must be a positive number of images, got {limit!r}.")
    if limit is not None and limit > n:
        raise ValueError(f"limit={limit:,} asks for more {split} images than the {n:,} of Flowers102; use limit <= {n:,}.")
    to_square = T.Compose([T.Resize(size, interpolation=T.InterpolationMode.BILINEAR), T.CenterCrop(size), T.PILToTensor()])
    n = n if limit is None else limit
    images, labels = torch.empty(n, 3, size, size, dtype=torch.uint8), torch.empty(n, dtype=torch.int64)
    for i in range(n):
        image, label = dataset[i]
        images[i], labels[i] = to_square(image.convert("RGB")), int(label)
    return images, labels


def flowers102_loaders(
    batch_size: int = 64, image_size: int = 224, *, load_size: int | None = None, augment: bool = True,
    normalize: bool = True, subset: int | tuple[int | None, int | None] | None = None, train_split: str = "train",
    val_split: str = "val", test_split: str = "test", device: str | torch.device | None = None, seed: int = 0,
    root: str | Path | None = None, download: bool | None = None,
) -> DataLoaders:
    """Flowers102's training, validation and test loaders, through the same batch pipeline as Fashion-MNIST.

    Each split is stored once as ``load_size`` squares (default ``image_size × 8/7``: 256 for 224;
    :func:`load_flowers102`). Training batches are random ``image_size`` crops, half of them
    flipped (AlexNet's augmentation, Krizhevsky et al. 2012, Section 4.1), validation and test
    batches the centre crop, all normalised with the ImageNet statistics. torchvision's splits hold
    1,020 (``train``), 1,020 (``val``) and 6,149 (``test``) images; ``subset`` limits the training
    and test images, and the validation images as the training ones.
    """
    device = get_config().device if device is None else device
    ensure_flowers102(root, download=download)
    load_size = round(image_size * 8 / 7) if load_size is None else load_size
    if load_size < image_size:
        raise ValueError(f"load_size={load_size} is smaller than image_size={image_size}; crops are cut from the stored images.")
    n_train, n_test = split_sizes(subset, (flowers102_split_size(train_split, root), flowers102_split_size(test_split, root)))
    n_val = None if n_train is None else min(n_train, flowers102_split_size(val_split, root))
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if normalize else (None, None)
    transform = BatchTransform(crop=image_size, flip=augment, mean=mean, std=std)
    loaders = {}
    for name, split, n in (("train", train_split, n_train), ("val", val_split, n_val), ("test", test_split, n_test)):
        x, y = load_flowers102(split, root=root, size=load_size, limit=n, download=download)
        loaders[name] = BatchLoader(x, y, batch_size, transform, shuffle=name == "train", augment=augment and name == "train",
                                    seed=seed, device=device)
    return DataLoaders(**loaders, classes=flowers102_class_names())
