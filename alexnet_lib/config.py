"""The run's settings in one explicit object, and the idioms every module shares, each written once here."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

ENV_DATA, ENV_PROFILE, ENV_OFFLINE, ENV_DEVICE = "ALEXNET_DATA", "ALEXNET_PROFILE", "ALEXNET_OFFLINE", "ALEXNET_DEVICE"
ENV_MAX_IMAGES, ENV_MAX_EPOCHS = "ALEXNET_MAX_IMAGES", "ALEXNET_MAX_EPOCHS"
_PACKAGE_DIR = Path(__file__).resolve().parent


def is_whole_number(value: object, minimum: float = 1) -> bool:
    """Whether ``value`` is an ``int`` (a ``bool`` is not) of at least ``minimum`` (``-math.inf``: any).

    >>> is_whole_number(3), is_whole_number(0), is_whole_number(0, minimum=0), is_whole_number(True), is_whole_number(2.0)
    (True, False, True, False, False)
    """
    return isinstance(value, int) and not isinstance(value, bool) and value >= minimum


@contextlib.contextmanager
def seeded(seed: int | None, device: torch.device | str = "cpu") -> Iterator[None]:
    """Seed PyTorch (and every GPU on a CUDA ``device``) for the block, then restore its generators; None seeds nothing.

    >>> import torch
    >>> with seeded(0): a = torch.rand(2)
    >>> with seeded(0): torch.equal(a, torch.rand(2))
    True
    """
    import torch  # deferred: importing this module loads no torch (the command line and shapes.py rely on that)
    if seed is not None and not is_whole_number(seed, minimum=0):
        raise ValueError(f"seed={seed!r} should be a whole number >= 0 (or None to use torch's global generator).")
    gpus = list(range(torch.cuda.device_count())) if seed is not None and torch.device(device).type == "cuda" else []
    with torch.random.fork_rng(gpus, enabled=seed is not None):
        if seed is not None:
            torch.manual_seed(seed)
        yield


def model_name(model: torch.nn.Module) -> str:
    """The name a model goes by in messages and tables: its ``model_name``, else its class name.

    >>> import torch
    >>> model_name(torch.nn.Linear(2, 3))
    'Linear'
    """
    return getattr(model, "model_name", type(model).__name__)


def shape_text(shape: object) -> str:
    """A shape (or a tensor's) as text with one separator, ×; several shapes are joined by commas.

    >>> import torch
    >>> shape_text((6, 28, 28)), shape_text(torch.zeros(2, 3)), shape_text(((1, 2), (3,))), shape_text(())
    ('6×28×28', '2×3', '1×2, 3', 'scalar')
    """
    if shape is None:
        return ""
    shape = tuple(getattr(shape, "shape", shape))  # type: ignore[arg-type]
    if shape and all(isinstance(s, (tuple, list)) for s in shape):
        return ", ".join(shape_text(s) for s in shape)
    return "×".join(str(int(v)) for v in shape) if shape else "scalar"


def _smaller(a: int | None, b: int | None) -> int | None:
    return b if a is None else a if b is None else min(a, b)  # None: no limit


@dataclass(frozen=True)
class Profile:
    """How big a run is: which images, how many epochs, which input size; and the environment's caps. ``capped``
    lowers its limits to caps, ``images_for`` and ``epochs_for`` lower a run's own numbers to its limits.

    >>> p = PROFILES["ci"].capped(max_images=500, max_epochs=1)  # a cap never raises a profile's own limit
    >>> p.train_images, p.test_images, p.images_for(800, 200), p.epochs_for(20), p.images_text()
    (500, 500, (500, 200), 1, 'first 500 training and first 500 test images')
    """

    name: str
    description: str
    train_images: int | None  # the first N images of the official training split; None: all
    test_images: int | None  # the first N images of the official test split; None: all
    epochs: int
    batch_size: int
    alexnet_input: int  # side in pixels of the square image the AlexNet recipe trains on
    max_epochs: int | None = None  # a cap on every training run's epochs (ALEXNET_MAX_EPOCHS); None: none

    def capped(self, max_images: int | None = None, max_epochs: int | None = None) -> Profile:
        return replace(self, train_images=_smaller(self.train_images, max_images),
                       test_images=_smaller(self.test_images, max_images), max_epochs=_smaller(self.max_epochs, max_epochs))

    def images_for(self, train: int, test: int) -> tuple[int, int]:
        return _smaller(train, self.train_images), _smaller(test, self.test_images)

    def epochs_for(self, epochs: int) -> int:
        return _smaller(epochs, self.max_epochs)

    def images_text(self) -> str:
        train, test = ("all" if n is None else f"first {n:,}" for n in (self.train_images, self.test_images))
        return f"{train} training and {test} test images"


PROFILES: dict[str, Profile] = {p.name: p for p in (
    Profile("ci", "tiny and fast: what the tests and CI run (seconds per notebook)",
            train_images=2_000, test_images=1_000, epochs=2, batch_size=128, alexnet_input=64),  # fits in the offline subset
    Profile("cpu", "a laptop CPU: at most 10 minutes per notebook, AlexNet at 64x64, training budgets sized for 2 cores",
            train_images=None, test_images=None, epochs=10, batch_size=128, alexnet_input=64),
    Profile("gpu", "a CUDA GPU: the book's AlexNet at 224x224, about 5 minutes per notebook on a T4 (estimated, not yet timed)",
            train_images=None, test_images=None, epochs=10, batch_size=128, alexnet_input=224),
)}


def _cap(env: Mapping[str, str], name: str) -> int | None:
    text = env.get(name, "").strip().replace("_", "").replace(",", "")  # 10_000 and 10,000 are 10000
    if text and (not text.isdigit() or int(text) < 1):
        raise ValueError(f"{name}={env[name]!r} should be a whole number >= 1 (or unset it for no cap).")
    return int(text) if text else None


def is_true(value: str | None) -> bool:
    """Whether an environment variable's text means yes (``1``, ``true``, ``yes``, ``on``).

    >>> is_true("Yes"), is_true("0"), is_true(None)
    (True, False, False)
    """
    return value is not None and value.strip().lower() in {"1", "true", "yes", "on"}


def available_device(environ: Mapping[str, str] | None = None) -> str:
    """``ALEXNET_DEVICE`` if it is set (and here), else the first of cuda, mps and cpu that PyTorch can use.

    >>> available_device({"ALEXNET_DEVICE": "cpu"})
    'cpu'
    """
    import torch  # deferred, as in seeded()
    requested = (os.environ if environ is None else environ).get(ENV_DEVICE, "").strip().lower()
    has = {"cuda": torch.cuda.is_available(), "mps": torch.backends.mps.is_available(), "cpu": True}
    kind = requested.split(":", 1)[0]
    if requested and (kind not in has or (kind != "cuda" and ":" in requested)):
        raise ValueError(f"{ENV_DEVICE}={requested!r} is not a device; choose cpu, cuda, cuda:N or mps (or unset it).")
    if requested and not has[kind]:
        missing = "CUDA GPU" if kind == "cuda" else "MPS (Apple GPU)"
        raise ValueError(f"{ENV_DEVICE}={requested!r} but PyTorch sees no {missing} here; set {ENV_DEVICE}=cpu or unset it.")
    return requested or next(kind for kind, there in has.items() if there)


def default_data_root() -> Path:
    """``data/`` beside ``alexnet_lib/`` in a checkout of the course (git ignores it), else ``~/.cache/alexnet-lib/data``.

    >>> default_data_root().name
    'data'
    """
    repo = _PACKAGE_DIR.parent
    in_checkout = (repo / "pyproject.toml").is_file() and (repo / "notebooks").is_dir()
    return repo / "data" if in_checkout else Path.home() / ".cache" / "alexnet-lib" / "data"


def resolve_profile(environ: Mapping[str, str] | None = None, device: str | None = None) -> tuple[Profile, str]:
    """The active profile and the reason it was chosen: ``ALEXNET_PROFILE``, else CI, else a CUDA GPU.

    >>> resolve_profile({"CI": "true"})
    (Profile(name='ci', ...), 'CI is set')
    """
    env = os.environ if environ is None else environ
    requested = env.get(ENV_PROFILE, "").strip().lower()
    if requested in PROFILES:
        return PROFILES[requested], f"set by {ENV_PROFILE}"
    if requested:
        raise ValueError(f"{ENV_PROFILE}={env[ENV_PROFILE]!r} is not a profile; "
                         f"choose one of {', '.join(PROFILES)} (or unset it to choose automatically).")
    if is_true(env.get("CI")):
        return PROFILES["ci"], "CI is set"
    if (available_device() if device is None else device).startswith("cuda"):
        return PROFILES["gpu"], "a CUDA GPU is available"
    return PROFILES["cpu"], "no CUDA GPU"


def profile_named(name: str, environ: Mapping[str, str] | None = None) -> Profile:
    """The profile called ``name``, with the environment's caps applied.

    >>> profile_named("cpu", {"ALEXNET_MAX_IMAGES": "100"}).train_images
    100
    """
    if name not in PROFILES:
        raise ValueError(f"profile={name!r} is not a profile; choose one of {', '.join(PROFILES)}.")
    env = os.environ if environ is None else environ
    return PROFILES[name].capped(_cap(env, ENV_MAX_IMAGES), _cap(env, ENV_MAX_EPOCHS))


def shown_path(path: Path) -> str:
    """``path`` relative to the repository or the home folder, else its last two parts: no machine paths in outputs.

    >>> shown_path(default_data_root()), shown_path(Path("/srv/course/shared/data"))
    ('<repository>/data', '.../shared/data')
    """
    for base, label in ((_PACKAGE_DIR.parent, "<repository>"), (Path.home(), "~")):
        if path.is_relative_to(base):
            return str(Path(label) / path.relative_to(base))
    return str(Path("...", *path.parts[-2:]))


@dataclass(frozen=True)
class Config:
    """Everything a run depends on besides its code: data root, profile (with its caps), device."""

    data_root: Path
    data_root_source: str
    profile: Profile
    profile_source: str
    device: str
    offline: bool
    max_images: int | None = None  # ALEXNET_MAX_IMAGES, already applied to the profile

    def describe(self) -> str:
        """Five lines for the top of a notebook: profile, data, data root, caps, device."""
        p = self.profile
        caps = [f"{self.max_images:,} images per split"] if self.max_images else []
        caps += [f"{p.max_epochs} epoch{'s' if p.max_epochs != 1 else ''} per run"] if p.max_epochs else []
        caps_text = (f"at most {' and '.join(caps)} (from {ENV_MAX_IMAGES}, {ENV_MAX_EPOCHS})" if caps
                     else f"none (set {ENV_MAX_IMAGES} or {ENV_MAX_EPOCHS} for a quick run)")
        return (f"profile   : {p.name} ({self.profile_source}): {p.description}\n"
                f"data      : {p.images_text()} of Fashion-MNIST\n"
                f"data root : {shown_path(self.data_root)} ({self.data_root_source})\n"
                f"caps      : {caps_text}\ndevice    : {self.device}")


def get_config(environ: Mapping[str, str] | None = None) -> Config:
    """The configuration the environment (``os.environ`` by default; README.md lists the variables) asks for.

    >>> cfg = get_config({"ALEXNET_DATA": "/tmp/fm", "ALEXNET_PROFILE": "ci", "ALEXNET_MAX_EPOCHS": "1"})
    >>> cfg.data_root, cfg.profile.name, cfg.profile.max_epochs
    (PosixPath('/tmp/fm'), 'ci', 1)
    """
    env = os.environ if environ is None else environ
    device = available_device(env)
    profile, profile_source = resolve_profile(env, device)
    raw = env.get(ENV_DATA, "").strip()
    data_root = Path(raw).expanduser().resolve() if raw else default_data_root()
    source = f"from {ENV_DATA}" if raw else f"default; set {ENV_DATA} to change"
    return Config(data_root, source, profile_named(profile.name, env), profile_source, device,
                  offline=is_true(env.get(ENV_OFFLINE)), max_images=_cap(env, ENV_MAX_IMAGES))
