"""Issue 28, part 1: AlexNet on any image folder (alexnet_lib.datasets.imagefolder), through the paper's pipeline.

Every folder is generated here (JPEGs and PNGs, mixed sizes, RGB and grey); nothing is downloaded.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
import torchvision.transforms as T1
import torchvision.transforms.v2 as T
from PIL import Image

from alexnet_lib.course.augmentation import ten_crop
from alexnet_lib.datasets import imagefolder as imf
from alexnet_lib.datasets.flowers102 import IMAGENET_STD
from alexnet_lib.parallel.ddp import ShardedBatches
from alexnet_lib.runs.checkpoints import load_checkpoint
from alexnet_lib.runs.cli import main

REPO = Path(__file__).resolve().parents[1]


def _image(rng: np.random.Generator, label: int, grey: bool) -> Image.Image:
    h, w = (int(v) for v in rng.integers(36, 110, size=2))
    pixels = rng.random((h, w, 3)) * 60
    pixels[..., label % 3] += 150 + 30 * (label // 3)  # each class its own colour, to be learnt
    image = Image.fromarray(pixels.clip(0, 255).astype(np.uint8))
    return image.convert("L") if grey else image


def make_folder(root: Path, classes: int = 6, train: int = 8, val: int = 3, seed: int = 0) -> Path:
    """``root/train/class<k>/*`` and ``root/val/class<k>/*``: JPEGs and PNGs, RGB and grey, of mixed sizes."""
    rng = np.random.default_rng(seed)
    for split, n in (("train", train), ("val", val)):
        for k in range(classes):
            folder = root / split / f"class{k}"
            folder.mkdir(parents=True)
            for i in range(n):
                image = _image(rng, k, grey=i % 4 == 3)
                image.save(folder / (f"{i}.png" if i % 2 else f"{i}.jpg"))
    return root


@pytest.fixture(scope="module")
def folder(tmp_path_factory) -> Path:
    return make_folder(tmp_path_factory.mktemp("images"))


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    status = main(["train", *argv])
    out, err = capsys.readouterr()
    return status, out, err


def test_train_on_an_image_folder_reports_top1_and_top5_and_saves_the_run(folder, tmp_path, capsys):
    out_dir = tmp_path / "run"
    status, out, err = _run(capsys, "alexnet_2012", "--data", f"imagefolder:{folder}", "--set", "input_size=64",
                            "--epochs", "1", "--batch", "16", "--out", str(out_dir))
    assert status == 0, err
    assert "6 classes, 48 training and 18 validation images" in out
    assert "top-1" in out and "top-5" in out and "ten patches" in out
    assert (out_dir / "history.csv").is_file() and (out_dir / "checkpoint.pt").is_file()
    checkpoint = load_checkpoint(out_dir / "checkpoint.pt")
    model, history = checkpoint.model, checkpoint.history
    attrs = history.attrs
    assert model(torch.zeros(2, 3, 64, 64)).shape == (2, 6)  # built for colour, 64×64 and the folder's 6 classes
    assert attrs["top_k"] == 5 and attrs["val_images"] == 18
    assert 0 <= attrs["top1_centre"] <= attrs["topk_centre"] <= 1
    assert attrs["top1_centre"] == pytest.approx(history["val_acc"].iloc[-1])  # the same images, crop, model


def test_fewer_than_five_classes_are_scored_top_k_and_said_so(tmp_path):
    root = make_folder(tmp_path / "three", classes=3, train=2, val=2)
    model = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.LazyLinear(3))
    model(torch.zeros(1, 3, 24, 24))
    scores = imf.imagefolder_scores(model, root, 24, batch_size=4, workers=0, device="cpu")
    assert scores["top_k"] == 3 and scores["topk_centre"] == scores["topk_ten_patches"] == 1.0
    assert "top-5 needs 5 classes or more: with 3, top-3 is shown" in imf.scores_text(scores)


def _photo(folder: Path) -> torch.Tensor:
    return imf.decode_rgb(folder / "train" / "class1" / "0.jpg")


def test_centre_crop_is_torchvisions_resize_then_centre_crop(folder):
    for path in sorted((folder / "val").rglob("*.*"))[:6]:  # JPEG and PNG, RGB and grey
        image = imf.decode_rgb(path)
        ours = imf.centre_view(image, 73, 64)
        assert ours.shape == (3, 64, 64)
        assert torch.equal(ours, T.Compose([T.Resize(73), T.CenterCrop(64)])(image))
        assert (ours.int() - T1.Compose([T1.Resize(73), T1.CenterCrop(64)])(image).int()).abs().max() <= 1  # v1 rounds apart
        pil = T1.Compose([T1.Resize(73), T1.CenterCrop(64), T1.PILToTensor()])(Image.open(path).convert("RGB"))
        assert (ours.float() - pil.float()).abs().mean() < 2  # PIL's resampling: the reference pipeline's, within 2 levels


def test_ten_patches_are_torchvisions_ten_crop(folder):
    image = _photo(folder)
    square = imf.square_view(image, 80)
    ours = ten_crop(square, 64)
    theirs = T.TenCrop(64)(T.CenterCrop(80)(T.Resize(80)(image)))
    assert ours.shape == (10, 3, 64, 64) and all(torch.equal(a, b) for a, b in zip(ours[:5], theirs[:5]))
    # torchvision cuts the mirrored five from the mirrored image: its 'top left' is the mirror of our 'top right'
    assert all(torch.equal(ours[5 + i], theirs[5 + j]) for i, j in enumerate([1, 0, 3, 2, 4]))


def test_training_crops_have_the_size_vary_and_are_windows_of_the_square(folder):
    image = _photo(folder)
    square = imf.square_view(image, 73)
    crops = [imf.train_view(image, 73, 64, torch.Generator().manual_seed(s)) for s in range(24)]
    assert all(c.shape == (3, 64, 64) for c in crops)
    assert len({c.numpy().tobytes() for c in crops}) > 8  # positions and mirror images differ
    windows = {square[:, t : t + 64, l : l + 64].numpy().tobytes() for t in range(10) for l in range(10)}
    mirrored = sum(c.numpy().tobytes() not in windows for c in crops)
    assert all(c.numpy().tobytes() in windows or c.flip(-1).numpy().tobytes() in windows for c in crops)
    assert 3 <= mirrored <= 21  # about half are mirror images


def test_loaders_batch_shapes_and_epochs_differ(folder):
    data = imf.imagefolder_loaders(folder, batch_size=48, image_size=64, pca=False, workers=0, device="cpu")
    (x1, y1), (x2, y2) = next(iter(data.train)), next(iter(data.train))
    assert x1.shape == (48, 3, 64, 64) and x1.dtype == torch.float32 and sorted(y1.tolist()) == sorted(y2.tolist())
    assert not torch.equal(x1, x2)  # another pass: another order, other crops
    data.train.set_epoch(0)
    assert torch.equal(next(iter(data.train))[0], x1)  # the same pass again: the same batch
    xv, yv = next(iter(data.val))
    assert xv.shape == (18, 3, 64, 64) and data.classes == tuple(f"class{k}" for k in range(6))


def test_pca_colour_shift_is_small_one_per_image_and_uses_orthonormal_components(folder):
    plain, shifted = (imf.imagefolder_loaders(folder, 16, 64, pca=pca, workers=0, device="cpu") for pca in (False, True))
    vectors = shifted.train.pca.eigenvectors
    assert torch.allclose(vectors.T @ vectors, torch.eye(3), atol=1e-5)
    assert bool((shifted.train.pca.eigenvalues > 0).all())
    (a, ya), (b, yb) = next(iter(plain.train)), next(iter(shifted.train))
    assert a.shape == b.shape and torch.equal(ya, yb)  # the same crops, as the same seed draws them
    difference = (b - a) * torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)  # back in pixel values in [0, 1]
    per_image = difference.flatten(2)
    assert torch.allclose(per_image, per_image[..., :1].expand_as(per_image), atol=1e-5)  # one shift for every pixel
    assert 0 < per_image.abs().max() < 0.1  # small: a change of the light, not of the picture


def test_a_file_that_fails_in_a_worker_is_named_in_one_sentence(tmp_path):
    root = make_folder(tmp_path / "late", classes=2, train=4, val=2)
    data = imf.imagefolder_loaders(root, batch_size=4, image_size=32, pca=False, workers=1, device="cpu")
    bad = root / "train" / "class0" / "0.jpg"
    bad.write_bytes(b"\xff\xd8\xff\xe0 not a JPEG")  # damaged after the check
    with pytest.raises(imf.UnreadableImageError) as caught:
        list(data.train)
    assert str(caught.value).startswith(f"{bad} cannot be read as an image") and "Traceback" not in str(caught.value)


def _damaged(tmp_path: Path, damage) -> Path:
    root = make_folder(tmp_path / "damaged", classes=3, train=3, val=2)
    damage(root)
    return root


@pytest.mark.parametrize("damage, expected", [
    (lambda root: (root / "train" / "class1" / "2.jpg").write_bytes(b"\xff\xd8\xff\xe0" + bytes(200)),
     "train/class1/2.jpg cannot be read as an image"),
    (lambda root: [p.unlink() for p in (root / "val" / "class2").iterdir()], "val/class2 holds no images"),
    (lambda root: (root / "val" / "class2").rename(root / "val" / "class9"),
     "differ (only in train/: class2; only in val/: class9)"),
    (lambda root: (root / "val").rename(root / "validation"), "has no val/ folder"),
], ids=["corrupt-jpeg", "empty-class", "mismatched-classes", "no-val"])
def test_damaged_data_is_one_sentence_and_status_2(tmp_path, capsys, damage, expected):
    root = _damaged(tmp_path, damage)
    status, out, err = _run(capsys, "alexnet_2012", "--data", f"imagefolder:{root}", "--set", "input_size=64",
                            "--epochs", "1", "--out", str(tmp_path / "run"))
    assert status == 2 and "Traceback" not in err
    assert err.count("\n") == 1 and err.startswith("error: ") and expected in err
    assert not (tmp_path / "run" / "checkpoint.pt").exists()


def test_models_for_one_grey_channel_and_unknown_data_are_refused(folder, capsys):
    status, _, err = _run(capsys, "lenet5_1998", "--data", f"imagefolder:{folder}")
    assert status == 2 and "cannot be built for colour images" in err
    status, _, err = _run(capsys, "alexnet_2012", "--data", "cifar10")
    assert status == 2 and "write fashion-mnist (the default) or imagefolder:PATH" in err


def test_a_sharded_loader_yields_each_process_its_share_of_each_batch_with_its_crops_and_colours(folder):
    # 48 images in batches of 20: 20, 20, 8; on 3 processes each takes 7 or 6 of the first two and 3 or 2 of the last
    whole, *parts = (imf.imagefolder_loaders(folder, 20, 32, seed=3, workers=0, device="cpu").train for _ in range(4))
    shares = [list(ShardedBatches(part, rank, 3)) for rank, part in enumerate(parts)]
    assert [len(y) for _, y in shares[1]] == [7, 7, 3] and len(parts[0]) == len(whole) == 3  # as ShardedBatches counts
    for k, (x, y) in enumerate(whole):
        for rank in range(3):
            assert torch.equal(shares[rank][k][1], y[rank::3]) and torch.equal(shares[rank][k][0], x[rank::3])
    assert [len(y) for _, y in ShardedBatches(parts[0].shard(0, 1), 0, 9)] == [3, 3]  # the batch of 8 < 9: left out
    assert torch.equal(ShardedBatches(parts[0], 0, 3).labels, whole.labels)  # fit checks the classes against all labels


@pytest.mark.slow
def test_two_processes_train_an_image_folder_to_the_weights_of_one_and_report_once(tmp_path, monkeypatch):
    # alexnet with dropout=0: dropout draws its masks in each process, so no model with dropout can match one process
    root = make_folder(tmp_path / "five", classes=5, train=4, val=2)  # 20 images: batches of 16 and 4 halve exactly
    env = {**os.environ, "PYTHONPATH": str(REPO), "ONEDNN_MAX_CPU_ISA": "AVX2", "OMP_NUM_THREADS": "1"}  # float32
    for name in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE", "ALEXNET_TRACEBACK"):
        env.pop(name, None)
    train = ["alexnet", "--set", "dropout=0", "--data", f"imagefolder:{root}", "--set", "input_size=64", "--epochs", "1",
             "--batch", "16", "--device", "cpu"]
    two = subprocess.Popen([sys.executable, "-m", "alexnet_lib", "train", *train, "--nproc", "2", "--out",
                            str(tmp_path / "two")], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", "AVX2")  # meanwhile, the same run in this process
    assert main(["train", *train, "--out", str(tmp_path / "one")]) == 0
    out, err = two.communicate(timeout=120)
    assert two.returncode == 0, err[-3000:]
    assert "2 processes, training figures of process 0's share" in out
    assert out.count("top-1") == out.count("top-5") == 2 and out.count("validation, 10 images") == 1  # one line, printed once
    single, double = (load_checkpoint(tmp_path / run / "checkpoint.pt") for run in ("one", "two"))
    assert double.history.attrs["top_k"] == 5 and double.history.attrs["val_images"] == 10
    weights = [c.model.state_dict() for c in (single, double)]
    assert max((weights[0][k] - weights[1][k]).abs().max().item() for k in weights[0]) < 1e-5
