"""Train once: a model trained by a recipe is kept on disk, and a later notebook reuses it only when
nothing it was trained from has changed.

Notebooks 06 and 08 train the same LeNet, and 06, 07 and 08 the same ``alexnet_cpu``: under the
``cpu`` profile that is minutes each time. :func:`train_once` trains a recipe the first time and
keeps the model with its history; after that it serves the kept one, and says so, when the *key*
matches. The key is a hash of everything the trained weights depend on:

- the recipe, every field of it (model, its arguments, data, optimisation, seed);
- the data: the bytes of the four Fashion-MNIST files it reads;
- the library: its version and the source of every module of ``alexnet_lib``;
- PyTorch's version, the device, the machine (its CPU or GPU, cores and bf16 support) and whether
  the test set was evaluated.

Change any of them and the recipe is trained again and its entry replaced. ``ALEXNET_CACHE`` names
the folder (default ``~/.cache/alexnet-lib/trained``); it keeps the newest few entries.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path

import torch

import alexnet_lib
from alexnet_lib.callbacks import Callback, resolve_device
from alexnet_lib.course.reference import machine_name
from alexnet_lib.data import OFFICIAL_SIZES, fashion_mnist_folder
from alexnet_lib.recipes import Recipe, Trained, train_recipe
from alexnet_lib.runs.checkpoints import load_checkpoint, save_checkpoint

__all__ = ["ENV_CACHE", "KEEP", "cache_folder", "cache_key", "data_fingerprint", "library_fingerprint", "train_once"]

ENV_CACHE = "ALEXNET_CACHE"
KEEP = 6  # entries kept in the folder, newest first (alexnet_d2l's weights are 187 MB)
PACKAGE = Path(alexnet_lib.__file__).resolve().parent


def cache_folder(environ: Mapping[str, str] | None = None) -> Path:
    """``ALEXNET_CACHE``, else ``~/.cache/alexnet-lib/trained``.

    >>> cache_folder({"ALEXNET_CACHE": "/tmp/trained"}).as_posix()
    '/tmp/trained'
    """
    raw = (os.environ if environ is None else environ).get(ENV_CACHE, "").strip()
    return Path(raw).expanduser() if raw else Path.home() / ".cache" / "alexnet-lib" / "trained"


def library_fingerprint(package: Path = PACKAGE) -> str:
    """A hash of the library's version and of every ``.py`` file under ``package``, by path and content.

    >>> len(library_fingerprint())
    64
    """
    digest = hashlib.sha256(alexnet_lib.__version__.encode())
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


_data_hashes: dict[tuple[str, int, int], str] = {}  # (file, size, mtime) -> sha256: each file read once per process


def data_fingerprint(root: str | Path | None = None) -> str:
    """A hash of the Fashion-MNIST files under ``root`` (default: the configured data root), by name and content;
    ``"missing"`` where they are not all there (training will say what to do)."""
    folder = fashion_mnist_folder(root)
    digest = hashlib.sha256()
    for name in sorted(OFFICIAL_SIZES):
        path = folder / name
        if not path.is_file():
            return "missing"
        stat = path.stat()
        marker = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
        if marker not in _data_hashes:
            _data_hashes[marker] = hashlib.sha256(path.read_bytes()).hexdigest()
        digest.update(f"{name}:{_data_hashes[marker]}\n".encode())
    return digest.hexdigest()


def cache_key(r: Recipe, device: str | torch.device = "cpu", root: str | Path | None = None, test: bool = True) -> str:
    """The hash that must match for a kept model to be served: the recipe (every field), the data, the library,
    PyTorch, the device, the machine and ``test``.

    >>> from dataclasses import replace
    >>> from alexnet_lib.recipes import recipe
    >>> r = recipe("lenet", "ci")
    >>> cache_key(r) == cache_key(r), cache_key(r) == cache_key(replace(r, lr=r.lr / 2))
    (True, False)
    """
    device = torch.device(device)
    parts = {
        "recipe": dataclasses.asdict(r),
        "data": data_fingerprint(root),
        "library": library_fingerprint(),
        "torch": torch.__version__,
        "device": device.type,
        "machine": machine_name(device),
        "test": test,
    }
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=repr).encode()).hexdigest()


def train_once(r: Recipe, *, device: str | torch.device | None = None, root: str | Path | None = None,
               test: bool = True, folder: str | Path | None = None, progress: bool = True,
               announce: bool | None = None, callbacks: Iterable[Callback] = ()) -> Trained:
    """:func:`~alexnet_lib.recipes.train_recipe` ``(r)``, or the model trained by the same key before (printing where
    and when it was trained). A model it trains is kept in ``folder`` (default :func:`cache_folder`); a kept file that
    cannot be read is trained again, and a folder that cannot be written only means the next notebook trains too.

    >>> import tempfile
    >>> from dataclasses import replace
    >>> from alexnet_lib.recipes import recipe
    >>> r = replace(recipe("lenet", "ci"), subset=(64, 64), epochs=1, batch_size=32)
    >>> with tempfile.TemporaryDirectory() as folder:
    ...     first = train_once(r, device="cpu", folder=folder, progress=False)  # doctest: +ELLIPSIS
    ...     again = train_once(r, device="cpu", folder=folder, progress=False)  # doctest: +ELLIPSIS
    lenet: trained in ... s, and kept for the notebooks after this one
    lenet: reused the model trained ... (key ...)...
    >>> again.history.equals(first.history)
    True
    """
    device = resolve_device(device)
    key = cache_key(r, device, root, test)
    path = Path(folder or cache_folder()) / f"{r.model}-{r.profile}-{key[:16]}.pt"
    served = _served(path, key, r, device, root)
    if served is not None:
        return served
    start = time.perf_counter()
    trained = train_recipe(r, device=device, root=root, test=test, progress=progress, announce=announce,
                           callbacks=callbacks)
    seconds = time.perf_counter() - start
    try:
        save_checkpoint(path, trained.model, history=trained.history, cache_key=key, machine=machine_name(device),
                        date=time.strftime("%Y-%m-%d %H:%M"), seconds=round(seconds, 1))
        _prune(path.parent, KEEP)
        kept = "kept for the notebooks after this one"
    except (OSError, ValueError) as exc:  # a read-only or full disk, NaN weights: the model is still returned
        kept = f"not kept ({exc}), so a later notebook trains it again"
    print(f"{r.model}: trained in {seconds:.0f} s, and {kept}")
    return trained


def _served(path: Path, key: str, r: Recipe, device: torch.device, root: str | Path | None) -> Trained | None:
    """The kept model, history and data for ``key``; None: nothing kept, another key, or a file that cannot be read."""
    if not path.is_file():
        return None
    try:
        kept = load_checkpoint(path, model=r.build_model())
    except (OSError, ValueError) as exc:
        print(f"{r.model}: the kept model could not be read ({exc}); training it again.")
        return None
    meta = kept.meta
    if meta.get("cache_key") != key or kept.history is None:  # the file name holds only 16 digits of the key
        return None
    model = kept.model.to(device).eval()
    print(f"{r.model}: reused the model trained {meta.get('date')} on this machine in {meta.get('seconds'):.0f} s "
          f"(key {key[:12]}): the same recipe, data, library and PyTorch. train_recipe(r) trains it again; the kept "
          f"models are in {ENV_CACHE} (default ~/.cache/alexnet-lib/trained).")
    return Trained(model, kept.history, r.loaders(device=device, root=root))


def _prune(folder: Path, keep: int) -> None:
    """Delete all but the ``keep`` newest entries in ``folder``."""
    entries = sorted(folder.glob("*.pt"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in entries[keep:]:
        old.unlink(missing_ok=True)
