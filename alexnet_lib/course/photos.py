"""A real photograph that ships with matplotlib, for the notebooks that need one offline.

matplotlib's sample data include ``grace_hopper.jpg``, a 512×600 colour portrait of Rear
Admiral Grace Hopper (public domain, U.S. Navy). It is installed with matplotlib, so it
works without a download, on Colab and in CI alike.
"""

from __future__ import annotations

from pathlib import Path

import matplotlib.image as mpimg
import torch
import torch.nn.functional as F
from matplotlib import cbook

SAMPLE_PHOTO = "grace_hopper.jpg"


def load_photo(path: str | Path | None = None, side: int | None = None, grey: bool = False) -> torch.Tensor:
    """A photograph as a float tensor ``(C, H, W)`` with values in [0, 1] (default: the sample photo).

    ``side`` resizes the centre square crop to ``side``×``side`` (bilinear, antialiased);
    without it the whole photo is returned. ``grey=True`` gives one channel, the luma
    ``0.299 R + 0.587 G + 0.114 B``.

    >>> load_photo().shape
    torch.Size([3, 600, 512])
    >>> photo = load_photo(side=64, grey=True)
    >>> photo.shape, bool(0 <= photo.min() <= photo.max() <= 1)
    (torch.Size([1, 64, 64]), True)
    """
    if path is None:
        with cbook.get_sample_data(SAMPLE_PHOTO) as f:
            pixels = mpimg.imread(f, format="jpg")
    else:
        pixels = mpimg.imread(path)
    x = torch.from_numpy(pixels.copy()).float()
    x = (x / 255 if pixels.dtype.kind == "u" else x)
    x = x.unsqueeze(-1) if x.ndim == 2 else x[..., :3]  # grey files have no channel axis; drop alpha
    x = x.permute(2, 0, 1)
    if grey and x.shape[0] == 3:
        x = (0.299 * x[0] + 0.587 * x[1] + 0.114 * x[2]).unsqueeze(0)
    if side is not None:
        if not isinstance(side, int) or side < 1:
            raise ValueError(f"side={side!r} should be a whole number of pixels >= 1, e.g. 128.")
        h, w = x.shape[1:]
        s = min(h, w)
        top, left = (h - s) // 2, (w - s) // 2
        square = x[:, top : top + s, left : left + s].unsqueeze(0)
        x = F.interpolate(square, size=(side, side), mode="bilinear", antialias=True, align_corners=False)[0]
    return x.clamp(0, 1)


def load_sample_photo(side: int | None = None, grey: bool = False) -> torch.Tensor:
    """matplotlib's Grace Hopper photograph as a float tensor ``(C, H, W)`` in [0, 1]: :func:`load_photo` without a path.

    >>> load_sample_photo(side=32).shape
    torch.Size([3, 32, 32])
    """
    return load_photo(None, side=side, grey=grey)
