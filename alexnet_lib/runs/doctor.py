"""The ``doctor`` command's report: versions, device, profile, data root, and whether Fashion-MNIST is there and whole."""

from __future__ import annotations

import argparse
import platform
from importlib import metadata

from ..config import get_config, shown_path

__all__ = ["doctor_command", "doctor_report"]


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def doctor_report(download: bool = False, full_paths: bool = True) -> tuple[str, bool]:
    """The environment check as text, and whether Fashion-MNIST is ready to use.

    ``full_paths=False`` shows the data root as ``config.shown_path`` does (for notebook outputs).
    """
    import torch  # deferred: loads torch

    from ..data import DataDamagedError, DataNotFoundError, ensure_fashion_mnist, fashion_mnist_counts, fashion_mnist_folder
    from ..datasets.fashion_mnist import verify_fashion_mnist  # deferred, as the data: loads torch

    cfg = get_config()
    d2l = _version("d2l")
    if d2l == "not installed":
        d2l += " (optional, for the comparisons: pip install --no-deps d2l==1.0.3)"
    device = cfg.device
    if device == "cuda":
        device += f" ({torch.cuda.get_device_name(0)})"
    lines = [
        "LeNet -> AlexNet: environment check",
        f"  python       {platform.python_version()}",
        f"  torch        {torch.__version__}",
        f"  torchvision  {_version('torchvision')}",
        f"  d2l          {d2l}",
        f"  alexnet-lib  {_version('alexnet-lib')}",
        f"  device       {device} ({torch.get_num_threads()} CPU threads)",
        f"  profile      {cfg.profile.name} ({cfg.profile_source}): {cfg.profile.description}",
        f"  data root    {cfg.data_root if full_paths else shown_path(cfg.data_root)} ({cfg.data_root_source})",
    ]
    try:
        counts = ensure_fashion_mnist(cfg.data_root) if download else fashion_mnist_counts(cfg.data_root)
        checked = verify_fashion_mnist(cfg.data_root) if counts is not None else []
    except DataNotFoundError as exc:
        lines.append(f"  Fashion-MNIST  {'damaged' if isinstance(exc, DataDamagedError) else 'not available'}:")
        lines += ["    " + line for line in str(exc).splitlines()]
        return "\n".join(lines), False
    if counts is None:
        lines.append(
            f"  Fashion-MNIST  not found in {fashion_mnist_folder(cfg.data_root)}; "
            "run `python -m alexnet_lib doctor --download` (needs internet) or set ALEXNET_DATA."
        )
        return "\n".join(lines), False
    lines.append(f"  Fashion-MNIST  {counts['train']:,} training images, {counts['test']:,} test images")
    if counts["train"] < 60_000 or counts["test"] < 10_000:
        lines.append("                 (a subset of the official 60,000 / 10,000: figures are not comparable with published ones)")
    lines.append("                 checked: magic numbers, sizes against headers, labels 0 to 9, labels per image;")
    lines += [f"                   {line}" for line in checked]
    return "\n".join(lines), True


def doctor_command(args: argparse.Namespace) -> int:
    """The ``doctor`` command: print the report; 1 if Fashion-MNIST is not ready and ``--require-data`` asks for it."""
    text, data_ready = doctor_report(download=args.download)
    print(text)
    return 0 if data_ready or not args.require_data else 1
