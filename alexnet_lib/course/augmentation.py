"""The paper's two augmentations beyond crops and flips: PCA colour shifts and the ten-patch test (Section 4.1).

**PCA colour augmentation.** Fit the 3×3 covariance of the RGB values of many pixels; its
eigenvectors ``p_i`` are the directions in which colours vary, its eigenvalues ``λ_i`` how
much. To each training image add ``[p1, p2, p3] [α1 λ1, α2 λ2, α3 λ3]ᵀ`` with each ``α_i``
drawn from N(0, 0.1) once per image: the same colour shift for every pixel, like a change in
the colour and intensity of the light.

**Ten-patch testing.** At test time cut five patches (the four corners and the centre) and
their horizontal mirror images, run the network on all ten and average its softmax outputs.

>>> image = torch.rand(3, 8, 8)
>>> crops = ten_crop(image, 6)
>>> crops.shape, torch.equal(crops[5], crops[0].flip(-1))
(torch.Size([10, 3, 6, 6]), True)
"""

from __future__ import annotations

from typing import NamedTuple

import torch
from torch import nn

from ..config import seeded
from ..facts.paper import PAPER

__all__ = ["ColourPCA", "TenCrop", "colour_pca", "pca_colour_augment", "pca_colour_shift", "ten_crop"]

class ColourPCA(NamedTuple):
    """The principal components of RGB pixel values: ``eigenvalues`` (3,), largest first, and ``eigenvectors`` (3, 3), one per column."""

    eigenvalues: torch.Tensor
    eigenvectors: torch.Tensor


def _rgb_pixels(images: torch.Tensor) -> torch.Tensor:
    """``(3, pixels)`` from an image ``(3, H, W)`` or a batch ``(N, 3, H, W)``."""
    if images.dim() not in (3, 4) or images.shape[-3] != 3:
        raise ValueError(f"images should be RGB, shaped (3, H, W) or (N, 3, H, W); got {tuple(images.shape)}.")
    return images.movedim(-3, 0).reshape(3, -1)


def colour_pca(images: torch.Tensor) -> ColourPCA:
    """The eigenvalues and eigenvectors of the 3×3 covariance matrix of the RGB values of ``images``' pixels.

    ``images`` is one image ``(3, H, W)`` or a batch ``(N, 3, H, W)``; every pixel counts once.
    The paper fits them on the pixels of the whole ImageNet training set (Section 4.1).

    >>> pca = colour_pca(torch.rand(3, 16, 16))
    >>> pca.eigenvalues.shape, pca.eigenvectors.shape, bool(pca.eigenvalues[0] >= pca.eigenvalues[-1])
    (torch.Size([3]), torch.Size([3, 3]), True)
    """
    covariance = torch.cov(_rgb_pixels(images).double())
    eigenvalues, eigenvectors = torch.linalg.eigh(covariance)  # ascending, for a symmetric matrix
    return ColourPCA(eigenvalues.flip(0).float(), eigenvectors.flip(1).float())


def pca_colour_shift(pca: ColourPCA, alphas: torch.Tensor) -> torch.Tensor:
    """The RGB shift ``[p1, p2, p3] [α1 λ1, α2 λ2, α3 λ3]ᵀ`` that the paper adds to every pixel of one image.

    >>> pca = ColourPCA(torch.tensor([2.0, 1.0, 0.5]), torch.eye(3))
    >>> pca_colour_shift(pca, torch.tensor([0.1, 0.0, -0.2])).tolist()
    [0.20000000298023224, 0.0, -0.10000000149011612]
    """
    alphas = torch.as_tensor(alphas, dtype=pca.eigenvalues.dtype)
    if alphas.shape != (3,):
        raise ValueError(f"alphas should be three numbers, one per principal component; got shape {tuple(alphas.shape)}.")
    return pca.eigenvectors @ (alphas * pca.eigenvalues)


def pca_colour_augment(image: torch.Tensor, pca: ColourPCA, alpha_std: float = PAPER.pca_alpha_std.value,
                       seed: int | None = None) -> torch.Tensor:
    """``image`` ``(3, H, W)`` with one random PCA colour shift added to every pixel (α_i ~ N(0, ``alpha_std``)).

    Values are not clipped (the paper does not say it clips); clamp them to show the image.

    >>> image = torch.rand(3, 4, 4)
    >>> shifted = pca_colour_augment(image, colour_pca(image), seed=0)
    >>> difference = shifted - image
    >>> bool(torch.allclose(difference, difference[:, :1, :1].expand_as(difference), atol=1e-6))  # one shift everywhere (up to rounding)
    True
    """
    if image.dim() != 3 or image.shape[0] != 3:
        raise ValueError(f"image should be one RGB image shaped (3, H, W); got {tuple(image.shape)}.")
    if not alpha_std >= 0:
        raise ValueError(f"alpha_std={alpha_std!r} is a standard deviation: use a number >= 0 (the paper's is 0.1).")
    with seeded(seed):
        alphas = torch.randn(3) * alpha_std
    return image + pca_colour_shift(pca, alphas).to(image.dtype)[:, None, None]


def ten_crop(images: torch.Tensor, size: int) -> torch.Tensor:
    """The ten ``size``×``size`` patches of Section 4.1: corners, centre, then the mirror image of each.

    ``images`` ``(C, H, W)`` gives ``(10, C, size, size)``; a batch ``(N, C, H, W)`` gives
    ``(N, 10, C, size, size)``. The order is :attr:`TenCrop.NAMES`. The centre patch starts
    at ``(H - size) // 2`` and ``(W - size) // 2``.

    >>> ten_crop(torch.zeros(2, 3, 256, 256), 224).shape
    torch.Size([2, 10, 3, 224, 224])
    """
    if images.dim() not in (3, 4):
        raise ValueError(f"images should be shaped (C, H, W) or (N, C, H, W); got {tuple(images.shape)}.")
    h, w = images.shape[-2:]
    if not isinstance(size, int) or not 1 <= size <= min(h, w):
        raise ValueError(f"size={size!r} should be a whole number of pixels from 1 to the image's shorter side, {min(h, w)}.")
    top, left = (h - size) // 2, (w - size) // 2
    corners = [(0, 0), (0, w - size), (h - size, 0), (h - size, w - size), (top, left)]
    five = [images[..., y : y + size, x : x + size] for y, x in corners]
    return torch.stack(five + [patch.flip(-1) for patch in five], dim=-4)


class TenCrop(nn.Module):
    """``model`` seen through the ten-patch test: the mean of its softmax over the ten patches of each image.

    Input ``(N, C, H, W)`` larger than ``size``; output ``(N, classes)``, class probabilities.
    Its ranking of the classes is what top-1 and top-5 errors read.

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    >>> probabilities = TenCrop(net, size=4)(torch.rand(2, 3, 6, 6))
    >>> probabilities.shape, torch.allclose(probabilities.sum(1), torch.ones(2))
    (torch.Size([2, 5]), True)
    """

    NAMES = ("top left", "top right", "bottom left", "bottom right", "centre", "top left, mirrored",
             "top right, mirrored", "bottom left, mirrored", "bottom right, mirrored", "centre, mirrored")
    """The ten patches, in the order of :func:`ten_crop`."""

    def __init__(self, model: nn.Module, size: int) -> None:
        super().__init__()
        self.model, self.size = model, size

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        crops = ten_crop(x, self.size)  # (N, 10, C, size, size)
        scores = self.model(crops.flatten(0, 1))  # all ten patches of every image in one batch
        return scores.float().softmax(-1).unflatten(0, crops.shape[:2]).mean(1)
