"""Training throughput: Dive into Deep Learning's helpers against ours, on the book's AlexNet at 224×224.

In one process, the same model definition (the book's AlexNet, chapter 7.1 "Deep Convolutional
Neural Networks", copied below; it equals ``alexnet_d2l`` of our zoo layer for layer, which the
script checks) is trained for the same number of batches of the same size by

(a) the book: ``d2l.load_data_fashion_mnist(batch_size, resize=224)`` + ``d2l.train_ch6``
    (PIL resizing per image in 4 DataLoader workers, float32, its Animator drawn headless);
(b) ours: ``alexnet_lib.course.d2l_compat.load_data_fashion_mnist`` + ``train_ch6``, the drop-ins
    with the same names and arguments (batches resized on the device, bf16/AMP and
    channels_last where they help).

Each engine's ``train_ch6`` call is timed from start to end, so everything the book's loop
does counts (data loading, worker start-up, the plot, evaluating the test batches); the only
change to the book's code is a wrapper that stops its iterators after ``--batches`` training
and ``--test-batches`` test batches. Before the timed calls each engine does one untimed
training step in its own arithmetic (one-off kernel set-up is not throughput).

Prints images/s for both, the ratio, and our GFLOP/s, counting a training step as 3 × the
forward pass and a multiply-accumulate as 2 FLOPs (forward MACs from
``alexnet_lib.course.tables.layer_table``). ``--sweep MODEL`` instead measures our engine alone with
mixed precision and channels_last on and off.

Run: python benchmarks/bench_training.py [--batches N] [--batch-size B] [--device cpu|cuda]
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import sys
import tempfile
import time
import warnings
from pathlib import Path

os.environ.setdefault("MPLBACKEND", "Agg")  # the book's Animator draws into a headless backend

import torch
from torch import nn

from alexnet_lib.config import get_config
from alexnet_lib.data import ensure_fashion_mnist
from alexnet_lib.course.reference import cpu_model


def book_alexnet() -> nn.Sequential:
    """Dive into Deep Learning, 7.1 (d2l 0.17 / Chinese edition), the AlexNet for Fashion-MNIST, verbatim."""
    return nn.Sequential(
        nn.Conv2d(1, 96, kernel_size=11, stride=4, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(96, 256, kernel_size=5, padding=2), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Conv2d(256, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 384, kernel_size=3, padding=1), nn.ReLU(),
        nn.Conv2d(384, 256, kernel_size=3, padding=1), nn.ReLU(),
        nn.MaxPool2d(kernel_size=3, stride=2),
        nn.Flatten(),
        nn.Linear(6400, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 4096), nn.ReLU(), nn.Dropout(p=0.5),
        nn.Linear(4096, 10))


def forward_macs(side: int = 224) -> int:
    """Forward multiply-accumulates per image of the book's AlexNet; checks it equals our ``alexnet_d2l``."""
    from alexnet_lib.models import get
    from alexnet_lib.course.tables import layer_table

    book = layer_table(book_alexnet(), (1, side, side))
    ours = layer_table(get("alexnet_d2l", seed=0), (1, side, side))
    book_layers = book[book["params"] > 0][["type", "output_shape", "params", "macs"]].reset_index(drop=True)
    our_layers = ours[ours["params"] > 0][["type", "output_shape", "params", "macs"]].reset_index(drop=True)
    if not book_layers.equals(our_layers):
        raise SystemExit("the book's AlexNet and alexnet_d2l differ:\n" + book_layers.compare(our_layers).to_string())
    return int(book.iloc[-1]["macs"])


class Limited:
    """The first ``n`` batches of an iterable, with ``len`` (the book's loop calls it)."""

    def __init__(self, iterable, n: int) -> None:
        self.iterable, self.n = iterable, n

    def __len__(self) -> int:
        return self.n

    def __iter__(self):
        for i, batch in enumerate(self.iterable):
            if i >= self.n:
                break
            yield batch


@contextlib.contextmanager
def book_data_root(root: Path):
    """Run with a working directory whose ``../data`` is our data root: the book reads ``../data``."""
    before = Path.cwd()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "data").symlink_to(root, target_is_directory=True)
        (Path(tmp) / "work").mkdir()
        os.chdir(Path(tmp) / "work")
        try:
            yield
        finally:
            os.chdir(before)


def one_step(net: nn.Module, batch_size: int, device: torch.device, amp: bool, channels_last: bool) -> None:
    """One untimed training step in an engine's arithmetic (sets up its kernels; ours also autotunes cuDNN, as fit does)."""
    before = torch.backends.cudnn.benchmark
    torch.backends.cudnn.benchmark = amp and device.type == "cuda"  # as fit's Precision callback does
    try:
        _step(net, batch_size, device, amp, channels_last)
    finally:
        torch.backends.cudnn.benchmark = before


def _step(net: nn.Module, batch_size: int, device: torch.device, amp: bool, channels_last: bool) -> None:
    from alexnet_lib.callbacks import choose_precision

    precision = choose_precision(device, amp="auto" if amp else False, channels_last="auto" if channels_last else False)
    net.to(device)
    if precision.channels_last:
        net.to(memory_format=torch.channels_last)
    x = torch.rand(batch_size, 1, 224, 224, device=device)
    if precision.channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    y = torch.randint(0, 10, (batch_size,), device=device)
    with precision.autocast():
        loss = nn.functional.cross_entropy(net(x), y)
    loss.backward()
    if device.type == "cuda":
        torch.cuda.synchronize()


def timed(fn) -> tuple[float, str]:
    """Seconds ``fn()`` takes and what it printed (progress bars and warnings are dropped)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()), warnings.catch_warnings():
        # the book's loop warns that 4 loader workers exceed a 2-core CPU's 2, and about its plot's x limits
        warnings.simplefilter("ignore", UserWarning)
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return seconds, out.getvalue()


def printed_lines(text: str) -> str:
    """The book's two result lines (its Animator prints figure reprs outside notebooks)."""
    keep = [line for line in text.splitlines() if line.startswith(("loss ", "training on")) or "examples/sec" in line]
    return "\n".join("      | " + line for line in keep)


def run_book(args, device: torch.device) -> float:
    try:
        from d2l import torch as d2l
    except ImportError as exc:
        raise SystemExit(f"the book's helpers are needed for (a): {exc}. Install them with "
                         "`pip install --no-deps d2l==1.0.3` (make setup does), or run --engine ours.") from None

    root = get_config().data_root
    with book_data_root(root), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # 4 loader workers on a 2-core CPU: the book's choice, kept
        train_iter, test_iter = d2l.load_data_fashion_mnist(args.batch_size, resize=224)
    net = book_alexnet()
    one_step(net, args.batch_size, device, amp=False, channels_last=False)
    net = book_alexnet()
    with book_data_root(root):
        seconds, text = timed(
            lambda: d2l.train_ch6(net, Limited(train_iter, args.batches), Limited(test_iter, args.test_batches), args.epochs, args.lr, device)
        )
    print(printed_lines(text))
    return seconds


def run_ours(args, device: torch.device) -> float:
    from alexnet_lib.course import d2l_compat

    subset = (args.batches * args.batch_size, args.test_batches * args.batch_size)
    train_iter, test_iter = d2l_compat.load_data_fashion_mnist(args.batch_size, resize=224, subset=subset, device=device)
    net = book_alexnet()
    one_step(net, args.batch_size, device, amp=True, channels_last=True)
    net = book_alexnet()
    seconds, text = timed(lambda: d2l_compat.train_ch6(net, train_iter, test_iter, args.epochs, args.lr, device))
    print(printed_lines(text))
    print(f"      | {net.history.attrs['precision']}")
    return seconds


def sweep(args, device: torch.device) -> None:
    """Our engine alone: images/s with mixed precision and channels_last on and off."""
    from alexnet_lib.data import fashion_mnist_loaders
    from alexnet_lib.models import get
    from alexnet_lib.training import fit

    kwargs = {"activation": "relu"} if args.sweep == "lenet" else {}
    model = get(args.sweep, seed=0, **kwargs)
    side = model.input_size[-1]
    subset = (args.batches * args.batch_size, 1)
    data = fashion_mnist_loaders(args.batch_size, resize=side if side != 28 else None, subset=subset, device=device)
    print(f"{args.sweep} at {side}×{side}, batches of {args.batch_size}, {args.batches} batches per setting, best of {args.repeats}")
    results = {}
    for repeat in range(args.repeats + 1):  # the first round only warms up
        for amp in (False, True):
            for channels_last in (False, True):
                model = get(args.sweep, seed=0, **kwargs)
                history = fit(model, (data.train, None), 1, "sgd", 0.01, device=device, amp=amp,
                              channels_last=channels_last, progress=False)
                if repeat:
                    key = (amp, channels_last)
                    results[key] = max(results.get(key, 0.0), float(history["images_per_s"].iloc[0]))
    base = results[(False, False)]
    for (amp, channels_last), speed in results.items():
        label = f"{'bf16/AMP' if amp else 'float32'} + {'channels_last' if channels_last else 'contiguous'}"
        print(f"  {label:34s} {speed:10,.1f} images/s  {speed / base:5.2f}x")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int,
                        help="training batches per engine (default 5 on a CPU, 50 on CUDA; the book's loop needs >= 5)")
    parser.add_argument("--epochs", type=int,
                        help="passes over those batches, each engine (default 1 on a CPU, 3 on CUDA, where one pass "
                             "of the offline subset lasts well under a second and start-up costs would dominate)")
    parser.add_argument("--test-batches", type=int, default=1, help="test batches each engine evaluates (default 1)")
    parser.add_argument("--batch-size", type=int, default=128, help="images per batch (default 128, the book's)")
    parser.add_argument("--lr", type=float, default=0.01, help="learning rate (default 0.01, the book's)")
    parser.add_argument("--device", choices=["cpu", "cuda"], help="default: cuda if available, else cpu")
    parser.add_argument("--engine", choices=["both", "book", "ours"], default="both")
    parser.add_argument("--sweep", metavar="MODEL",
                        help="measure our engine alone with amp and channels_last on/off (e.g. lenet, alexnet_d2l)")
    parser.add_argument("--repeats", type=int, default=2, help="for --sweep: measured rounds, best kept (default 2)")
    args = parser.parse_args(argv)
    device = torch.device(args.device or ("cuda" if torch.cuda.is_available() else "cpu"))
    if device.type == "cuda" and not torch.cuda.is_available():
        raise SystemExit("--device cuda: PyTorch sees no CUDA GPU here; run with --device cpu.")
    counts = ensure_fashion_mnist()
    most = counts["train"] // args.batch_size
    args.batches = args.batches or (min(50, most) if device.type == "cuda" else 5)
    args.epochs = args.epochs or (3 if device.type == "cuda" else 1)
    if args.batches > most:
        raise SystemExit(f"--batches {args.batches}: only {most} whole batches of {args.batch_size} "
                         f"in the {counts['train']:,} training images on disk.")
    if args.test_batches * args.batch_size > counts["test"]:
        raise SystemExit(f"--test-batches {args.test_batches}: the {counts['test']:,} test images "
                         f"hold fewer batches of {args.batch_size}.")
    cpu = f"{cpu_model()}, {os.cpu_count()} cores"
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else cpu
    print(f"torch {torch.__version__} on {device} ({name}), {torch.get_num_threads()} threads; load average {os.getloadavg()[0]:.2f}")
    print(f"data: {get_config().data_root} ({counts['train']:,} training images)")
    if args.sweep:
        sweep(args, device)
        return
    if args.batches < 5 and args.engine != "ours":
        raise SystemExit("--batches must be at least 5: the book's train_ch6 plots every len(train_iter) // 5 batches.")
    macs = forward_macs()
    flops_per_image = 3 * 2 * macs
    images = args.epochs * args.batches * args.batch_size
    print(f"model: the book's AlexNet (= alexnet_d2l), 1×224×224, {macs / 1e6:,.0f} M forward MACs per image; "
          f"{args.epochs} × ({args.batches} batches of {args.batch_size} + {args.test_batches} test batch(es)) per engine")
    speeds = {}
    for engine, run in (("book", run_book), ("ours", run_ours)):
        if args.engine not in ("both", engine):
            continue
        if engine == "book":
            print("(a) d2l.load_data_fashion_mnist + d2l.train_ch6")
        else:
            print("(b) alexnet_lib (drop-in load_data_fashion_mnist + train_ch6)")
        seconds = run(args, device)
        speeds[engine] = images / seconds
        print(f"    {images:,} images in {seconds:.1f} s: {speeds[engine]:,.1f} images/s, "
              f"{speeds[engine] * flops_per_image / 1e9:,.0f} GFLOP/s (training = 3 × forward, 2 FLOPs per MAC)")
    if len(speeds) == 2:
        print(f"ratio ours / book: {speeds['ours'] / speeds['book']:.2f}x   (load average now {os.getloadavg()[0]:.2f})")


if __name__ == "__main__":
    main()
    sys.stdout.flush()
