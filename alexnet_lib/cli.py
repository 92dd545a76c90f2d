"""The command line: ``python -m alexnet_lib COMMAND``.

Each command is a small function that prints; ``main`` only parses arguments. Run
``python -m alexnet_lib --help`` for the list.
"""

from __future__ import annotations

import argparse
import platform
import sys
from importlib import metadata

from .config import get_config


def _version(package: str) -> str:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return "not installed"


def doctor_report(download: bool = False) -> tuple[str, bool]:
    """The environment check as text, and whether Fashion-MNIST is ready to use."""
    import torch

    from .data import DataNotFoundError, ensure_fashion_mnist, fashion_mnist_counts, fashion_mnist_folder

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
        f"  data root    {cfg.data_root} ({cfg.data_root_source})",
    ]
    try:
        counts = ensure_fashion_mnist(cfg.data_root) if download else fashion_mnist_counts(cfg.data_root)
    except DataNotFoundError as exc:
        lines.append("  Fashion-MNIST  not available:")
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
    return "\n".join(lines), True


def _doctor(args: argparse.Namespace) -> int:
    text, data_ready = doctor_report(download=args.download)
    print(text)
    return 0 if data_ready or not args.require_data else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m alexnet_lib",
        description="Tools of the LeNet -> AlexNet course.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    doctor = commands.add_parser(
        "doctor",
        help="print versions, device, profile, data root and whether Fashion-MNIST is there",
        description="Print Python, torch, torchvision and d2l versions, the device, the run profile, "
        "the data root and the Fashion-MNIST image counts.",
    )
    doctor.add_argument("--download", action="store_true", help="download Fashion-MNIST if it is missing (needs internet)")
    doctor.add_argument("--require-data", action="store_true", help="exit with status 1 when Fashion-MNIST is missing")
    doctor.set_defaults(run=_doctor)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except ValueError as exc:  # bad settings (e.g. an unknown profile) are the user's to fix: no traceback
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
