"""Batches for training: images held once as a uint8 tensor, transformed a whole batch at a time.

The usual tutorial pipeline decodes, resizes and converts every image on every epoch, one
image at a time, in loader processes that compete with the training for the same CPU cores.
Here a data set is loaded once as a ``uint8`` tensor on the training device (Fashion-MNIST's
60,000 images are 47 MB), and each batch is cut from it and transformed in a few tensor
operations on that device: resize (bilinear, antialiased), random crop and flip (training
only), normalisation. On a CPU that costs milliseconds per batch; on a GPU, microseconds.

:class:`BatchTransform` does what torchvision's per-image transforms do, and
:meth:`BatchTransform.torchvision_equivalent` returns those transforms, so the two can be
compared (``tests/test_loaders.py`` does, image by image):

- training: ``Resize(resize)``, ``RandomCrop(crop, padding)``, ``RandomHorizontalFlip()``,
  ``ToTensor()``, ``Normalize(mean, std)``;
- evaluation: ``Resize(resize)``, ``CenterCrop(crop)``, ``ToTensor()``, ``Normalize(mean, std)``.

Resizing is ``F.interpolate(mode="bilinear", antialias=True)`` on float tensors, which is what
``torchvision.transforms.v2.functional.resize`` does to a float tensor: equal to it up to
float rounding, and within 1/255 of PIL's (which rounds its result to whole 8-bit values).

>>> images = torch.arange(6 * 4 * 4, dtype=torch.uint8).reshape(6, 4, 4)
>>> loader = BatchLoader(images, torch.arange(6), batch_size=4, transform=BatchTransform(resize=8))
>>> len(loader), [tuple(x.shape) for x, _ in loader]
(2, [(4, 1, 8, 8), (2, 1, 8, 8)])
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import torch
import torch.nn.functional as F

from .basics import is_whole_number
from .config import get_config
from .data import (
    CLASS_NAMES, ensure_fashion_mnist, ensure_flowers102, flowers102_class_names, flowers102_split_size, load_fashion_mnist,
    load_flowers102,
)
from .precision import resolve_device

__all__ = [
    "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD",
    "IMAGENET_MEAN",
    "IMAGENET_STD",
    "BatchLoader",
    "BatchTransform",
    "DataLoaders",
    "fashion_mnist_loaders",
    "flowers102_loaders",
    "resized_shape",
    "split_sizes",
]

# Mean and standard deviation of the pixels of Fashion-MNIST's 60,000 training images (in [0, 1]).
FASHION_MNIST_MEAN = (0.2860,)
FASHION_MNIST_STD = (0.3530,)
# The ImageNet statistics that torchvision's pretrained models (and most Flowers102 tutorials) use.
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)

Size = int | tuple[int, int]


def _pair(name: str, value: Size) -> tuple[int, int]:
    pair = tuple(value) if isinstance(value, Sequence) else (value, value)
    if len(pair) != 2 or not all(is_whole_number(v) for v in pair):
        raise ValueError(f"{name}={value!r} should be a side in pixels (an int >= 1) or a pair (height, width).")
    return pair


def resized_shape(height: int, width: int, size: Size) -> tuple[int, int]:
    """The ``(height, width)`` torchvision's ``Resize(size)`` makes of a ``height × width`` image.

    An int resizes the shorter side to ``size`` and keeps the aspect ratio (the longer side is
    truncated, as torchvision does); a pair is the exact output size.

    >>> resized_shape(28, 28, 224), resized_shape(500, 667, 256), resized_shape(500, 667, (64, 32))
    ((224, 224), (256, 341), (64, 32))
    """
    if not isinstance(size, Sequence):
        _pair("resize", size)
        short, long = (height, width) if height <= width else (width, height)
        new_long = int(size * long / short)
        return (size, new_long) if height <= width else (new_long, size)
    return _pair("resize", size)


@dataclass(frozen=True)
class BatchTransform:
    """What happens to a batch of uint8 images ``(N, C, H, W)`` on its way to the model.

    In this order: to float in [0, 1] (as ``ToTensor``); ``resize`` (bilinear, antialiased;
    an int sets the shorter side); then for training a random ``crop`` after zero-padding
    ``padding`` pixels on each side, and a horizontal ``flip`` of half the images, or for
    evaluation a centre ``crop``; repeat a grey channel to ``channels`` channels; normalise
    with ``mean`` and ``std`` (one value per channel). ``None`` skips a step.

    >>> t = BatchTransform(resize=4, mean=(0.5,), std=(0.5,))
    >>> t(torch.full((2, 1, 2, 2), 255, dtype=torch.uint8)).shape, t(torch.full((1, 1, 2, 2), 255, dtype=torch.uint8)).max().item()
    (torch.Size([2, 1, 4, 4]), 1.0)
    """

    resize: Size | None = None
    crop: Size | None = None
    padding: int = 0
    flip: bool = False
    mean: tuple[float, ...] | None = None
    std: tuple[float, ...] | None = None
    channels: int | None = None

    def __post_init__(self) -> None:
        if self.resize is not None:
            _pair("resize", self.resize)
        if self.crop is not None:
            _pair("crop", self.crop)
        if isinstance(self.padding, bool) or not isinstance(self.padding, int) or self.padding < 0:
            raise ValueError(f"padding={self.padding!r} should be a whole number of pixels >= 0.")
        if self.padding and self.crop is None:
            raise ValueError(f"padding={self.padding} pads before a random crop; give crop too (e.g. crop=28 for 28×28 images).")
        if (self.mean is None) != (self.std is None):
            raise ValueError(f"give both mean and std to normalise, or neither (got mean={self.mean}, std={self.std}).")
        if self.channels not in (None, 1, 3):
            raise ValueError(f"channels={self.channels!r} should be 1 (grey) or 3 (the grey channel repeated for colour models).")
        if self.std is not None and any(s <= 0 for s in self.std):
            raise ValueError(f"std={self.std} must be positive: it divides the pixel values.")

    def output_size(self, height: int, width: int) -> tuple[int, int]:
        """The ``(height, width)`` of the batches made from ``height × width`` images.

        >>> BatchTransform(resize=256, crop=224).output_size(500, 667)
        (224, 224)
        """
        if self.resize is not None:
            height, width = resized_shape(height, width, self.resize)
        if self.crop is not None:
            height, width = _pair("crop", self.crop)
        return height, width

    def __call__(self, images: torch.Tensor, train: bool = False, generator: torch.Generator | None = None) -> torch.Tensor:
        """Transform a uint8 batch ``(N, C, H, W)`` (or ``(N, H, W)``) into a float32 batch.

        ``train=True`` applies the random crop and flip, drawn from ``generator`` (a CPU
        generator; the same generator state gives the same batch on every device).
        """
        if images.dim() == 3:
            images = images.unsqueeze(1)
        if images.dim() != 4:
            raise ValueError(f"images should be shaped (N, C, H, W) or (N, H, W); got {tuple(images.shape)}.")
        x = images.float().div_(255) if images.dtype == torch.uint8 else images.float()
        if self.resize is not None:
            size = resized_shape(x.shape[-2], x.shape[-1], self.resize)
            if size != tuple(x.shape[-2:]):
                x = F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)
        if self.crop is not None:
            x = self._random_crop(x, generator) if train else self._center_crop(x)
        if train and self.flip:
            flip = torch.rand(len(x), generator=generator) < 0.5
            x = torch.where(flip.to(x.device)[:, None, None, None], x.flip(-1), x)
        if self.channels is not None and x.shape[1] != self.channels:
            if x.shape[1] != 1:
                raise ValueError(f"cannot make {self.channels} channels of {x.shape[1]}; only a grey channel is repeated.")
            x = x.expand(-1, self.channels, -1, -1)
        if self.mean is not None:
            mean = torch.tensor(self.mean, device=x.device).view(1, -1, 1, 1)
            std = torch.tensor(self.std, device=x.device).view(1, -1, 1, 1)
            if mean.shape[1] not in (1, x.shape[1]):
                raise ValueError(f"mean has {mean.shape[1]} values for images with {x.shape[1]} channels; give one per channel.")
            x = x.sub(mean).div_(std)
        return x.contiguous()

    def _center_crop(self, x: torch.Tensor) -> torch.Tensor:
        th, tw = _pair("crop", self.crop)
        h, w = x.shape[-2:]
        if th > h or tw > w:  # torchvision pads with zeros first
            x = F.pad(x, ((tw - w) // 2, (tw - w + 1) // 2, (th - h) // 2, (th - h + 1) // 2))
            h, w = x.shape[-2:]
        top, left = int(round((h - th) / 2.0)), int(round((w - tw) / 2.0))  # torchvision's rounding
        return x[..., top : top + th, left : left + tw]

    def _random_crop(self, x: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
        th, tw = _pair("crop", self.crop)
        p = self.padding
        if p:
            x = F.pad(x, (p, p, p, p))
        n, _, h, w = x.shape
        if th > h or tw > w:
            raise ValueError(f"crop={self.crop} is larger than the {h}×{w} images (after padding {p}); resize them first.")
        top = torch.randint(0, h - th + 1, (n,), generator=generator)
        left = torch.randint(0, w - tw + 1, (n,), generator=generator)
        crops = _slice_crops if x.device.type == "cpu" else _gather_crops  # slices are cheaper on a CPU
        return crops(x, top, left, th, tw)

    def torchvision_equivalent(self, train: bool = False):
        """The per-image torchvision transforms (PIL image in, float tensor out) this batch transform matches.

        >>> BatchTransform(resize=64, crop=64, padding=4, flip=True).torchvision_equivalent(train=True)
        Compose(
            Resize(size=64, interpolation=bilinear, max_size=None, antialias=True)
            RandomCrop(size=(64, 64), padding=4)
            RandomHorizontalFlip(p=0.5)
            ToTensor()
        )
        """
        from torchvision import transforms as T  # deferred: torchvision takes a second to import, and only this reference needs it

        steps = []
        if self.resize is not None:
            steps.append(T.Resize(self.resize, interpolation=T.InterpolationMode.BILINEAR, antialias=True))
        if self.crop is not None:
            steps.append(T.RandomCrop(self.crop, padding=self.padding or None) if train else T.CenterCrop(self.crop))
        if train and self.flip:
            steps.append(T.RandomHorizontalFlip())
        if self.channels == 3:
            steps.append(T.Grayscale(num_output_channels=3))
        steps.append(T.ToTensor())
        if self.mean is not None:
            steps.append(T.Normalize(self.mean, self.std))
        return T.Compose(steps)


def _slice_crops(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, th: int, tw: int) -> torch.Tensor:
    """Image i's ``th × tw`` window at ``(top[i], left[i])``, one slice per image."""
    return torch.stack([x[i, :, t : t + th, l : l + tw] for i, (t, l) in enumerate(zip(top.tolist(), left.tolist()))])


def _gather_crops(x: torch.Tensor, top: torch.Tensor, left: torch.Tensor, th: int, tw: int) -> torch.Tensor:
    """The same windows as :func:`_slice_crops` in one indexing operation (no per-image launches on a GPU)."""
    top, left = top.to(x.device), left.to(x.device)
    rows = (top[:, None] + torch.arange(th, device=x.device))[:, :, None]  # (N, th, 1)
    cols = (left[:, None] + torch.arange(tw, device=x.device))[:, None, :]  # (N, 1, tw)
    batch = torch.arange(len(x), device=x.device)[:, None, None]
    return x.permute(0, 2, 3, 1)[batch, rows, cols].permute(0, 3, 1, 2)  # (N, th, tw, C) -> (N, C, th, tw)


def _mix(seed: int, epoch: int) -> int:
    """One generator seed per (seed, epoch): the same pair always gives the same shuffle."""
    return (int(seed) * 1_000_003 + int(epoch)) % (2**63)


class BatchLoader:
    """An iterable of ``(X, y)`` batches from images held in one uint8 tensor.

    ``images`` is ``(N, H, W)`` or ``(N, C, H, W)`` uint8 and ``labels`` ``(N,)``; both are
    moved once to ``device`` (default: where they are). Each batch is cut from them and
    passed through ``transform``; ``augment=True`` applies its random crop and flip (the
    training loader), ``False`` its evaluation path. ``shuffle=True`` draws a new order for
    each pass from ``seed`` and the pass number (``epoch``), so the k-th pass over a loader
    is the same in every run; :meth:`set_epoch` chooses the pass, as for PyTorch's
    ``DistributedSampler``. X is float32 ``(B, C, H', W')`` and y int64, on ``device``.

    >>> images = torch.zeros(10, 28, 28, dtype=torch.uint8)
    >>> first = BatchLoader(images, torch.arange(10), 4, shuffle=True, seed=1)
    >>> again = BatchLoader(images, torch.arange(10), 4, shuffle=True, seed=1)
    >>> [y.tolist() for _, y in first] == [y.tolist() for _, y in again], len(first)
    (True, 3)
    """

    def __init__(
        self,
        images: torch.Tensor,
        labels: torch.Tensor,
        batch_size: int,
        transform: BatchTransform | None = None,
        *,
        shuffle: bool = False,
        augment: bool = False,
        seed: int = 0,
        drop_last: bool = False,
        device: str | torch.device | None = None,
    ) -> None:
        if not is_whole_number(batch_size):
            raise ValueError(f"batch_size={batch_size!r} should be a whole number of images >= 1.")
        if images.dim() == 3:
            images = images.unsqueeze(1)
        if images.dim() != 4 or images.dtype != torch.uint8:
            raise ValueError(f"images should be uint8 shaped (N, H, W) or (N, C, H, W); got {images.dtype} {tuple(images.shape)}.")
        if labels.shape != (len(images),):
            raise ValueError(f"{len(images):,} images but labels of shape {tuple(labels.shape)}; give one label per image.")
        device = images.device if device is None else resolve_device(device)  # a clear error for an absent device
        self.images = images.to(device)
        self.labels = labels.to(device=device, dtype=torch.int64)
        self.batch_size = batch_size
        self.transform = BatchTransform() if transform is None else transform
        self.shuffle = shuffle
        self.augment = augment
        self.seed = seed
        self.drop_last = drop_last
        self.epoch = 0

    @property
    def device(self) -> torch.device:
        """Where the images are held and the batches made."""
        return self.images.device

    @property
    def num_images(self) -> int:
        """How many images one pass yields (all of them, or whole batches only with ``drop_last``)."""
        n = len(self.images)
        return n - n % self.batch_size if self.drop_last else n

    @property
    def batch_shape(self) -> tuple[int, int, int]:
        """``(C, H, W)`` of one image of a batch."""
        h, w = self.transform.output_size(*self.images.shape[-2:])
        c = self.transform.channels or self.images.shape[1]
        return c, h, w

    def __len__(self) -> int:
        n = len(self.images)
        return n // self.batch_size if self.drop_last else math.ceil(n / self.batch_size)

    def set_epoch(self, epoch: int, seed: int | None = None) -> None:
        """Make the next pass the ``epoch``-th (its shuffle and augmentation), optionally with a new ``seed``."""
        self.epoch = int(epoch)
        if seed is not None:
            self.seed = int(seed)

    def __iter__(self) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
        generator = torch.Generator().manual_seed(_mix(self.seed, self.epoch))
        self.epoch += 1
        n = len(self.images)
        order = torch.randperm(n, generator=generator).to(self.device) if self.shuffle else None
        stop = self.num_images
        for start in range(0, stop, self.batch_size):
            end = min(start + self.batch_size, stop)
            if order is None:
                x, y = self.images[start:end], self.labels[start:end]
            else:
                index = order[start:end]
                x, y = self.images[index], self.labels[index]
            yield self.transform(x, train=self.augment, generator=generator), y

    def __repr__(self) -> str:
        c, h, w = self.batch_shape
        return (
            f"BatchLoader({len(self.images):,} images -> {len(self)} batches of {self.batch_size} × {c}×{h}×{w}, "
            f"shuffle={self.shuffle}, augment={self.augment}, device={self.device})"
        )


@dataclass
class DataLoaders:
    """The training and test loaders of one data set, and its class names.

    Unpacks like Dive into Deep Learning's pair: ``train_iter, test_iter = loaders``.
    """

    train: BatchLoader
    test: BatchLoader
    classes: tuple[str, ...]
    name: str

    def __iter__(self) -> Iterator[BatchLoader]:
        yield self.train
        yield self.test

    def describe(self) -> str:
        """One line: data set, images per split, batch shape, device.

        >>> fashion_mnist_loaders(32, resize=64, subset=100, device="cpu").describe()
        'Fashion-MNIST: 100 training and 100 test images, batches of 32 × 1×64×64 on cpu'
        """
        c, h, w = self.train.batch_shape
        return (
            f"{self.name}: {len(self.train.images):,} training and {len(self.test.images):,} test images, "
            f"batches of {self.train.batch_size} × {c}×{h}×{w} on {self.train.device}"
        )


def split_sizes(subset: int | tuple[int | None, int | None] | None, available: tuple[int, int]) -> tuple[int | None, int | None]:
    """How many leading training and test images ``subset`` asks for (None: all).

    An int takes that many from each split, at most what the split holds; a pair
    ``(train, test)`` is taken exactly (``load_fashion_mnist`` says so if there are fewer).

    >>> split_sizes(2000, (3615, 1770)), split_sizes((2000, None), (3615, 1770)), split_sizes(None, (3615, 1770))
    ((2000, 1770), (2000, None), (None, None))
    """
    if subset is None:
        return None, None
    if isinstance(subset, int):
        if not is_whole_number(subset):
            raise ValueError(f"subset={subset} should be a positive number of images (or None for all).")
        return min(subset, available[0]), min(subset, available[1])
    if isinstance(subset, Sequence) and len(subset) == 2:
        return subset[0], subset[1]
    raise ValueError(f"subset={subset!r} should be an int, a pair (train, test) or None.")


def fashion_mnist_loaders(
    batch_size: int = 128,
    resize: Size | None = None,
    *,
    subset: int | tuple[int | None, int | None] | None = None,
    crop: Size | None = None,
    padding: int = 0,
    flip: bool = False,
    normalize: bool = False,
    channels: int | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    root: str | Path | None = None,
) -> DataLoaders:
    """Fashion-MNIST's training (shuffled, augmented) and test loaders, from the configured data root.

    The images are read once (:func:`alexnet_lib.data.load_fashion_mnist`) and kept as uint8 on
    ``device`` (default: the configured device). ``resize`` sets the side the model sees;
    ``crop``/``padding``/``flip`` augment the training batches (e.g. ``crop=28, padding=2,
    flip=True``); ``normalize`` subtracts Fashion-MNIST's mean and divides by its standard
    deviation; ``channels=3`` repeats the grey channel for models built for colour; ``subset``
    keeps the leading images of each split (see :func:`split_sizes`); ``seed`` sets the shuffle.

    >>> train, test = fashion_mnist_loaders(256, subset=(512, 300), device="cpu")
    >>> len(train), len(test), next(iter(test))[0].shape, train.shuffle, test.shuffle
    (2, 2, torch.Size([256, 1, 28, 28]), True, False)
    """
    cfg = get_config()
    root = cfg.data_root if root is None else Path(root)
    device = cfg.device if device is None else device
    counts = ensure_fashion_mnist(root)
    n_train, n_test = split_sizes(subset, (counts["train"], counts["test"]))
    mean, std = (FASHION_MNIST_MEAN, FASHION_MNIST_STD) if normalize else (None, None)
    transform = BatchTransform(resize=resize, crop=crop, padding=padding, flip=flip, mean=mean, std=std, channels=channels)
    train_x, train_y = load_fashion_mnist(train=True, root=root, limit=n_train)
    test_x, test_y = load_fashion_mnist(train=False, root=root, limit=n_test)
    return DataLoaders(
        train=BatchLoader(train_x, train_y, batch_size, transform, shuffle=True, augment=True, seed=seed, device=device),
        test=BatchLoader(test_x, test_y, batch_size, transform, shuffle=False, augment=False, device=device),
        classes=CLASS_NAMES,
        name="Fashion-MNIST",
    )


def flowers102_loaders(
    batch_size: int = 64,
    image_size: int = 224,
    *,
    load_size: int | None = None,
    augment: bool = True,
    normalize: bool = True,
    subset: int | tuple[int | None, int | None] | None = None,
    train_split: str = "train",
    test_split: str = "val",
    device: str | torch.device | None = None,
    seed: int = 0,
    root: str | Path | None = None,
    download: bool | None = None,
) -> DataLoaders:
    """Oxford Flowers102 (102 classes, colour) through the same batch pipeline as Fashion-MNIST.

    Each split is decoded once and stored as ``load_size`` × ``load_size`` uint8 images (the
    shorter side resized to ``load_size``, default ``image_size × 8/7``, i.e. 256 for 224,
    then the centre square: :func:`alexnet_lib.data.load_flowers102`). Training batches are
    random ``image_size`` crops, half of them flipped (AlexNet's augmentation, Krizhevsky et al.
    2012, Section 4.1), test batches the centre crop; both normalised with the ImageNet
    statistics. torchvision's splits hold 1,020 (``train``), 1,020 (``val``) and 6,149
    (``test``) images.
    """
    cfg = get_config()
    device = cfg.device if device is None else device
    ensure_flowers102(root, download=download)
    load_size = round(image_size * 8 / 7) if load_size is None else load_size
    if load_size < image_size:
        raise ValueError(f"load_size={load_size} is smaller than image_size={image_size}; crops are cut from the stored images.")
    n_train, n_test = split_sizes(subset, (flowers102_split_size(train_split, root), flowers102_split_size(test_split, root)))
    train_x, train_y = load_flowers102(train_split, root=root, size=load_size, limit=n_train, download=download)
    test_x, test_y = load_flowers102(test_split, root=root, size=load_size, limit=n_test, download=download)
    mean, std = (IMAGENET_MEAN, IMAGENET_STD) if normalize else (None, None)
    transform = BatchTransform(crop=image_size, flip=augment, mean=mean, std=std)
    return DataLoaders(
        train=BatchLoader(train_x, train_y, batch_size, transform, shuffle=True, augment=augment, seed=seed, device=device),
        test=BatchLoader(test_x, test_y, batch_size, transform, shuffle=False, augment=False, device=device),
        classes=flowers102_class_names(),
        name="Flowers102",
    )
