"""Dive into Deep Learning's classic helpers, with the book's names and signatures, on our fast engine.

The popular LeNet and AlexNet tutorials (Dive into Deep Learning 0.17 and its Chinese edition,
chapters 6.6 and 7.1) call ``d2l.load_data_fashion_mnist(batch_size, resize=None)`` and
``d2l.train_ch6(net, train_iter, test_iter, num_epochs, lr, device)``. Import this module
under the book's name and their code runs unchanged, only faster::

    from alexnet_lib.course import d2l_compat

    train_iter, test_iter = d2l.load_data_fashion_mnist(batch_size=256)
    d2l.train_ch6(net, train_iter, test_iter, num_epochs=10, lr=0.9, device=d2l.try_gpu())

What stays the book's: the returned iterables yield ``X`` float32 ``(N, 1, H, W)`` in [0, 1]
(as ``ToTensor``) and ``y`` int64, the training set reshuffled every epoch and the test set
in order; ``resize`` as ``transforms.Resize(resize)``; ``train_ch6`` initialises every
``nn.Linear`` and ``nn.Conv2d`` with Xavier-uniform weights, trains with plain SGD at ``lr``
and cross-entropy, and prints ``training on ...``, ``loss ..., train acc ..., test acc ...``
and ``... examples/sec on ...``.

What is different: the data come from the configured data root (``ALEXNET_DATA``), not
``../data``; by default only as many leading images as the active profile uses (all of them
with the ``cpu`` and ``gpu`` profiles); the images are held on the training device and
resized a whole batch at a time there (:mod:`alexnet_lib.data`), instead of per image with
PIL in four worker processes; training runs through :func:`alexnet_lib.training.fit`, with
mixed precision and channels_last where they help, a progress bar, and a live learning curve
in notebooks in place of the book's ``Animator``. The printed examples/sec count the whole
training loop, data included (the book's count only the time inside each step).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import torch
from torch import nn

from .. import training
from ..config import get_config
from ..data import CLASS_NAMES, BatchLoader, fashion_mnist_loaders
from .evaluation import evaluate
from .plots import to_numpy

__all__ = [
    "accuracy",
    "evaluate_accuracy_gpu",
    "get_fashion_mnist_labels",
    "load_data_fashion_mnist",
    "show_images",
    "train_ch6",
    "try_gpu",
]


def try_gpu(i: int = 0) -> torch.device:
    """``cuda:i`` if it exists, else the Apple GPU (``mps``) if there is one, else ``cpu`` (the book's, plus MPS).

    >>> try_gpu().type in {"cuda", "mps", "cpu"}
    True
    """
    if torch.cuda.device_count() > i:
        return torch.device(f"cuda:{i}")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def load_data_fashion_mnist(
    batch_size: int,
    resize: int | tuple[int, int] | None = None,
    *,
    subset: int | tuple[int | None, int | None] | str | None = "profile",
    device: str | torch.device | None = None,
    seed: int = 0,
    root: str | Path | None = None,
) -> tuple[BatchLoader, BatchLoader]:
    """The book's ``load_data_fashion_mnist``: training (shuffled) and test iterables of ``(X, y)``.

    ``resize`` matches ``transforms.Resize(resize)`` followed by ``ToTensor()``. The keyword
    arguments are ours: ``subset`` (default: the active profile's image counts; None: all),
    ``device`` (default: the best available), ``seed`` (the shuffle), ``root`` (the data root).

    >>> train_iter, test_iter = load_data_fashion_mnist(batch_size=256, resize=64, subset=(512, 256), device="cpu")
    >>> X, y = next(iter(train_iter))
    >>> X.shape, X.dtype, y.dtype, len(train_iter), len(test_iter)
    (torch.Size([256, 1, 64, 64]), torch.float32, torch.int64, 2, 1)
    """
    if isinstance(subset, str):
        if subset != "profile":
            raise ValueError(f"subset={subset!r} should be 'profile', an int, a pair (train, test) or None.")
        profile = get_config().profile
        subset = (profile.train_images, profile.test_images)
    loaders = fashion_mnist_loaders(batch_size, resize=resize, subset=subset, validation=False, device=device, seed=seed,
                                    root=root)
    return loaders.train, loaders.test  # the book's pair: it scores its test images every epoch


def accuracy(y_hat: torch.Tensor, y: torch.Tensor) -> float:
    """The number of correct predictions (the book's ``accuracy``: a count, not a fraction).

    >>> accuracy(torch.tensor([[0.1, 0.9], [0.8, 0.2]]), torch.tensor([1, 1]))
    1.0
    """
    if y_hat.dim() > 1 and y_hat.shape[1] > 1:
        y_hat = y_hat.argmax(dim=1)
    return float((y_hat.to(y.dtype) == y).sum())


def evaluate_accuracy_gpu(net: nn.Module, data_iter: Iterable, device: str | torch.device | None = None) -> float:
    """The accuracy of ``net`` on ``data_iter`` (the book's function; runs under ``torch.inference_mode``).

    >>> net = nn.Sequential(nn.Flatten(), nn.Linear(4, 2))
    >>> 0.0 <= evaluate_accuracy_gpu(net, [(torch.zeros(2, 1, 2, 2), torch.tensor([0, 1]))]) <= 1.0
    True
    """
    return evaluate(net, data_iter, device=device, amp="auto", channels_last=False)["acc"]


def train_ch6(
    net: nn.Module, train_iter: Iterable, test_iter: Iterable, num_epochs: int, lr: float, device: str | torch.device
) -> None:
    """The book's ``train_ch6`` (Xavier init, SGD at ``lr``, cross-entropy), run by :func:`alexnet_lib.training.fit`.

    Prints what the book prints. The history (a DataFrame) is kept as ``net.history``.
    """
    def init_weights(m: nn.Module) -> None:
        if type(m) == nn.Linear or type(m) == nn.Conv2d:  # noqa: E721 (the book's test)
            nn.init.xavier_uniform_(m.weight)

    net.apply(init_weights)
    print("training on", device)
    optimizer = torch.optim.SGD(net.parameters(), lr=lr)
    history = training.fit(net, (train_iter, test_iter), num_epochs, optimizer=optimizer, loss_fn=nn.CrossEntropyLoss(), device=device)
    net.history = history
    if history.empty:  # stopped by Ctrl-C before the first batch finished; fit said so
        return
    last = history.iloc[-1]
    print(f"loss {last.train_loss:.3f}, train acc {last.train_acc:.3f}, test acc {last.val_acc:.3f}")  # the book's test_iter
    train_seconds = (history["images"] / history["images_per_s"]).sum()
    print(f"{history['images'].sum() / train_seconds:.1f} examples/sec on {str(device)}")


def get_fashion_mnist_labels(labels: Iterable[int]) -> list[str]:
    """Text labels of Fashion-MNIST class numbers (the book's short names).

    >>> get_fashion_mnist_labels([0, 9])
    ['t-shirt', 'ankle boot']
    """
    names = ["t-shirt"] + list(CLASS_NAMES[1:])
    return [names[int(i)] for i in labels]


def show_images(imgs: Sequence | torch.Tensor, num_rows: int, num_cols: int, titles: Sequence[str] | None = None, scale: float = 1.5):
    """The book's ``show_images``: a ``num_rows × num_cols`` grid of images with pyplot; returns the axes.

    >>> axes = show_images(torch.zeros(2, 28, 28), 1, 2, titles=["a", "b"])
    >>> len(axes), axes[1].get_title()
    (2, 'b')
    >>> import matplotlib.pyplot as plt; plt.close(axes[0].figure)
    """
    _, axes = plt.subplots(num_rows, num_cols, figsize=(num_cols * scale, num_rows * scale))
    axes = axes.flatten() if hasattr(axes, "flatten") else [axes]
    for i, (ax, img) in enumerate(zip(axes, imgs)):
        if torch.is_tensor(img):
            img = to_numpy(img)
        ax.imshow(img)
        ax.axes.get_xaxis().set_visible(False)
        ax.axes.get_yaxis().set_visible(False)
        if titles:
            ax.set_title(titles[i])
    return axes
