"""The batch pipeline against torchvision's per-image transforms, shuffling by seed, Flowers102 loading."""

import hashlib
import time

import numpy as np
import pytest
import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.transforms import functional as TF
from torchvision.transforms.v2 import functional as F2

from alexnet_lib import data
from alexnet_lib.data import (
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    BatchLoader,
    BatchTransform,
    DataNotFoundError,
    _gather_crops,
    _slice_crops,
    fashion_mnist_loaders,
    load_fashion_mnist,
    validation_size,
    validation_split,
)
from alexnet_lib.datasets import flowers102
from alexnet_lib.datasets.flowers102 import flowers102_loaders, load_flowers102

ONE_LEVEL = 1 / 255


@pytest.fixture(scope="module")
def test_images():
    return load_fashion_mnist(train=False, limit=48)


def _pil(image: torch.Tensor) -> Image.Image:
    return Image.fromarray(image.numpy(), mode="L")


def torchvision_equivalent(transform: BatchTransform, train: bool = False) -> T.Compose:
    """The per-image torchvision transforms (a PIL image in, a float tensor out) that ``transform`` matches: its reference."""
    steps = [
        transform.resize and T.Resize(transform.resize, interpolation=T.InterpolationMode.BILINEAR, antialias=True),
        transform.crop and (T.RandomCrop(transform.crop, padding=transform.padding or None) if train
                            else T.CenterCrop(transform.crop)),
        train and transform.flip and T.RandomHorizontalFlip(),
        transform.channels == 3 and T.Grayscale(num_output_channels=3),
        T.ToTensor(),
        transform.mean is not None and T.Normalize(transform.mean, transform.std),
    ]
    return T.Compose([step for step in steps if step])


def _per_image(transform, images: torch.Tensor) -> torch.Tensor:
    return torch.stack([transform(_pil(im)) for im in images])


@pytest.mark.parametrize("size", [224, 64, 20])
def test_resize_equals_torchvision_v2_on_float_tensors(test_images, size):
    images, _ = test_images
    ours = BatchTransform(resize=size)(images)
    reference = F2.resize(images.unsqueeze(1).float() / 255, [size, size], antialias=True)
    assert ours.shape == (len(images), 1, size, size) and ours.dtype == torch.float32
    torch.testing.assert_close(ours, reference, atol=1e-6, rtol=0)


@pytest.mark.parametrize("size", [224, 64, 20])
def test_resize_matches_the_books_pil_resize_and_to_tensor(test_images, size):
    # PIL resizes in 8 bits and rounds; we keep floats: within one grey level, and far less on average.
    images, _ = test_images
    ours = BatchTransform(resize=size)(images)
    reference = _per_image(T.Compose([T.Resize(size), T.ToTensor()]), images)
    difference = (ours - reference).abs()
    assert difference.max() <= 1.01 * ONE_LEVEL
    assert difference.mean() <= 0.25 * ONE_LEVEL


def test_evaluation_path_matches_resize_center_crop_normalize(test_images):
    images, _ = test_images
    transform = BatchTransform(resize=36, crop=32, mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD)
    ours = transform(images)
    reference = _per_image(torchvision_equivalent(transform, train=False), images)
    assert ours.shape == (len(images), 1, 32, 32)
    assert (ours - reference).abs().max() <= 1.01 * ONE_LEVEL / FASHION_MNIST_STD[0]


def test_training_path_is_a_padded_crop_maybe_flipped_of_each_image(test_images):
    images, _ = test_images
    transform = BatchTransform(crop=28, padding=3, flip=True)
    out = transform(images, train=True, generator=torch.Generator().manual_seed(0))
    offsets, flips = set(), []
    for image, result in zip(images, out):
        padded = TF.pad(image.unsqueeze(0).float() / 255, [3])
        found = [
            (top, left, flip)
            for top in range(7)
            for left in range(7)
            for flip in (False, True)
            if torch.equal(result, (TF.hflip if flip else (lambda t: t))(TF.crop(padded, top, left, 28, 28)))
        ]
        assert found, "every output must be a 28×28 crop of the zero-padded image, flipped or not"
        offsets.add(found[0][:2])
        flips.append(found[0][2])
    assert len(offsets) > 10 and 0.2 < np.mean(flips) < 0.8


def test_gather_crops_used_on_gpus_equal_the_cpu_slices(test_images):
    images, _ = test_images
    x = torch.nn.functional.pad(images.unsqueeze(1).float(), (2, 2, 2, 2))
    top, left = torch.randint(0, 9, (len(x),)), torch.randint(0, 9, (len(x),))
    assert torch.equal(_slice_crops(x, top, left, 24, 24), _gather_crops(x, top, left, 24, 24))


def test_grey_channel_repeated_for_colour_models(test_images):
    images, _ = test_images
    out = BatchTransform(channels=3)(images[:4])
    assert out.shape == (4, 3, 28, 28) and torch.equal(out[:, 0], out[:, 2])
    with pytest.raises(ValueError, match="channels=2"):
        BatchTransform(channels=2)


def test_bad_arguments_name_the_value():
    with pytest.raises(ValueError, match="padding=2 pads before a random crop"):
        BatchTransform(padding=2)
    with pytest.raises(ValueError, match=r"resize=0"):
        BatchTransform(resize=0)
    with pytest.raises(ValueError, match="batch_size=0"):
        BatchLoader(torch.zeros(4, 8, 8, dtype=torch.uint8), torch.zeros(4), 0)
    with pytest.raises(ValueError, match="one label per image"):
        BatchLoader(torch.zeros(4, 8, 8, dtype=torch.uint8), torch.zeros(3), 2)


def test_shuffling_is_deterministic_by_seed_and_epoch():
    def labels_of(loader):
        return torch.cat([y for _, y in loader]).tolist()

    a = fashion_mnist_loaders(64, subset=(300, 10), seed=1, device="cpu", crop=28, padding=2, flip=True)
    b = fashion_mnist_loaders(64, subset=(300, 10), seed=1, device="cpu", crop=28, padding=2, flip=True)
    c = fashion_mnist_loaders(64, subset=(300, 10), seed=2, device="cpu")
    first_a, first_b = labels_of(a.train), labels_of(b.train)
    assert first_a == first_b and first_a != labels_of(c.train)
    assert labels_of(a.train) != first_a  # the next epoch draws a new order
    a.train.set_epoch(0)
    batch_a, batch_b = next(iter(a.train)), None
    b.train.set_epoch(0)
    batch_b = next(iter(b.train))
    assert torch.equal(batch_a[0], batch_b[0])  # augmentation too
    assert sorted(first_a + labels_of(a.val)) == sorted(load_fashion_mnist(train=True, limit=300)[1].tolist())


def test_validation_is_held_out_of_the_training_images_stratified_and_seeded():
    images, labels = load_fashion_mnist(train=True, limit=2_000)
    train, val = validation_split(labels, validation_size(len(labels)))
    assert len(val) == 500 and len(train) == 1_500
    assert set(train.tolist()).isdisjoint(val.tolist()) and sorted(train.tolist() + val.tolist()) == list(range(2_000))
    expected = labels.bincount().double() * 500 / 2_000  # each class in proportion to its share
    assert ((labels[val].bincount() - expected).abs() < 1).all()
    again, other = validation_split(labels, 500), validation_split(labels, 500, seed=1)
    assert torch.equal(again[1], val) and not torch.equal(other[1], val)
    loaders = fashion_mnist_loaders(100, subset=(2_000, 100), seed=3, device="cpu")  # the run's seed: not the split's
    assert torch.equal(loaders.val.images, images[val].unsqueeze(1)) and torch.equal(loaders.train.images, images[train].unsqueeze(1))
    assert sum(len(y) for _, y in loaders.train) == 1_500  # an epoch of the loop sees the training images alone
    assert fashion_mnist_loaders(100, subset=(200, 10), validation=False, device="cpu").val is None
    with pytest.raises(ValueError, match="leaves none for one side"):
        validation_split(labels[:10], 10)


def test_test_split_keeps_the_official_order_and_subset_counts():
    loaders = fashion_mnist_loaders(100, subset=(200, 150), device="cpu")
    assert (len(loaders.train.images), len(loaders.val.images), len(loaders.test.images)) == (150, 50, 150)
    labels = torch.cat([y for _, y in loaders.test])
    assert torch.equal(labels, load_fashion_mnist(train=False, limit=150)[1])
    x, _ = next(iter(loaders.test))
    assert x.min() >= 0 and x.max() <= 1 and x.dtype == torch.float32
    assert loaders.classes[0] == "t-shirt/top"
    capped = fashion_mnist_loaders(100, subset=100_000, device="cpu")  # an int keeps at most what is there
    assert len(capped.test.images) == data.fashion_mnist_counts()["test"]
    with pytest.raises(ValueError, match="asks for more test images"):
        fashion_mnist_loaders(100, subset=(10, 100_000), device="cpu")


def test_missing_fashion_mnist_fails_fast(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_DATA", str(tmp_path))
    monkeypatch.setenv("ALEXNET_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(DataNotFoundError, match="FashionMNIST/raw"):
        fashion_mnist_loaders(64)
    assert time.monotonic() - start < 5


# --- Flowers102, on a small folder in its on-disk layout --------------------------------------

FLOWER_SIZES = [(50, 70), (64, 48), (40, 40), (90, 60), (45, 80), (60, 61), (52, 44)]  # (height, width)


@pytest.fixture
def flowers_root(tmp_path, monkeypatch):
    """<tmp>/flowers-102/{jpg/image_0000k.jpg, imagelabels.mat, setid.mat}, as torchvision expects."""
    from scipy.io import savemat
    from torchvision.datasets import Flowers102

    folder = tmp_path / "flowers-102"
    (folder / "jpg").mkdir(parents=True)
    rng = np.random.default_rng(0)
    for i, (h, w) in enumerate(FLOWER_SIZES, 1):
        pixels = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(folder / "jpg" / f"image_{i:05d}.jpg", quality=95)
    savemat(folder / "imagelabels.mat", {"labels": np.array([5, 1, 102, 7, 5, 3, 9], dtype=np.uint8)})
    savemat(folder / "setid.mat", {"trnid": np.array([1, 3, 4]), "valid": np.array([2, 6]), "tstid": np.array([5, 7])})
    # torchvision checks the .mat files' md5 sums against the official ones: point it at ours
    md5 = {name: hashlib.md5((folder / name).read_bytes()).hexdigest() for name in ("imagelabels.mat", "setid.mat")}
    file_dict = dict(Flowers102._file_dict, label=("imagelabels.mat", md5["imagelabels.mat"]), setid=("setid.mat", md5["setid.mat"]))
    monkeypatch.setattr(Flowers102, "_file_dict", file_dict)
    monkeypatch.setenv("ALEXNET_OFFLINE", "1")
    return tmp_path


def test_flowers102_loads_split_labels_and_resized_center_squares(flowers_root):
    images, labels = load_flowers102("train", root=flowers_root, size=32)
    assert images.shape == (3, 3, 32, 32) and images.dtype == torch.uint8
    assert labels.tolist() == [4, 101, 6]  # image ids 1, 3, 4; torchvision's labels start at 0
    reference = T.Compose([T.Resize(32), T.CenterCrop(32), T.PILToTensor()])
    for image, image_id in zip(images, (1, 3, 4)):
        pil = Image.open(flowers_root / "flowers-102" / "jpg" / f"image_{image_id:05d}.jpg").convert("RGB")
        assert torch.equal(image, reference(pil))
    val_images, val_labels = load_flowers102("val", root=flowers_root, size=32, limit=1)
    assert val_images.shape == (1, 3, 32, 32) and val_labels.tolist() == [0]


def test_flowers102_through_the_same_batch_pipeline(flowers_root):
    loaders = flowers102_loaders(batch_size=2, image_size=28, load_size=32, root=flowers_root, device="cpu")
    x, y = next(iter(loaders.train))
    assert x.shape == (2, 3, 28, 28) and y.dtype == torch.int64
    assert (len(loaders.train.images), len(loaders.val.images), len(loaders.test.images)) == (3, 2, 2)
    assert len(loaders.classes) == 102
    test_x, _ = next(iter(loaders.val))
    stored = loaders.val.images[:2].float() / 255
    expected = F2.center_crop(stored, [28, 28])
    mean, std = torch.tensor(loaders.val.transform.mean), torch.tensor(loaders.val.transform.std)
    torch.testing.assert_close(test_x, (expected - mean.view(1, 3, 1, 1)) / std.view(1, 3, 1, 1))


def test_flowers102_bad_split_and_limit(flowers_root):
    with pytest.raises(ValueError, match="'training' is not a Flowers102 split"):
        load_flowers102("training", root=flowers_root)
    with pytest.raises(ValueError, match="limit=5 asks for more val images than the 2"):
        load_flowers102("val", root=flowers_root, limit=5)


def test_damaged_flowers102_is_reported(flowers_root):
    (flowers_root / "flowers-102" / "setid.mat").write_bytes(b"not a mat file")
    with pytest.raises(DataNotFoundError, match="incomplete or damaged"):
        load_flowers102("train", root=flowers_root, size=16)


def test_missing_flowers102_fails_fast_naming_the_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("ALEXNET_OFFLINE", "1")
    start = time.monotonic()
    with pytest.raises(DataNotFoundError) as excinfo:
        flowers102_loaders(root=tmp_path)
    assert time.monotonic() - start < 5
    message = str(excinfo.value)
    assert str(tmp_path / "flowers-102") in message and "ALEXNET_DATA" in message and "download=True" in message
    monkeypatch.delenv("ALEXNET_OFFLINE")
    monkeypatch.setattr(flowers102, "_host_reachable", lambda host, timeout=3.0: False)
    with pytest.raises(DataNotFoundError, match="no internet connection"):
        load_flowers102(root=tmp_path)
