"""How many training images a second one CPU core decodes and augments: our image-folder pipeline against torchvision's.

On the same generated JPEGs (500×375 and 375×500, quality 90, as ImageNet's typical photographs), in one process
with one thread, each image read from disk and made into a normalised float tensor of 3×224×224:

(a) ours, as `alexnet_lib.datasets.imagefolder` runs it in each worker: `torchvision.io.decode_image`, the shorter
    side to 256 and its centre square, a random 224 crop, a mirror image half the time, then float, the paper's PCA
    colour shift and the ImageNet normalisation;
(b) the same with PIL decoding instead (why (a) uses torchvision.io);
(c) torchvision's reference, `references/classification/presets.py` `ClassificationPresetTrain` on PIL images, as its
    `ImageFolder` loads them: RandomResizedCrop(224), RandomHorizontalFlip(), PILToTensor, ToDtype(float), Normalize;
(d) the check before training, `verify_images`: each image decoded once, nothing else.

Run: python benchmarks/bench_decode.py [--images N]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torchvision.transforms.v2 as T
from PIL import Image
from torchvision.transforms.v2 import functional as TF

from alexnet_lib.course.augmentation import colour_pca, pca_colour_shift
from alexnet_lib.course.reference import machine_name
from alexnet_lib.datasets.flowers102 import IMAGENET_MEAN, IMAGENET_STD
from alexnet_lib.datasets.imagefolder import decode_rgb, train_view

MEAN, STD = torch.tensor(IMAGENET_MEAN).view(3, 1, 1), torch.tensor(IMAGENET_STD).view(3, 1, 1)


def make_jpegs(folder: Path, n: int, seed: int = 0) -> list[Path]:
    """``n`` photograph-like JPEGs (smooth colour fields with grain), half landscape, half portrait."""
    rng = np.random.default_rng(seed)
    paths = []
    for i in range(n):
        h, w = (375, 500) if i % 2 else (500, 375)
        coarse = rng.random((h // 25 + 1, w // 25 + 1, 3)) * 255
        field = np.kron(coarse, np.ones((25, 25, 1)))[:h, :w] + rng.normal(0, 12, (h, w, 3))
        paths.append(folder / f"{i:04d}.jpg")
        Image.fromarray(field.clip(0, 255).astype(np.uint8)).save(paths[-1], quality=90)
    return paths


def ours(paths: list[Path], decode) -> None:
    pca, generator = colour_pca(torch.rand(3, 64, 64)), torch.Generator().manual_seed(0)
    for path in paths:
        x = train_view(decode(path), 256, 224, generator).float().div_(255)
        x += pca_colour_shift(pca, torch.randn(3, generator=generator) * 0.1)[:, None, None]
        x.sub_(MEAN).div_(STD)


def pil_decode(path: Path) -> torch.Tensor:
    with Image.open(path) as image:
        return TF.pil_to_tensor(image.convert("RGB"))


def reference(paths: list[Path]) -> None:
    preset = T.Compose([T.RandomResizedCrop(224, antialias=True), T.RandomHorizontalFlip(0.5), T.PILToTensor(),
                        T.ToDtype(torch.float, scale=True), T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    for path in paths:
        with Image.open(path) as image:
            preset(image.convert("RGB"))


def verify(paths: list[Path]) -> None:
    for path in paths:
        decode_rgb(path)


def images_per_second(run, paths: list[Path], repeats: int = 3) -> float:
    run(paths[:5])  # warm up
    best = min(_seconds(run, paths) for _ in range(repeats))
    return len(paths) / best


def _seconds(run, paths: list[Path]) -> float:
    start = time.perf_counter()
    run(paths)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=200, help="JPEGs to generate and time (default 200)")
    args = parser.parse_args()
    print(f"machine: {machine_name()}; timed on one core (one process, torch.set_num_threads(1))")
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as folder:
        paths = make_jpegs(Path(folder), args.images)
        figures = {"(a) ours, torchvision.io decoding": images_per_second(lambda p: ours(p, decode_rgb), paths),
                   "(b) ours, PIL decoding": images_per_second(lambda p: ours(p, pil_decode), paths),
                   "(c) torchvision reference (PIL, RandomResizedCrop)": images_per_second(reference, paths),
                   "(d) verify_images: decoding only": images_per_second(verify, paths)}
    print(f"{args.images} JPEGs of 500×375 and 375×500, to normalised 3×224×224 float tensors; images/s per core:")
    for name, rate in figures.items():
        print(f"  {name:<52} {rate:7,.0f}")
    first, third = figures["(a) ours, torchvision.io decoding"], figures["(c) torchvision reference (PIL, RandomResizedCrop)"]
    print(f"ours / reference: {first / third:.2f}×")


if __name__ == "__main__":
    main()
