"""How fast one epoch of Fashion-MNIST reaches the model: one uint8 tensor vs torchvision's per-image pipeline.

(a) the library: `load_fashion_mnist` once, then batches sliced from the tensor and converted
    to float on the whole batch;
(b) the usual tutorial pipeline: `torchvision.datasets.FashionMNIST(transform=ToTensor())`
    behind a `DataLoader`, which decodes and converts image by image.

Prints images/s for both and the ratio. Run: make bench (or python benchmarks/bench_data.py).
"""

from __future__ import annotations

import time

import torch
import torchvision
from torch.utils.data import DataLoader

from alexnet_lib import get_config, load_fashion_mnist

BATCH = 256


def epoch_from_tensor() -> tuple[int, float]:
    start = time.perf_counter()
    images, labels = load_fashion_mnist(train=True)
    seen = 0
    for i in range(0, len(images), BATCH):
        x = images[i : i + BATCH].unsqueeze(1).float().div_(255)
        seen += len(x)
    return seen, time.perf_counter() - start


def epoch_from_dataloader() -> tuple[int, float]:
    start = time.perf_counter()
    ds = torchvision.datasets.FashionMNIST(
        root=str(get_config().data_root), train=True, transform=torchvision.transforms.ToTensor()
    )
    seen = 0
    for x, _ in DataLoader(ds, batch_size=BATCH, shuffle=False, num_workers=0):
        seen += len(x)
    return seen, time.perf_counter() - start


def main() -> None:
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, data root {get_config().data_root}")
    results = {}
    for name, fn in (("library (one uint8 tensor)", epoch_from_tensor), ("torchvision Dataset + DataLoader", epoch_from_dataloader)):
        fn()  # warm-up: file cache, imports
        best = min((fn() for _ in range(3)), key=lambda r: r[1])
        results[name] = best[0] / best[1]
        print(f"{name:34s} {best[0]:,} images in {best[1]:.3f} s: {results[name]:,.0f} images/s")
    a, b = results.values()
    print(f"ratio: {a / b:.1f}x")


if __name__ == "__main__":
    main()
