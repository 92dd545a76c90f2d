"""PCA colour augmentation and the ten-patch test (Section 4.1 of the 2012 paper), checked against
numpy's covariance and eigenvectors and against torchvision's ten_crop."""

import numpy as np
import pytest
import torch
import torchvision.transforms.v2.functional as TF
from torch import nn

from alexnet_lib.facts import paper
from alexnet_lib.course.augmentation import (
    TenCrop, colour_pca, pca_colour_augment, pca_colour_shift, ten_crop,
)
from alexnet_lib.course.photos import load_sample_photo
from alexnet_lib.course.plots import show_images


@pytest.fixture(scope="module")
def photo():
    return load_sample_photo(side=64)


def test_colour_pca_matches_numpy(photo):
    pixels = photo.reshape(3, -1).double().numpy()
    values, vectors = np.linalg.eigh(np.cov(pixels))
    pca = colour_pca(photo)
    np.testing.assert_allclose(pca.eigenvalues.numpy(), values[::-1], rtol=1e-4)
    for i in range(3):  # eigenvectors are defined up to their sign
        assert abs(float(np.dot(pca.eigenvectors[:, i].double().numpy(), vectors[:, 2 - i]))) == pytest.approx(1, abs=1e-5)
    rebuilt = pca.eigenvectors @ torch.diag(pca.eigenvalues) @ pca.eigenvectors.T
    torch.testing.assert_close(rebuilt.double(), torch.from_numpy(np.cov(pixels)), atol=1e-6, rtol=1e-4)


def test_a_batch_counts_every_pixel(photo):
    batch = torch.stack([photo, photo.flip(-1)])
    torch.testing.assert_close(colour_pca(batch).eigenvalues, colour_pca(photo).eigenvalues, rtol=1e-3, atol=1e-7)


def test_the_shift_is_the_same_for_every_pixel(photo):
    pca = colour_pca(photo)
    shifted = pca_colour_augment(photo, pca, alpha_std=1.0, seed=3)
    difference = shifted - photo
    assert torch.allclose(difference, difference[:, :1, :1].expand_as(difference), atol=1e-6)
    assert difference[:, 0, 0].abs().max() > 0


def test_one_alpha_moves_the_colour_along_its_eigenvector(photo):
    pca = colour_pca(photo)
    for i in range(3):
        alphas = torch.zeros(3)
        alphas[i] = 0.5
        torch.testing.assert_close(pca_colour_shift(pca, alphas), 0.5 * pca.eigenvalues[i] * pca.eigenvectors[:, i])


def test_the_shifts_covariance_has_the_pixels_eigenvectors(photo):
    """Over many images the shifts vary most along p1 and least along p3, with variance (0.1 λ_i)²."""
    pca = colour_pca(photo)
    shifts = torch.stack([pca_colour_shift(pca, torch.randn(3, generator=torch.Generator().manual_seed(s)) * 0.1)
                          for s in range(4000)])
    values, vectors = torch.linalg.eigh(torch.cov(shifts.T.double()))
    values, vectors = values.flip(0), vectors.flip(1)
    for i in range(3):
        assert abs(float(vectors[:, i] @ pca.eigenvectors[:, i].double())) > 0.99
    np.testing.assert_allclose(values.numpy(), ((0.1 * pca.eigenvalues) ** 2).double().numpy(), rtol=0.1)


def test_augment_is_seeded_and_uses_the_papers_alpha_by_default(photo):
    pca = colour_pca(photo)
    a, b = pca_colour_augment(photo, pca, seed=1), pca_colour_augment(photo, pca, seed=1)
    assert torch.equal(a, b)
    torch.manual_seed(1)
    expected = pca_colour_shift(pca, torch.randn(3) * paper.PAPER.pca_alpha_std.value)
    torch.testing.assert_close((a - photo)[:, 0, 0], expected)


def test_augment_rejects_bad_input(photo):
    pca = colour_pca(photo)
    with pytest.raises(ValueError, match="RGB image"):
        pca_colour_augment(photo[:1], pca)
    with pytest.raises(ValueError, match="standard deviation"):
        pca_colour_augment(photo, pca, alpha_std=-1)
    with pytest.raises(ValueError, match="three numbers"):
        pca_colour_shift(pca, torch.zeros(2))
    with pytest.raises(ValueError, match="RGB"):
        colour_pca(torch.rand(1, 8, 8))


def test_ten_crop_is_torchvisions_ten_crop():
    image = torch.rand(3, 256, 256)
    mine = ten_crop(image, 224)
    theirs = torch.stack(TF.ten_crop(image, [224, 224]))
    assert torch.equal(mine[:5], theirs[:5])
    # torchvision crops the mirrored image: its top-left patch is the mirror of the top-right one
    mirrored = theirs[[6, 5, 8, 7, 9]]
    assert torch.equal(mine[5:], mirrored)


def test_ten_crop_corners_centre_and_mirrors_by_hand():
    image = torch.arange(5 * 6, dtype=torch.float32).reshape(1, 5, 6)
    crops = ten_crop(image, 3)
    assert torch.equal(crops[0], image[:, :3, :3]) and torch.equal(crops[3], image[:, 2:, 3:])
    assert torch.equal(crops[4], image[:, 1:4, 1:4])
    assert all(torch.equal(crops[5 + i], crops[i].flip(-1)) for i in range(5))


def test_ten_crop_rejects_a_crop_larger_than_the_image():
    with pytest.raises(ValueError, match="shorter side, 8"):
        ten_crop(torch.zeros(3, 8, 10), 9)


def test_ten_crop_model_averages_the_softmax_of_the_ten_patches():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 4 * 4, 5))
    images = torch.rand(2, 3, 6, 6)
    by_hand = torch.stack([net(ten_crop(image, 4)).softmax(-1).mean(0) for image in images])
    torch.testing.assert_close(TenCrop(net, 4)(images), by_hand)


def test_show_images_needs_one_title_per_image_and_shows_them():
    with pytest.raises(ValueError, match="one title per image"):
        show_images(torch.rand(2, 3, 4, 4), titles=["a"])
    fig = show_images(torch.rand(2, 3, 4, 4), titles=TenCrop.NAMES[:2], rescale=False)
    assert [ax.get_title() for ax in fig.axes] == ["top left", "top right"]
