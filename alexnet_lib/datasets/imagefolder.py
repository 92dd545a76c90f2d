"""Any folder of images, one folder per class, as ImageNet is kept, through AlexNet's pipeline (Krizhevsky et al. 2012,
Section 4.1): ``python -m alexnet_lib train alexnet_2012 --data imagefolder:PATH``.

The layout is ``PATH/train/CLASS/IMAGE`` and ``PATH/val/CLASS/IMAGE``, the same class folders in both (labels are the
classes' positions in sorted order). JPEG, PNG, GIF and WebP files are decoded by ``torchvision.io.decode_image``
(with the resize, about twice as fast as PIL: ``benchmarks/bench_decode.py``), BMP and TIFF by PIL; grey and RGBA
images become RGB; other files are ignored, as torchvision's ``ImageFolder`` ignores them.

The pipeline, image by image in DataLoader worker processes: the shorter side is resized to ``load_size`` (256 for a
224 network) and the centre square kept; training takes a random ``image_size`` crop of it, mirrored half the time;
evaluation takes the centre crop (torchvision's ``Resize(256)``, ``CenterCrop(224)``) or, for the final figures, the
ten patches (:func:`alexnet_lib.course.augmentation.ten_crop`, softmax averaged). In the main process the batch
becomes float, gets the paper's PCA colour shift (training only; the components of a sample of training pixels) and
is normalised with the ImageNet statistics. On several processes (``--nproc``, torchrun) each decodes only its share
of each batch (:meth:`ImageFolderLoader.shard`), with the crops and colour shifts one process would give those images.

Bad data stop the run before training, each in one sentence that names the file or folder and the fix: a missing
``train/`` or ``val/``, an empty class folder, classes that differ between the splits (:func:`image_folder_splits`),
and any file that does not decode (:func:`verify_images`, which decodes every image once before training).
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn
from torch.utils.data import DataLoader, Dataset, Sampler
from torchvision.io import ImageReadMode, decode_image, read_file
from torchvision.transforms.v2 import functional as TF

from .. import models
from ..callbacks import resolve_device
from ..course.augmentation import ColourPCA, TenCrop, colour_pca, pca_colour_shift
from ..course.evaluation import topk_errors
from ..data import DataDamagedError, DataLoaders, DataNotFoundError
from ..facts.paper import PAPER
from ..parallel.distributed import rank_and_world, usable_cores
from ..recipes import Recipe
from .flowers102 import IMAGENET_MEAN, IMAGENET_STD

__all__ = ["DATA_PREFIX", "IMAGE_SUFFIXES", "ImageFolderError", "ImageFolderLoader", "ImageFolderRecipe", "ImageSplit",
           "UnreadableImageError", "centre_view", "decode_rgb", "default_workers", "image_folder_splits", "imagefolder_loaders",
           "imagefolder_scores", "recipe_on_folder", "scores_text", "square_view", "train_view", "verify_images"]

DATA_PREFIX = "imagefolder:"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif", ".webp", ".bmp", ".tif", ".tiff")
_BY_TORCHVISION = (".jpg", ".jpeg", ".png", ".gif", ".webp")  # the rest by PIL
PCA_IMAGES, PCA_PIXELS = 1_000, 256  # the colour components come from this many pixels of at most this many images


class ImageFolderError(ValueError):
    """An image folder that cannot be trained on as it is laid out: no class folders, an empty one, or different
    classes in ``train/`` and ``val/``."""


class UnreadableImageError(DataDamagedError):
    """An image file that does not decode. Raised in a DataLoader worker, it keeps its one sentence when the DataLoader
    raises it again in the main process (which puts the worker's traceback into the message; this drops it)."""

    def __init__(self, message: str) -> None:
        marker = f"{type(self).__name__}: "
        if message.startswith("Caught ") and marker in message:  # torch.utils.data's ExceptionWrapper.reraise
            message = message.rsplit(marker, 1)[-1].strip()
        super().__init__(message)


@dataclass(frozen=True)
class ImageSplit:
    """The images of one split: their ``paths`` (a NumPy array of text: workers share it without copying) and
    ``labels``, positions in ``classes``."""

    folder: Path
    classes: tuple[str, ...]
    paths: np.ndarray
    labels: torch.Tensor

    def __len__(self) -> int:
        return len(self.paths)


def _class_folders(split: Path) -> list[str]:
    return sorted(e.name for e in os.scandir(split) if e.is_dir() and not e.name.startswith("."))


def _image_files(folder: Path) -> list[str]:
    """The image files under ``folder``, at any depth (as torchvision's ``ImageFolder``), sorted."""
    return sorted(os.path.join(top, name) for top, _, names in os.walk(folder, followlinks=True)
                  for name in names if name.lower().endswith(IMAGE_SUFFIXES) and not name.startswith("."))


def _split_folder(root: Path, split: str) -> Path:
    if not root.is_dir():
        raise DataNotFoundError(f"the image folder {root} does not exist; give imagefolder:PATH with PATH the folder that "
                                "holds train/ and val/.")
    if not (root / split).is_dir():
        raise DataNotFoundError(f"{root} has no {split}/ folder; an image folder holds train/ and val/, each with one "
                                f"folder of images per class ({root / split}/CLASS/IMAGE.jpg).")
    return root / split


def _names(names: list[str]) -> str:
    return ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "") if names else "none"


def _scan(folder: Path, classes: list[str]) -> ImageSplit:
    paths, labels = [], []
    for label, name in enumerate(classes):
        files = _image_files(folder / name)
        if not files:
            raise ImageFolderError(f"the class folder {folder / name} holds no images (files ending in "
                                   f"{', '.join(IMAGE_SUFFIXES)}); add its images, or remove it from both train/ and val/.")
        paths += files
        labels += [label] * len(files)
    return ImageSplit(folder, tuple(classes), np.array(paths), torch.tensor(labels, dtype=torch.int64))


def image_folder_splits(root: str | Path) -> tuple[ImageSplit, ImageSplit]:
    """The training and validation images of ``root/train/CLASS/*`` and ``root/val/CLASS/*``, after checking the layout.

    Only names are read (no image is opened): for ImageNet's 1.3 million files a few seconds.

    >>> image_folder_splits("/nonexistent")
    Traceback (most recent call last):
    alexnet_lib.data.DataNotFoundError: the image folder /nonexistent does not exist; give imagefolder:PATH with PATH ...
    """
    root = Path(root)
    train_folder, val_folder = _split_folder(root, "train"), _split_folder(root, "val")
    classes = _class_folders(train_folder)
    if not classes:
        raise ImageFolderError(f"{train_folder} holds no class folders; put each class's images in a folder of its own, "
                               f"e.g. {train_folder}/CLASS/IMAGE.jpg, and the same class folders in {val_folder}.")
    if (val_classes := _class_folders(val_folder)) != classes:
        only_train, only_val = sorted(set(classes) - set(val_classes)), sorted(set(val_classes) - set(classes))
        raise ImageFolderError(f"the classes of {train_folder} and {val_folder} differ (only in train/: {_names(only_train)}; "
                               f"only in val/: {_names(only_val)}); give both the same class folders.")
    return _scan(train_folder, classes), _scan(val_folder, classes)


def decode_rgb(path: str | Path) -> torch.Tensor:
    """The image at ``path`` as uint8 ``(3, H, W)`` RGB (a grey channel repeated, alpha dropped, an animation's first
    frame); an :class:`UnreadableImageError` that names the file if it does not decode.

    >>> decode_rgb("/nonexistent.jpg")
    Traceback (most recent call last):
    alexnet_lib.datasets.imagefolder.UnreadableImageError: /nonexistent.jpg cannot be read as an image ...
    """
    try:
        if str(path).lower().endswith(_BY_TORCHVISION):
            image = decode_image(read_file(str(path)), mode=ImageReadMode.RGB)
        else:
            with Image.open(path) as opened:
                image = TF.pil_to_tensor(opened.convert("RGB"))
    except Exception as exc:  # the decoders raise RuntimeError, OSError, ValueError...: each means this file is unreadable
        reason = " ".join(str(exc).split())[:200] or type(exc).__name__
        raise UnreadableImageError(f"{path} cannot be read as an image ({reason}); replace it with a good copy or "
                                   "delete it.") from exc
    return image[0] if image.dim() == 4 else image


def square_view(image: torch.Tensor, load_size: int) -> torch.Tensor:
    """The shorter side resized to ``load_size`` (bilinear, antialiased), then the centre ``load_size`` square: what the
    paper stored of each ImageNet image.

    >>> square_view(torch.zeros(3, 300, 400, dtype=torch.uint8), 256).shape
    torch.Size([3, 256, 256])
    """
    return TF.center_crop(TF.resize(image, [load_size], antialias=True), [load_size, load_size])


def centre_view(image: torch.Tensor, load_size: int, size: int) -> torch.Tensor:
    """The evaluation crop: the shorter side resized to ``load_size``, the centre ``size`` square cut out (torchvision's
    ``Resize(load_size)``, ``CenterCrop(size)``).

    >>> centre_view(torch.zeros(3, 300, 400, dtype=torch.uint8), 256, 224).shape
    torch.Size([3, 224, 224])
    """
    return TF.center_crop(TF.resize(image, [load_size], antialias=True), [size, size])


def train_view(image: torch.Tensor, load_size: int, size: int, generator: torch.Generator) -> torch.Tensor:
    """A training crop: a random ``size`` square of :func:`square_view`, mirrored with probability 1/2, drawn from
    ``generator``.

    >>> crop = train_view(torch.zeros(3, 300, 400, dtype=torch.uint8), 256, 224, torch.Generator().manual_seed(0))
    >>> crop.shape
    torch.Size([3, 224, 224])
    """
    square = square_view(image, load_size)
    top, left = torch.randint(0, load_size - size + 1, (2,), generator=generator).tolist()
    crop = square[:, top : top + size, left : left + size]
    return crop.flip(-1) if torch.rand(1, generator=generator).item() < 0.5 else crop


class _Views(Dataset):
    """Item ``(index, draw)``: image ``index``'s view (``mode``: ``train``, ``centre`` or ``square``) and its label;
    ``draw`` seeds the random crop, so the crop depends on the seed and the pass, not on which worker decodes it."""

    def __init__(self, split: ImageSplit, mode: str, load_size: int, size: int) -> None:
        self.paths, self.labels, self.mode, self.load_size, self.size = split.paths, split.labels, mode, load_size, size

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, item: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
        index, draw = item
        image = decode_rgb(str(self.paths[index]))
        if self.mode == "train":
            view = train_view(image, self.load_size, self.size, torch.Generator().manual_seed(draw))
        else:
            view = square_view(image, self.load_size) if self.mode == "square" else centre_view(image, self.load_size, self.size)
        return view.contiguous(), self.labels[index]


class _Draws(Sampler):
    """One pass's batches of ``(index, draw)`` pairs: the order (shuffled or not) and a seed per image, from ``seed`` and
    ``epoch``. With ``world`` processes, process ``rank``'s share of each batch: its items ``rank``, ``rank + world``,
    ...; a batch with fewer items than processes is left out, by all alike (as ``ShardedBatches`` leaves it out)."""

    def __init__(self, n: int, batch_size: int, shuffle: bool) -> None:
        self.n, self.batch_size, self.shuffle, self.seed, self.epoch = n, batch_size, shuffle, 0, 0
        self.rank, self.world = 0, 1  # one process: the whole batch

    def __len__(self) -> int:
        return -(-self.n // self.batch_size)  # the batches of one process, as ShardedBatches counts them

    def __iter__(self):
        generator = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch) % 2**63)  # as BatchLoader's
        order = torch.randperm(self.n, generator=generator) if self.shuffle else torch.arange(self.n)
        pairs = list(zip(order.tolist(), torch.randint(0, 2**62, (self.n,), generator=generator).tolist()))
        batches = (pairs[start : start + self.batch_size] for start in range(0, self.n, self.batch_size))
        return (batch[self.rank :: self.world] for batch in batches if len(batch) >= self.world)


def default_workers() -> int:
    """DataLoader worker processes to decode with: the cores this process may use, shared with the other training
    processes of this machine (torchrun's ``LOCAL_WORLD_SIZE``, else the process group's, for ``--nproc``), at most 8.

    >>> 1 <= default_workers() <= 8
    True
    """
    return max(1, min(8, usable_cores() // int(os.environ.get("LOCAL_WORLD_SIZE") or rank_and_world()[1])))


def _worker_processes(workers: int) -> dict[str, object]:
    """How the DataLoader's ``workers`` start: forked on Linux, its default, also in the processes ``--nproc`` spawns
    (where they would be spawned too, each importing torch again: seconds per pass); elsewhere the default."""
    return {"num_workers": workers, "multiprocessing_context": "fork" if workers and sys.platform == "linux" else None}


class ImageFolderLoader:
    """``(X, y)`` batches of one split: images decoded and cropped in ``workers`` processes (started for each pass: kept
    between passes, ``persistent_workers=True``, they each took 5 s to stop at the end of a ``train`` command here,
    against some 0.05 s to start them again), then
    float, shifted by ``pca`` (training) and normalised, on ``device``. ``mode``: ``train`` (random crops and mirror
    images, shuffled), ``centre`` or ``square`` (the ``load_size`` square, for the ten patches). :meth:`set_epoch` sets
    the pass, as :class:`alexnet_lib.data.BatchLoader`'s does; ``labels`` are all the split's labels; after
    :meth:`shard` it decodes and yields one process's share of each batch only."""

    def __init__(self, split: ImageSplit, batch_size: int, *, image_size: int, load_size: int, mode: str = "centre",
                 pca: ColourPCA | None = None, seed: int = 0, workers: int = 0, device: str | torch.device = "cpu") -> None:
        self.split, self.labels, self.pca, self.seed, self.epoch = split, split.labels, pca, seed, 0
        self.device = resolve_device(device)
        self.sampler = _Draws(len(split), batch_size, shuffle=mode == "train")
        self.loader = DataLoader(_Views(split, mode, load_size, image_size), batch_sampler=self.sampler,
                                 **_worker_processes(workers), persistent_workers=False, pin_memory=self.device.type == "cuda")
        self.mean, self.std = (torch.tensor(v, device=self.device).view(1, 3, 1, 1) for v in (IMAGENET_MEAN, IMAGENET_STD))

    def __len__(self) -> int:
        return len(self.loader)

    def set_epoch(self, epoch: int, seed: int | None = None) -> None:
        """Make the next pass the ``epoch``-th (its order, crops and colour shifts), with a new ``seed`` if one is given."""
        self.epoch, self.seed = int(epoch), self.seed if seed is None else int(seed)

    def shard(self, rank: int, world: int) -> ImageFolderLoader:
        """Yield process ``rank``'s share of each batch from now on, the images ``rank``, ``rank + world``, ... that
        :class:`~alexnet_lib.parallel.ddp.ShardedBatches` would take, with their crops and colour shifts; decode only
        those. Returns this loader."""
        self.sampler.rank, self.sampler.world = rank, world
        return self

    def __iter__(self):
        self.sampler.seed, self.sampler.epoch = self.seed, self.epoch
        alphas = torch.Generator().manual_seed((self.seed * 1_000_003 + self.epoch + 7919) % 2**63)  # the colour shifts
        self.epoch += 1
        n, size, rank, world = len(self.split), self.sampler.batch_size, self.sampler.rank, self.sampler.world
        for k, (x, y) in enumerate(self.loader):  # only the last batch may be short, or left out: k counts them all
            x = x.to(self.device, non_blocking=True).float().div_(255)
            if self.pca is not None:  # the whole batch's shifts, as one process draws them, then this share's
                draws = torch.randn(min(size, n - k * size), 3, generator=alphas)[rank::world] * PAPER.pca_alpha_std.value
                x += torch.stack([pca_colour_shift(self.pca, a) for a in draws]).to(self.device)[:, :, None, None]
            yield x.sub_(self.mean).div_(self.std), y.to(self.device)


def _as_list(items: list[tuple[str, torch.Tensor | None]]) -> list[tuple[str, torch.Tensor | None]]:
    return items  # a batch of the verification pass stays a list (no stacking)


class _Verify(Dataset):
    """Item ``i``: ``(problem, pixels)``, the problem's sentence ('' if image ``i`` decodes) and, for every ``every``-th
    image, ``PCA_PIXELS`` of its pixels chosen at random (None for the others)."""

    def __init__(self, paths: np.ndarray, every: int | None) -> None:
        self.paths, self.every = paths, every

    def __len__(self) -> int:
        return len(self.paths)

    def __getitem__(self, i: int) -> tuple[str, torch.Tensor | None]:
        try:
            image = decode_rgb(str(self.paths[i]))
        except UnreadableImageError as exc:
            return str(exc), None
        if self.every is None or i % self.every:
            return "", None
        pixels = image.reshape(3, -1)
        return "", pixels[:, torch.randint(pixels.shape[1], (PCA_PIXELS,), generator=torch.Generator().manual_seed(i))]


def verify_images(split: ImageSplit, workers: int = 0, pca: bool = False) -> ColourPCA | None:
    """Decode every image of ``split`` once, in ``workers`` processes, before any training; the colour components of a
    sample of their pixels (``PCA_PIXELS`` from each of at most ``PCA_IMAGES`` images) if ``pca``.

    Its cost is one decoding of each image without resizing, less than half an epoch's work: 934 JPEGs of 500×375 a
    second per core on an AMD EPYC, against 400 decoded and augmented (``benchmarks/bench_decode.py``); ImageNet's 1.28
    million training images take about 23 core-minutes. An image that does not decode raises
    :class:`UnreadableImageError`, naming it and counting the others.
    """
    every = max(1, len(split) // PCA_IMAGES) if pca else None
    loader = DataLoader(_Verify(split.paths, every), batch_size=64, collate_fn=_as_list, **_worker_processes(workers))
    problems, samples = [], []
    for batch in loader:
        problems += [problem for problem, _ in batch if problem]
        samples += [pixels for _, pixels in batch if pixels is not None]
    if problems:
        others = f" ({len(problems) - 1:,} more images in {split.folder} do not decode either)" if len(problems) > 1 else ""
        raise UnreadableImageError(problems[0].rstrip(".") + others + ".")
    return colour_pca(torch.cat(samples, dim=1).float().div_(255)[:, None, :]) if pca else None


def imagefolder_loaders(root: str | Path, batch_size: int = 128, image_size: int = 224, *, load_size: int | None = None,
                        pca: bool = True, seed: int = 0, workers: int | None = None,
                        device: str | torch.device | None = None) -> DataLoaders:
    """The training and validation loaders of the image folder ``root`` (``root/train/CLASS/*``, ``root/val/CLASS/*``),
    after :func:`image_folder_splits` and :func:`verify_images` checked it; no test loader (the validation images are
    the ones reported, as for ImageNet). ``load_size`` defaults to ``image_size × 8/7``, 256 for 224; ``workers`` to
    :func:`default_workers`; ``pca`` adds the paper's colour shifts to the training images.
    """
    device = resolve_device("cpu" if device is None else device)
    workers = default_workers() if workers is None else workers
    load_size = round(image_size * 8 / 7) if load_size is None else load_size
    if not 1 <= image_size <= load_size:
        raise ValueError(f"image_size={image_size} should be from 1 to load_size={load_size}: crops are cut from the "
                         "resized images.")
    train, val = image_folder_splits(root)
    colours = verify_images(train, workers, pca=pca)
    verify_images(val, workers)
    sizes = {"image_size": image_size, "load_size": load_size, "seed": seed, "workers": workers, "device": device}
    return DataLoaders(train=ImageFolderLoader(train, batch_size, mode="train", pca=colours, **sizes),
                       val=ImageFolderLoader(val, batch_size, mode="centre", **sizes), test=None, classes=train.classes)


def imagefolder_scores(model: nn.Module, root: str | Path, image_size: int, *, batch_size: int = 128,
                       workers: int | None = None, device: str | torch.device | None = None) -> dict[str, float]:
    """Top-1 and top-k accuracy of ``model`` on ``root/val/``, with the centre crop and with the ten patches (Section 4.1:
    the softmax averaged over the corners, the centre and their mirror images). k is 5, or the number of classes if
    there are fewer (then top-k is always 1). The ten patches take ten times the centre crop's time.
    """
    _, val = image_folder_splits(root)
    k, workers = min(5, len(val.classes)), default_workers() if workers is None else workers
    device = next(model.parameters()).device if device is None else resolve_device(device)
    load_size = round(image_size * 8 / 7)
    scores = {"val_images": len(val), "classes": len(val.classes), "top_k": k}
    for name, mode, net in (("centre", "centre", model), ("ten_patches", "square", TenCrop(model, image_size))):
        loader = ImageFolderLoader(val, batch_size, image_size=image_size, load_size=load_size, mode=mode, workers=workers,
                                   device=device)  # ten patches of a batch in inference take less memory than training it
        errors = topk_errors(net, loader, (1, k), device=device)
        scores[f"top1_{name}"], scores[f"topk_{name}"] = 1 - errors[1], 1 - errors[k]
    return scores


def scores_text(scores: dict[str, float]) -> str:
    """The figures of :func:`imagefolder_scores` in words.

    >>> print(scores_text({"val_images": 30, "classes": 3, "top_k": 3, "top1_centre": 0.5, "topk_centre": 1.0,
    ...                    "top1_ten_patches": 0.6, "topk_ten_patches": 1.0}))
    validation, 30 images of 3 classes: top-1 50.0%, top-3 100.0% with the centre crop; top-1 60.0%, top-3 100.0% with the ten patches
    top-5 needs 5 classes or more: with 3, top-3 is shown, which is always 100%.
    """
    k = scores["top_k"]
    text = (f"validation, {scores['val_images']:,} images of {scores['classes']} classes: top-1 {scores['top1_centre']:.1%}, "
            f"top-{k} {scores['topk_centre']:.1%} with the centre crop; top-1 {scores['top1_ten_patches']:.1%}, "
            f"top-{k} {scores['topk_ten_patches']:.1%} with the ten patches")
    return text + (f"\ntop-5 needs 5 classes or more: with {k}, top-{k} is shown, which is always 100%." if k < 5 else "")


@dataclass(frozen=True)
class ImageFolderRecipe(Recipe):
    """A recipe trained on an image folder: :meth:`loaders` are :func:`imagefolder_loaders`' at the recipe's side, the
    model is built for colour and for the folder's classes (its ``model_kwargs``)."""

    folder: str = ""
    classes: tuple[str, ...] = ()
    images: tuple[int, int] = (0, 0)  # training and validation images
    pca: bool = True
    workers: int | None = None

    def describe(self) -> str:
        """The recipe in one paragraph."""
        kwargs = ", ".join(f"{k}={v!r}" for k, v in self.model_kwargs.items())
        side, load = self.side, round(self.side * 8 / 7)
        momentum = f" (momentum {self.momentum})" if self.optimizer == "sgd" else ""
        return (f"{self.model}({kwargs}) at {side}×{side}, profile {self.profile}: the image folder {self.folder}, "
                f"{len(self.classes)} classes, {self.images[0]:,} training and {self.images[1]:,} validation images, "
                f"shorter side {load}, random {side}×{side} crops of the centre square and mirror images"
                f"{', PCA colour shifts' if self.pca else ''}; {self.epochs} epoch{'s' if self.epochs != 1 else ''} of "
                f"batches of {self.batch_size}, {self.optimizer}{momentum} at lr {self.lr} with a {self.schedule} schedule")

    def loaders(self, device: str | torch.device | None = None, root: str | Path | None = None) -> DataLoaders:
        """The folder's loaders (``root`` is Fashion-MNIST's, and not used)."""
        return imagefolder_loaders(self.folder, self.batch_size, self.side, pca=self.pca, seed=self.seed,
                                   workers=self.workers, device=device)

    def scores(self, model: nn.Module, device: str | torch.device | None = None) -> dict[str, float]:
        """:func:`imagefolder_scores` of ``model`` on the folder's validation images."""
        return imagefolder_scores(model, self.folder, self.side, batch_size=self.batch_size, workers=self.workers,
                                  device=device)


def recipe_on_folder(r: Recipe, data: str) -> ImageFolderRecipe:
    """Recipe ``r`` (its model, optimisation and side) trained on the image folder of ``data``, ``'imagefolder:PATH'``
    (the command line's ``--data``), after checking the folder's layout (:func:`image_folder_splits`).

    >>> recipe_on_folder(None, "cifar10")
    Traceback (most recent call last):
    ValueError: --data 'cifar10' is not a data set: write fashion-mnist (the default) or imagefolder:PATH.
    """
    if not data.startswith(DATA_PREFIX) or not data.removeprefix(DATA_PREFIX):
        raise ValueError(f"--data {data!r} is not a data set: write fashion-mnist (the default) or {DATA_PREFIX}PATH.")
    spec = models.entry(r.model)
    colour = {"in_channels": 3} if "in_channels" in spec.arguments else {}
    if not colour and spec.input_size[0] != 3:
        takes = [e.name for e in models.entries() if e.input_size[0] == 3 or "in_channels" in e.arguments]
        raise ValueError(f"{r.model} reads {spec.input_size[0]} channel(s) and cannot be built for colour images; "
                         f"train one of {', '.join(takes)}.")
    folder = Path(data.removeprefix(DATA_PREFIX)).expanduser()
    train, val = image_folder_splits(folder)
    given = r.model_kwargs.get("num_classes", len(train.classes))
    if given != len(train.classes):
        raise ValueError(f"--set num_classes={given} but {folder} holds {len(train.classes)} classes; leave out --set "
                         "num_classes (the folder sets it).")
    base = ImageFolderRecipe(**{name: getattr(r, name) for name in r.__dataclass_fields__})
    return replace(base, model_kwargs={**r.model_kwargs, **colour, "num_classes": len(train.classes)}, channels=3,
                   folder=str(folder), classes=train.classes, images=(len(train), len(val)))
