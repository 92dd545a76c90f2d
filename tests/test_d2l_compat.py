"""The drop-ins run Dive into Deep Learning's code unchanged and keep the book's data semantics."""

import re

import pytest
import torch
from torch import nn

from alexnet_lib.course import d2l_compat
from alexnet_lib.config import get_config
from alexnet_lib.data import load_fashion_mnist


@pytest.fixture
def ci_profile(monkeypatch):
    monkeypatch.setenv("ALEXNET_PROFILE", "ci")  # the drop-ins use the profile's 2,000 / 1,000 images


def test_the_books_lenet_code_runs_unchanged(ci_profile, capsys):
    d2l = d2l_compat
    # Dive into Deep Learning (0.17, Chinese edition 2.0), section 6.6, verbatim except num_epochs.
    net = nn.Sequential(
        nn.Conv2d(1, 6, kernel_size=5, padding=2), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Conv2d(6, 16, kernel_size=5), nn.Sigmoid(),
        nn.AvgPool2d(kernel_size=2, stride=2),
        nn.Flatten(),
        nn.Linear(16 * 5 * 5, 120), nn.Sigmoid(),
        nn.Linear(120, 84), nn.Sigmoid(),
        nn.Linear(84, 10))

    X = torch.rand(size=(1, 1, 28, 28), dtype=torch.float32)
    for layer in net:
        X = layer(X)
        print(layer.__class__.__name__, 'output shape: \t', X.shape)

    batch_size = 256
    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size=batch_size)

    def evaluate_accuracy_gpu(net, data_iter, device=None):  #@save
        """使用GPU计算模型在数据集上的精度"""
        if isinstance(net, nn.Module):
            net.eval()  # 设置为评估模式
            if not device:
                device = next(iter(net.parameters())).device
        # 正确预测的数量，总预测的数量
        metric = [0.0, 0.0]
        with torch.no_grad():
            for X, y in data_iter:
                if isinstance(X, list):
                    X = [x.to(device) for x in X]
                else:
                    X = X.to(device)
                y = y.to(device)
                metric[0] += d2l.accuracy(net(X), y)
                metric[1] += y.numel()
        return metric[0] / metric[1]

    lr, num_epochs = 0.9, 1
    d2l.train_ch6(net, train_iter, test_iter, num_epochs, lr, d2l.try_gpu())

    printed = capsys.readouterr().out
    assert "Sigmoid output shape: \t torch.Size([1, 6, 28, 28])" in printed
    assert re.search(r"^training on (cpu|cuda:0|mps)$", printed, re.M)
    assert re.search(r"^loss \d\.\d{3}, train acc \d\.\d{3}, test acc \d\.\d{3}$", printed, re.M)
    assert re.search(r"^\d+\.\d examples/sec on (cpu|cuda:0|mps)$", printed, re.M)
    assert len(train_iter) == 8 and len(test_iter) == 4  # the ci profile: 2,000 and 1,000 images
    assert 0.0 <= evaluate_accuracy_gpu(net, test_iter) <= 1.0
    assert net.history["images"].tolist() == [2000]


def test_train_ch6_initialises_like_the_book_and_trains_with_plain_sgd(ci_profile, monkeypatch):
    from alexnet_lib import training

    seen = {}
    real_fit = training.fit

    def spy_fit(net, data, epochs, optimizer, **kwargs):
        seen["optimizer"] = optimizer
        return real_fit(net, data, epochs, optimizer, max_batches=1, progress=False, **kwargs)

    monkeypatch.setattr(training, "fit", spy_fit)
    net = nn.Sequential(nn.Flatten(), nn.Linear(784, 10))
    torch.nn.init.zeros_(net[1].weight)
    train_iter, test_iter = d2l_compat.load_data_fashion_mnist(64, subset=(64, 64), device="cpu")
    d2l_compat.train_ch6(net, train_iter, test_iter, 1, 0.5, "cpu")
    assert isinstance(seen["optimizer"], torch.optim.SGD)
    group = seen["optimizer"].param_groups[0]
    assert group["lr"] == 0.5 and group["momentum"] == 0 and group["weight_decay"] == 0
    assert net[1].weight.abs().sum() > 0  # Xavier-initialised, then trained


def test_data_have_the_books_semantics(ci_profile):
    train_iter, test_iter = d2l_compat.load_data_fashion_mnist(100, device="cpu")
    X, y = next(iter(test_iter))
    assert X.shape == (100, 1, 28, 28) and X.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= X.min() and X.max() <= 1.0
    images, labels = load_fashion_mnist(train=False, limit=100)
    assert torch.equal(y, labels) and torch.allclose(X[:, 0], images.float() / 255)  # test: in order, ToTensor
    first = torch.cat([y for _, y in train_iter])
    second = torch.cat([y for _, y in train_iter])
    assert len(first) == 2000 and not torch.equal(first, second)  # train: reshuffled every epoch
    assert not torch.equal(first, load_fashion_mnist(train=True, limit=2000)[1])


def test_resize_matches_the_books_loader_batch_for_batch(ci_profile, monkeypatch, tmp_path):
    """The book's own load_data_fashion_mnist (PIL Resize + ToTensor) on the same images, run from ../data."""
    pytest.importorskip("d2l")
    from d2l import torch as d2l

    (tmp_path / "data").symlink_to(get_config().data_root, target_is_directory=True)
    (tmp_path / "work").mkdir()
    monkeypatch.chdir(tmp_path / "work")
    monkeypatch.setattr(d2l, "get_dataloader_workers", lambda: 0)  # the book's 4 processes are slow to start
    _, book_test = d2l.load_data_fashion_mnist(64, resize=96)
    _, our_test = d2l_compat.load_data_fashion_mnist(64, resize=96, device="cpu")
    for (book_x, book_y), (our_x, our_y), _ in zip(book_test, our_test, range(2)):
        assert our_x.shape == book_x.shape == (64, 1, 96, 96)
        assert torch.equal(our_y, book_y)
        assert (our_x - book_x).abs().max() <= 1.01 / 255  # PIL rounds to 8 bits; we keep floats


def test_small_helpers():
    assert d2l_compat.get_fashion_mnist_labels(torch.tensor([0, 1, 9])) == ["t-shirt", "trouser", "ankle boot"]
    assert d2l_compat.accuracy(torch.tensor([[0.2, 0.8], [0.9, 0.1], [0.3, 0.7]]), torch.tensor([1, 0, 0])) == 2.0
    assert d2l_compat.try_gpu().type in {"cpu", "cuda", "mps"}
    with pytest.raises(ValueError, match="subset='all'"):
        d2l_compat.load_data_fashion_mnist(10, subset="all")
