"""Fashion-MNIST on disk (verified, found or downloaded, loaded), then made into batches on the device.

The images are held once as a ``uint8`` tensor on the training device (60,000 are 47 MB); each batch is cut from it and
transformed by a few tensor operations (:class:`BatchTransform`), not decoded image by image in processes competing for the CPU.
"""

from __future__ import annotations

import math
import socket
import struct
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
import torch.nn.functional as F

from .callbacks import resolve_device
from .config import ENV_DATA, ENV_OFFLINE, get_config, is_whole_number

FASHION_MNIST_SIDE = 28  # pixels; Xiao, Rasul and Vollgraf 2017
CLASS_NAMES = ("t-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt", "sneaker", "bag", "ankle boot")
# The mean and standard deviation of the pixels (in [0, 1]) of the 60,000 training images.
FASHION_MNIST_MEAN, FASHION_MNIST_STD = (0.2860,), (0.3530,)
_FILES = {"train": ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          "test": ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}
# The official files' sizes (torchvision publishes md5s of the archives only): headers, then 784 bytes an image, 1 a label.
OFFICIAL_SIZES = {"train-images-idx3-ubyte": 47_040_016, "train-labels-idx1-ubyte": 60_008,
                  "t10k-images-idx3-ubyte": 7_840_016, "t10k-labels-idx1-ubyte": 10_008}


class DataNotFoundError(FileNotFoundError):
    """A data set is not on disk and could not be downloaded."""


class DataDamagedError(DataNotFoundError):
    """A data file is on disk but damaged; a DataNotFoundError, so code that handles missing data handles it too."""


def fashion_mnist_folder(root: str | Path | None = None) -> Path:
    """The folder that holds (or will hold) Fashion-MNIST's raw IDX files.

    >>> fashion_mnist_folder("/data").as_posix()
    '/data/FashionMNIST/raw'
    """
    return (get_config().data_root if root is None else Path(root)) / "FashionMNIST" / "raw"


def damaged(path: Path, problem: str) -> DataDamagedError:
    return DataDamagedError(f"{path} is damaged: {problem}; delete it and download again "
                            f"(`python -m alexnet_lib doctor --download`), or point {ENV_DATA} at a good copy.")


def missing(folder: Path, reason: str) -> DataNotFoundError:
    return DataNotFoundError(
        f"Fashion-MNIST was not found in {folder} ({reason}).\nFix it in one of these ways:\n"
        f"  - point {ENV_DATA} at a folder that holds FashionMNIST/raw/*-ubyte (for example: export {ENV_DATA}=/path/to/data);\n"
        f"  - or, with internet access, run `python -m alexnet_lib doctor --download` to download it into {folder.parent.parent}.")


def _idx_dims(path: Path, ndim: int, items: str) -> tuple[int, ...]:
    """The dimensions an IDX file declares (the first counts ``items``), once its magic number and size agree with them."""
    size = 4 + 4 * ndim
    with path.open("rb") as f:
        header = f.read(size)
    if len(header) < size:
        raise damaged(path, f"it holds {len(header)} bytes, less than the {size}-byte IDX header")
    magic, *dims = struct.unpack(f">{1 + ndim}I", header)  # big-endian uint32s; then a byte per value
    if magic != 0x0800 + ndim:
        raise damaged(path, f"its magic number is {magic:#010x}, not {0x0800 + ndim:#010x} (an IDX file of {ndim}-d bytes)")
    if (actual := path.stat().st_size) != (declared := size + math.prod(dims)):
        raise damaged(path, f"it is {actual:,} bytes but its header declares {dims[0]:,} {items} ({declared:,} bytes)")
    return tuple(dims)


def fashion_mnist_counts(root: str | Path | None = None) -> dict[str, int] | None:
    """Images per split under ``root``, after checks cheap enough for every load (headers and sizes agree, images are
    28×28, one label each, a class); None if a file is missing; a :class:`DataDamagedError` if one is damaged.

    >>> fashion_mnist_counts("/nonexistent") is None
    True
    """
    folder = fashion_mnist_folder(root)
    if not all((folder / name).is_file() for name in OFFICIAL_SIZES):
        return None
    counts = {}
    for split, (images, labels) in _FILES.items():
        images, labels = folder / images, folder / labels
        n, rows, cols = _idx_dims(images, 3, "images")
        if (rows, cols) != (FASHION_MNIST_SIDE, FASHION_MNIST_SIDE):
            raise damaged(images, f"its header declares {rows}×{cols} images, not Fashion-MNIST's 28×28")
        (m,) = _idx_dims(labels, 1, "labels")
        if (values := labels.read_bytes()[8:]) and max(values) >= len(CLASS_NAMES):
            first = next(i for i, label in enumerate(values) if label >= len(CLASS_NAMES))
            raise damaged(labels, f"the label at position {first:,} is {values[first]}, but Fashion-MNIST's classes are 0 to 9")
        if n != m:
            raise damaged(folder, f"{images.name} holds {n:,} images but {labels.name} holds {m:,} labels")
        counts[split] = n
    return counts


def _mirror_reachable(timeout: float = 3.0) -> bool:
    """Whether the first of torchvision's Fashion-MNIST mirrors accepts a connection."""
    from torchvision.datasets import FashionMNIST  # deferred: torchvision takes a second to import

    try:
        with socket.create_connection((urlparse(FashionMNIST.mirrors[0]).hostname, 443), timeout=timeout):
            return True
    except OSError:
        return False


def ensure_fashion_mnist(root: str | Path | None = None, download: bool | None = None) -> dict[str, int]:
    """Make sure Fashion-MNIST is on disk; return the images per split. Missing files are downloaded unless
    ``download=False``, ``ALEXNET_OFFLINE`` is set or torchvision's mirror does not answer within seconds.

    >>> ensure_fashion_mnist("/nonexistent", download=False)
    Traceback (most recent call last):
    alexnet_lib.data.DataNotFoundError: Fashion-MNIST was not found in /nonexistent/FashionMNIST/raw (download=False). ...
    """
    folder = fashion_mnist_folder(root)
    if (counts := fashion_mnist_counts(root)) is not None:
        return counts
    if download is False:
        raise missing(folder, "download=False")
    if get_config().offline:
        raise missing(folder, f"{ENV_OFFLINE} is set, so nothing is downloaded")
    if not _mirror_reachable():
        raise missing(folder, "no internet connection to download it")
    from torchvision.datasets import FashionMNIST  # deferred: torchvision takes a second to import

    try:
        FashionMNIST(root=str(folder.parent.parent), download=True)  # both splits, into <root>/FashionMNIST/raw
    except Exception as exc:  # network errors come in many types; all mean the same to a student
        raise missing(folder, f"the download failed: {exc}") from exc
    if (counts := fashion_mnist_counts(root)) is None:
        raise missing(folder, "the download finished but files are missing")
    return counts


def load_fashion_mnist(train: bool = True, root: str | Path | None = None, limit: int | None = None,
                       download: bool | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """Fashion-MNIST's images as uint8 ``(N, 28, 28)`` and labels as int64 ``(N,)``: the split's first ``limit``, in the
    official order, so the full download and the offline subset give the same images.

    >>> images, labels = load_fashion_mnist(train=False, limit=5)
    >>> images.shape, images.dtype, labels.tolist()
    (torch.Size([5, 28, 28]), torch.uint8, [9, 2, 1, 1, 6])
    """
    split = "train" if train else "test"
    n = ensure_fashion_mnist(root, download=download)[split]
    if limit is not None and not 1 <= limit <= n:
        raise ValueError(f"limit must be a positive number of images, got {limit}." if limit < 1 else
                         f"limit={limit:,} asks for more {split} images than the {n:,} in {fashion_mnist_folder(root)}; "
                         f"use limit <= {n:,} or the full data set.")
    images, labels = ((fashion_mnist_folder(root) / name).read_bytes() for name in _FILES[split])
    pixels = torch.frombuffer(bytearray(images), dtype=torch.uint8)[16:]  # after a 16-byte header, a byte per pixel
    return pixels.view(n, FASHION_MNIST_SIDE, FASHION_MNIST_SIDE)[:limit].clone(), torch.tensor(list(labels[8:][:limit]))


@dataclass(frozen=True)
class BatchTransform:
    """What a uint8 batch ``(N, C, H, W)`` goes through on its way to the model, as torchvision's per-image transforms.

    In order, each skipped when None: to float in [0, 1]; ``resize`` the shorter side (bilinear, antialiased); ``crop``,
    in training at random after zero-``padding``, else at the centre; ``flip`` half the training images; repeat a grey
    channel to ``channels``; normalise by ``mean`` and ``std`` (one per channel).

    >>> x = BatchTransform(resize=4, mean=(0.5,), std=(0.5,))(torch.full((2, 1, 2, 2), 255, dtype=torch.uint8))
    >>> x.shape, x.max().item()
    (torch.Size([2, 1, 4, 4]), 1.0)
    """

    resize: int | None = None
    crop: int | None = None
    padding: int = 0
    flip: bool = False
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    channels: int | None = None

    def __post_init__(self) -> None:
        for name, pixels, minimum in (("resize", self.resize, 1), ("crop", self.crop, 1), ("padding", self.padding, 0)):
            if pixels is not None and not is_whole_number(pixels, minimum=minimum):
                raise ValueError(f"{name}={pixels!r} should be a whole number of pixels >= {minimum}.")
        if self.padding and self.crop is None:
            raise ValueError(f"padding={self.padding} pads before a random crop; give crop too (e.g. crop=28 for 28×28 images).")
        if (self.mean is None) != (self.std is None):
            raise ValueError(f"give both mean and std to normalise, or neither (got mean={self.mean}, std={self.std}).")
        if self.std is not None and min(self.std) <= 0:
            raise ValueError(f"std={self.std} must be positive: it divides the pixel values.")
        if self.channels not in (None, 1, 3):
            raise ValueError(f"channels={self.channels!r} should be 1 (grey) or 3 (the grey channel repeated for colour models).")

    def __call__(self, images: torch.Tensor, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
        """The float32 batch made of ``images`` ``(N, C, H, W)`` or ``(N, H, W)``; ``train`` crops at random and flips,
        drawing from ``generator``, a CPU generator, so that its state gives the same batch on every device."""
        x = images.unsqueeze(1) if images.dim() == 3 else images
        if x.dim() != 4:
            raise ValueError(f"images should be shaped (N, C, H, W) or (N, H, W); got {tuple(images.shape)}.")
        x = x.float().div_(255) if x.dtype == torch.uint8 else x.float()
        if self.resize is not None:
            h, w = x.shape[-2:]  # the shorter side becomes `resize`; the longer is truncated, as torchvision does
            size = (self.resize, int(self.resize * w / h)) if h <= w else (int(self.resize * h / w), self.resize)
            if size != (h, w):
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        c, p = self.crop, self.padding
        if c is not None and train:  # each image its own window, after zero-padding
            x = F.pad(x, (p, p, p, p)) if p else x
            n, _, h, w = x.shape
            if c > h or c > w:
                raise ValueError(f"crop={c} is larger than the {h}×{w} images (after padding {p}); resize them first.")
            top = torch.randint(0, h - c + 1, (n,), generator=generator)
            left = torch.randint(0, w - c + 1, (n,), generator=generator)
            x = (_slice_crops if x.device.type == "cpu" else _gather_crops)(x, top, left, c, c)  # slices are cheaper on a CPU
        elif c is not None:  # at the centre, as torchvision: zero-padded first if too small, and its rounding
            pad_h, pad_w = max(c - x.shape[-2], 0), max(c - x.shape[-1], 0)
            x = F.pad(x, (pad_w // 2, (pad_w + 1) // 2, pad_h // 2, (pad_h + 1) // 2)) if pad_h or pad_w else x
            top, left = int(round((x.shape[-2] - c) / 2.0)), int(round((x.shape[-1] - c) / 2.0))
            x = x[..., top : top + c, left : left + c]
        if train and self.flip:
            flip = torch.rand(len(x), generator=generator) < 0.5
            x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(-1), x)
        if self.channels is not None and x.shape[1] != self.channels:
            if x.shape[1] != 1:
                raise ValueError(f"cannot make {self.channels} channels of {x.shape[1]}; only a grey channel is repeated.")
            x = x.expand(-1, self.channels, -1, -1)
        if self.mean is not None:
            mean, std = (torch.tensor(v, device=x.device).view(1, -1, 1, 1) for v in (self.mean, self.std))
            if mean.shape[1] not in (1, x.shape[1]):
                raise ValueError(f"mean has {mean.shape[1]} values for images with {x.shape[1]} channels; give one per channel.")
            x = x.sub(mean).div_(std)
        return x.contiguous()



def _slice_crops(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, th: int, tw: int) -> torch.Tensor:
    """Image i's ``th × tw`` window at ``(top[i], left[i])``, one slice per image."""
    return torch.stack([x[i, :, t : t + th, l : l + tw] for i, (t, l) in enumerate(zip(top.tolist(), left.tolist()))])


def _gather_crops(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, th: int, tw: int) -> torch.Tensor:
    """The windows of :func:`_slice_crops` in one indexing operation (no launch per image on a GPU)."""
    rows = (top.to(x.device)[:, None] + torch.arange(th, device=x.device))[:, :, None]  # (N, th, 1)
    cols = (left.to(x.device)[:, None] + torch.arange(tw, device=x.device))[:, None, :]  # (N, 1, tw)
    batch = torch.arange(len(x), device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # (N, th, tw, C) -> (N, C, th, tw)


class BatchLoader:
    """``(X, y)`` batches cut from images held in one uint8 tensor, each through a :class:`BatchTransform`.

    ``images`` and ``labels`` move once to ``device`` (default: where they are); ``augment`` applies the random crop and
    flip; ``shuffle`` draws pass k's order from ``seed`` and k (:meth:`set_epoch` sets k, as ``DistributedSampler``'s does).

    >>> images, labels = torch.zeros(10, 28, 28, dtype=torch.uint8), torch.arange(10)
    >>> runs = [[y.tolist() for _, y in BatchLoader(images, labels, 4, shuffle=True, seed=1)] for run in range(2)]
    >>> runs[0] == runs[1], len(runs[0])
    (True, 3)
    """

    def __init__(self, images: torch.Tensor, labels: torch.Tensor, batch_size: int, transform: BatchTransform | None = None, *,
                 shuffle: bool = False, augment: bool = False, seed: int = 0, device: str | torch.device | None = None) -> None:
        if not is_whole_number(batch_size):
            raise ValueError(f"batch_size={batch_size!r} should be a whole number of images >= 1.")
        images = images.unsqueeze(1) if images.dim() == 3 else images
        if images.dim() != 4 or images.dtype != torch.uint8:
            raise ValueError(f"images should be uint8, (N, H, W) or (N, C, H, W); got {images.dtype} {tuple(images.shape)}.")
        if labels.shape != (len(images),):
            raise ValueError(f"{len(images):,} images but labels of shape {tuple(labels.shape)}; give one label per image.")
        device = images.device if device is None else resolve_device(device)  # a clear error for an absent device
        self.images, self.labels = images.to(device), labels.to(device=device, dtype=torch.int64)
        self.batch_size, self.transform = batch_size, BatchTransform() if transform is None else transform
        self.shuffle, self.augment, self.seed, self.epoch = shuffle, augment, seed, 0

    def __len__(self) -> int:
        return math.ceil(len(self.images) / self.batch_size)

    def set_epoch(self, epoch: int, seed: int | None = None) -> None:
        """Make the next pass the ``epoch``-th (its order and augmentation), with a new ``seed`` if one is given."""
        self.epoch, self.seed = int(epoch), self.seed if seed is None else int(seed)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        # one generator per (seed, pass): the same pair always gives the same order and augmentation
        generator = torch.Generator().manual_seed((int(self.seed) * 1_000_003 + self.epoch) % 2**63)
        self.epoch += 1
        order = torch.randperm(len(self.images), generator=generator).to(self.images.device) if self.shuffle else None
        for start in range(0, len(self.images), self.batch_size):
            index = slice(start, start + self.batch_size) if order is None else order[start : start + self.batch_size]
            yield self.transform(self.images[index], train=self.augment, generator=generator), self.labels[index]


@dataclass
class DataLoaders:
    """A data set's loaders: ``train`` to learn from, ``val`` (held out; None: none) to choose with, ``test`` for the end."""

    train: BatchLoader
    val: BatchLoader | None
    test: BatchLoader
    classes: tuple[str, ...]


def validation_size(n: int) -> int:
    """How many of ``n`` training images are held out for validation: a tenth, at least 500, at most a quarter.

    >>> validation_size(60_000), validation_size(3_615), validation_size(2_000), validation_size(64)
    (6000, 500, 500, 16)
    """
    return min(max(round(n / 10), 500), n // 4)


def validation_split(labels: torch.Tensor, size: int, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices ``(train, val)`` of ``labels``, both sorted: ``size`` for validation, each class in proportion to its share
    (stratified; rounded by largest remainders), chosen at random by ``seed``, so the same seed gives the same split.

    >>> labels = torch.arange(3).repeat(4)  # 4 images of each of 3 classes
    >>> train, val = validation_split(labels, 6)
    >>> len(train), labels[val].bincount().tolist(), sorted(train.tolist() + val.tolist()) == list(range(12))
    (6, [2, 2, 2], True)
    """
    if not 0 < size < len(labels):
        raise ValueError(f"a validation split of {size} images from {len(labels)} leaves none for one side; use 0 < size < {len(labels)}.")
    counts = labels.bincount().double()
    share = counts * size / len(labels)
    take = share.floor().long()
    take[(take - share).argsort(stable=True)[: size - int(take.sum())]] += 1  # the largest remainders get one more
    generator, held = torch.Generator().manual_seed(seed), torch.zeros(len(labels), dtype=torch.bool)
    for c, k in enumerate(take.tolist()):
        members = (labels == c).nonzero().flatten()
        held[members[torch.randperm(len(members), generator=generator)[:k]]] = True
    return (~held).nonzero().flatten(), held.nonzero().flatten()


def split_sizes(subset: int | tuple[int | None, int | None] | None, available: tuple[int, int]) -> tuple[int | None, int | None]:
    """How many leading training and test images ``subset`` asks for (None: all); an int, that many of each split at most.

    >>> split_sizes(2000, (3615, 1770)), split_sizes((2000, None), (3615, 1770)), split_sizes(None, (3615, 1770))
    ((2000, 1770), (2000, None), (None, None))
    """
    if subset is None:
        return None, None
    if isinstance(subset, int) and is_whole_number(subset):
        return min(subset, available[0]), min(subset, available[1])
    if isinstance(subset, Sequence) and len(subset) == 2:
        return subset[0], subset[1]
    raise ValueError(f"subset={subset!r} should be a positive number of images, a pair (train, test) or None for all.")


def fashion_mnist_loaders(batch_size: int = 128, resize: int | None = None, *, crop: int | None = None, padding: int = 0,
                          flip: bool = False, normalize: bool = False, channels: int | None = None, seed: int = 0,
                          subset: int | tuple[int | None, int | None] | None = None, validation: bool = True,
                          device: str | torch.device | None = None, root: str | Path | None = None) -> DataLoaders:
    """Fashion-MNIST's training (shuffled, augmented), validation and test loaders on ``device`` (default: the configured one).

    ``resize``, ``crop``, ``padding``, ``flip`` and ``channels`` are :class:`BatchTransform`'s; ``normalize`` uses
    Fashion-MNIST's mean and standard deviation; ``subset`` is :func:`split_sizes`'; ``seed`` sets the shuffle. The
    validation images are :func:`validation_size` of the training images, held out by :func:`validation_split` (seed 0,
    whatever ``seed``: the split belongs to the data, not to a run); ``validation=False`` holds none out.

    >>> data = fashion_mnist_loaders(256, subset=(640, 300), device="cpu")
    >>> len(data.train.images), len(data.val.images), len(data.test.images), data.train.shuffle, data.val.shuffle
    (480, 160, 300, True, False)
    """
    device = get_config().device if device is None else device
    n_train, n_test = split_sizes(subset, tuple(ensure_fashion_mnist(root).values()))
    mean, std = (FASHION_MNIST_MEAN, FASHION_MNIST_STD) if normalize else (None, None)
    transform = BatchTransform(resize=resize, crop=crop, padding=padding, flip=flip, mean=mean, std=std, channels=channels)
    train_x, train_y = load_fashion_mnist(train=True, root=root, limit=n_train)
    test_x, test_y = load_fashion_mnist(train=False, root=root, limit=n_test)
    val = None
    if validation:
        keep, held = validation_split(train_y, validation_size(len(train_y)))
        val = BatchLoader(train_x[held], train_y[held], batch_size, transform, device=device)
        train_x, train_y = train_x[keep], train_y[keep]
    train = BatchLoader(train_x, train_y, batch_size, transform, shuffle=True, augment=True, seed=seed, device=device)
    return DataLoaders(train, val, BatchLoader(test_x, test_y, batch_size, transform, device=device), CLASS_NAMES)
