"""Where the data lives, which run profile is active and which device trains: one explicit object.

Every notebook starts with ``cfg = get_config()`` and prints ``cfg.describe()``, so a reader
always knows what a run used. Nothing here is global: :func:`get_config` reads the
environment each time it is called, and tests pass their own ``environ``.

The environment variables:

``ALEXNET_DATA``
    The data root. Fashion-MNIST lives in ``<root>/FashionMNIST/raw`` (torchvision's layout).
    Unset: ``data/`` in the repository checkout (git ignores it), or
    ``~/.cache/alexnet-lib/data`` when the library was installed without a checkout (Colab).
``ALEXNET_PROFILE``
    ``ci``, ``cpu`` or ``gpu``. Unset: ``ci`` when the ``CI`` variable is set, ``gpu`` when
    CUDA is available, else ``cpu``.
``ALEXNET_OFFLINE``
    Set to ``1`` to never try a download (a missing data set is then an immediate error).
``ALEXNET_DEVICE``
    ``cpu``, ``cuda`` (or ``cuda:N``) or ``mps``: the device to train on. Unset: the best one
    available. ``ALEXNET_PROFILE=gpu ALEXNET_DEVICE=cpu`` runs the ``gpu`` profile's code path
    (the 224-pixel AlexNet and its recipe) on a CPU, slowly, as the tests do with tiny caps.
``ALEXNET_MAX_IMAGES``, ``ALEXNET_MAX_EPOCHS``
    Caps that every profile honours: at most this many leading images of each split, at most
    this many epochs per training run. ``describe()`` prints them. For quick checks of a whole
    notebook (``ALEXNET_MAX_IMAGES=256 ALEXNET_MAX_EPOCHS=1``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path

ENV_DATA = "ALEXNET_DATA"
ENV_PROFILE = "ALEXNET_PROFILE"
ENV_OFFLINE = "ALEXNET_OFFLINE"
ENV_DEVICE = "ALEXNET_DEVICE"
ENV_MAX_IMAGES = "ALEXNET_MAX_IMAGES"
ENV_MAX_EPOCHS = "ALEXNET_MAX_EPOCHS"

_PACKAGE_DIR = Path(__file__).resolve().parent
_TRUE = {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Profile:
    """How big a run is: which images, how many epochs, which input size.

    The ``ci`` profile uses only leading images of the official splits (no more than the
    offline copy has), so its results are the same whether the full data set or the offline
    subset is on disk.
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
        """This profile with at most ``max_images`` images per split and ``max_epochs`` epochs per run.

        >>> p = PROFILES["cpu"].capped(max_images=256, max_epochs=1)
        >>> p.train_images, p.test_images, p.max_epochs, p.epochs_for(20)
        (256, 256, 1, 1)
        >>> PROFILES["ci"].capped(max_images=5_000).train_images
        2000
        """
        return replace(
            self,
            train_images=_smaller(self.train_images, max_images),
            test_images=_smaller(self.test_images, max_images),
            max_epochs=_smaller(self.max_epochs, max_epochs),
        )

    def images_for(self, train: int, test: int) -> tuple[int, int]:
        """``train`` and ``test`` images, or this profile's own numbers where those are smaller.

        >>> PROFILES["ci"].images_for(500, 5_000), PROFILES["gpu"].images_for(500, 1_000)
        ((500, 1000), (500, 1000))
        """
        return _smaller(train, self.train_images), _smaller(test, self.test_images)

    def epochs_for(self, epochs: int) -> int:
        """``epochs``, or the cap on epochs where that is smaller.

        >>> PROFILES["ci"].epochs_for(8)
        8
        """
        return _smaller(epochs, self.max_epochs)

    def images_text(self) -> str:
        """The data this profile uses, in words.

        >>> PROFILES["ci"].images_text()
        'first 2,000 training and first 1,000 test images'
        >>> PROFILES["gpu"].images_text()
        'all training and all test images'
        """

        def part(n: int | None) -> str:
            return "all" if n is None else f"first {n:,}"

        return f"{part(self.train_images)} training and {part(self.test_images)} test images"


PROFILES: dict[str, Profile] = {
    p.name: p
    for p in (
        Profile("ci", "tiny and fast: what the tests and CI run (seconds per notebook)",
                train_images=2_000, test_images=1_000, epochs=2, batch_size=128, alexnet_input=64),
        Profile("cpu", "a laptop CPU: at most 10 minutes per notebook, AlexNet at 64x64, training budgets sized for 2 cores",
                train_images=None, test_images=None, epochs=10, batch_size=128, alexnet_input=64),
        Profile("gpu", "a CUDA GPU: the book's AlexNet at 224x224, about 5 minutes per notebook on a T4 (estimated, not yet timed)",
                train_images=None, test_images=None, epochs=10, batch_size=128, alexnet_input=224),
    )
}


def _smaller(a: int | None, b: int | None) -> int | None:
    """The smaller of two limits, where None means no limit."""
    return b if a is None else a if b is None else min(a, b)


def _whole_number(env: Mapping[str, str], name: str) -> int | None:
    """The whole number >= 1 in ``env[name]``, or None when it is unset or empty."""
    raw = env.get(name, "").strip().replace("_", "").replace(",", "")
    if not raw:
        return None
    if not raw.isdigit() or int(raw) < 1:
        raise ValueError(f"{name}={env[name]!r} should be a whole number >= 1 (or unset it for no cap).")
    return int(raw)


def is_true(value: str | None) -> bool:
    """Whether an environment variable's text means yes (``1``, ``true``, ``yes``, ``on``).

    >>> is_true("Yes"), is_true("0"), is_true(None)
    (True, False, False)
    """
    return value is not None and value.strip().lower() in _TRUE


def available_device(environ: Mapping[str, str] | None = None) -> str:
    """The device to train on: ``ALEXNET_DEVICE`` when set, else the best one PyTorch can use here.

    ``'cuda'``, ``'mps'`` or ``'cpu'`` in that order of preference. A device asked for by
    ``ALEXNET_DEVICE`` must exist.

    >>> available_device() in {"cuda", "mps", "cpu"}
    True
    >>> available_device({"ALEXNET_DEVICE": "cpu"})
    'cpu'
    """
    import torch  # a function-level import: reading the configuration must not import torch

    env = os.environ if environ is None else environ
    requested = env.get(ENV_DEVICE, "").strip().lower()
    mps = getattr(torch.backends, "mps", None)
    has_mps = mps is not None and mps.is_available()
    if requested:
        return _checked_device(requested, torch.cuda.is_available(), has_mps)
    if torch.cuda.is_available():
        return "cuda"
    if has_mps:
        return "mps"
    return "cpu"


def _checked_device(requested: str, has_cuda: bool, has_mps: bool) -> str:
    """``requested`` if this machine has it, else a ValueError that says what is there.

    >>> _checked_device("cuda", has_cuda=False, has_mps=False)
    Traceback (most recent call last):
    ...
    ValueError: ALEXNET_DEVICE='cuda' but PyTorch sees no CUDA GPU here; set ALEXNET_DEVICE=cpu or unset it.
    """
    kind = requested.split(":", 1)[0]
    if kind not in ("cpu", "cuda", "mps") or (kind != "cuda" and ":" in requested):
        raise ValueError(f"{ENV_DEVICE}={requested!r} is not a device; choose cpu, cuda, cuda:N or mps (or unset it).")
    if kind == "cuda" and not has_cuda:
        raise ValueError(f"{ENV_DEVICE}={requested!r} but PyTorch sees no CUDA GPU here; set {ENV_DEVICE}=cpu or unset it.")
    if kind == "mps" and not has_mps:
        raise ValueError(f"{ENV_DEVICE}='mps' but this PyTorch has no MPS (Apple GPU) here; set {ENV_DEVICE}=cpu or unset it.")
    return requested


def default_data_root() -> Path:
    """The data root used when ``ALEXNET_DATA`` is unset.

    In a checkout of the course repository it is ``data/`` beside ``alexnet_lib/`` (git
    ignores it); for an installed copy (Colab) it is ``~/.cache/alexnet-lib/data``.

    >>> default_data_root().name
    'data'
    """
    repo = _PACKAGE_DIR.parent
    if (repo / "pyproject.toml").is_file() and (repo / "notebooks").is_dir():
        return repo / "data"
    return Path.home() / ".cache" / "alexnet-lib" / "data"


def figures_dir() -> Path:
    """Where notebooks save their figures: ``figures/`` in the repository checkout, else ``./figures``.

    >>> figures_dir().name
    'figures'
    """
    repo = _PACKAGE_DIR.parent
    folder = repo / "figures" if default_data_root() == repo / "data" else Path.cwd() / "figures"
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def resolve_profile(environ: Mapping[str, str] | None = None, device: str | None = None) -> tuple[Profile, str]:
    """The active profile and the reason it was chosen.

    >>> resolve_profile({"ALEXNET_PROFILE": "cpu"})[0].name
    'cpu'
    >>> resolve_profile({"CI": "true"})
    (Profile(name='ci', ...), 'CI is set')
    >>> resolve_profile({}, device="cuda")[1]
    'a CUDA GPU is available'
    """
    env = os.environ if environ is None else environ
    requested = env.get(ENV_PROFILE, "").strip().lower()
    if requested:
        if requested not in PROFILES:
            raise ValueError(
                f"{ENV_PROFILE}={env[ENV_PROFILE]!r} is not a profile; "
                f"choose one of {', '.join(PROFILES)} (or unset it to choose automatically)."
            )
        return PROFILES[requested], f"set by {ENV_PROFILE}"
    if is_true(env.get("CI")):
        return PROFILES["ci"], "CI is set"
    device = available_device() if device is None else device
    if device.startswith("cuda"):
        return PROFILES["gpu"], "a CUDA GPU is available"
    return PROFILES["cpu"], "no CUDA GPU"


def profile_caps(environ: Mapping[str, str] | None = None) -> tuple[int | None, int | None]:
    """``(ALEXNET_MAX_IMAGES, ALEXNET_MAX_EPOCHS)`` as whole numbers, None where unset.

    >>> profile_caps({"ALEXNET_MAX_IMAGES": "256", "ALEXNET_MAX_EPOCHS": ""})
    (256, None)
    >>> profile_caps({"ALEXNET_MAX_EPOCHS": "0"})
    Traceback (most recent call last):
    ...
    ValueError: ALEXNET_MAX_EPOCHS='0' should be a whole number >= 1 (or unset it for no cap).
    """
    env = os.environ if environ is None else environ
    return _whole_number(env, ENV_MAX_IMAGES), _whole_number(env, ENV_MAX_EPOCHS)


def profile_named(name: str, environ: Mapping[str, str] | None = None) -> Profile:
    """The profile called ``name``, with the caps of the environment applied.

    >>> profile_named("cpu", {"ALEXNET_MAX_IMAGES": "100"}).train_images
    100
    """
    if name not in PROFILES:
        raise ValueError(f"profile={name!r} is not a profile; choose one of {', '.join(PROFILES)}.")
    return PROFILES[name].capped(*profile_caps(environ))


def shown_path(path: Path) -> str:
    """A path as outputs show it: inside the repository or the home folder relative to them, else its last two parts.

    Committed notebook outputs must not carry the author's machine paths.

    >>> shown_path(default_data_root())
    '<repository>/data'
    >>> shown_path(Path("/srv/course/shared/data"))
    '.../shared/data'
    """
    for base, label in ((_PACKAGE_DIR.parent, "<repository>"), (Path.home(), "~")):
        try:
            return str(Path(label) / path.relative_to(base))
        except ValueError:
            continue
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
        caps_text = (
            f"at most {' and '.join(caps)} (from {ENV_MAX_IMAGES}, {ENV_MAX_EPOCHS})"
            if caps else f"none (set {ENV_MAX_IMAGES} or {ENV_MAX_EPOCHS} for a quick run)"
        )
        return "\n".join(
            [
                f"profile   : {p.name} ({self.profile_source}): {p.description}",
                f"data      : {p.images_text()} of Fashion-MNIST",
                f"data root : {shown_path(self.data_root)} ({self.data_root_source})",
                f"caps      : {caps_text}",
                f"device    : {self.device}",
            ]
        )


def get_config(environ: Mapping[str, str] | None = None) -> Config:
    """Read the configuration from the environment (``os.environ`` by default).

    >>> cfg = get_config({"ALEXNET_DATA": "/tmp/fm", "ALEXNET_PROFILE": "ci", "ALEXNET_MAX_EPOCHS": "1"})
    >>> cfg.data_root, cfg.profile.name, cfg.profile.max_epochs
    (PosixPath('/tmp/fm'), 'ci', 1)
    """
    env = os.environ if environ is None else environ
    device = available_device(env)
    profile, profile_source = resolve_profile(env, device)
    raw = env.get(ENV_DATA, "").strip()
    if raw:
        data_root, source = Path(raw).expanduser().resolve(), f"from {ENV_DATA}"
    else:
        data_root, source = default_data_root(), f"default; set {ENV_DATA} to change"
    max_images, max_epochs = profile_caps(env)
    return Config(
        data_root=data_root,
        data_root_source=source,
        profile=profile.capped(max_images, max_epochs),
        profile_source=profile_source,
        device=device,
        offline=is_true(env.get(ENV_OFFLINE)),
        max_images=max_images,
    )
