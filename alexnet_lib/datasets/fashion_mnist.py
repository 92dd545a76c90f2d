"""Fashion-MNIST checked thoroughly, as ``python -m alexnet_lib doctor`` does: beyond the checks every load makes
(:func:`alexnet_lib.data.fashion_mnist_counts`), each file against the archive beside it, and the archive against the
md5 torchvision publishes.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

from ..data import OFFICIAL_SIZES, damaged, fashion_mnist_counts, fashion_mnist_folder, missing


def verify_fashion_mnist(root: str | Path | None = None) -> list[str]:
    """Check Fashion-MNIST thoroughly, as ``doctor`` does; return a line per file saying what was checked: beyond
    :func:`fashion_mnist_counts`, the file against the archive (``*.gz``) beside it, and the archive against torchvision's md5.

    >>> verify_fashion_mnist()[0]
    'train-images-idx3-ubyte: ...'
    """
    folder = fashion_mnist_folder(root)
    if fashion_mnist_counts(root) is None:
        raise missing(folder, "a file is missing")
    from torchvision.datasets import FashionMNIST  # deferred: torchvision takes a second to import

    published, lines = dict(FashionMNIST.resources), []  # archive name -> its md5
    for name, official_size in OFFICIAL_SIZES.items():
        path, archive = folder / name, folder / f"{name}.gz"
        if not archive.is_file():
            official = "the official size" if path.stat().st_size == official_size else "not the official size (a subset)"
            lines.append(f"{name}: {official}, no archive to check an md5")
        elif hashlib.md5(archive.read_bytes()).hexdigest() != published[archive.name]:
            raise damaged(archive, f"its md5 is not torchvision's published {published[archive.name]}")
        elif gzip.decompress(archive.read_bytes()) != path.read_bytes():
            raise damaged(path, f"its contents differ from those of {archive.name}, whose md5 is torchvision's")
        else:
            lines.append(f"{name}: equal to {archive.name}, whose md5 is torchvision's")
    return lines
