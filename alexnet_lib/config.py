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
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

ENV_DATA = "ALEXNET_DATA"
ENV_PROFILE = "ALEXNET_PROFILE"
ENV_OFFLINE = "ALEXNET_OFFLINE"

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
    "ci": Profile(
        name="ci",
        description="tiny and fast: what the tests and CI run (seconds per notebook)",
        train_images=2_000,
        test_images=1_000,
        epochs=2,
        batch_size=128,
        alexnet_input=64,
    ),
    "cpu": Profile(
        name="cpu",
        description="a laptop CPU: minutes per notebook, smaller AlexNet inputs",
        train_images=None,
        test_images=None,
        epochs=10,
        batch_size=128,
        alexnet_input=64,
    ),
    "gpu": Profile(
        name="gpu",
        description="a CUDA GPU: the full recipe, AlexNet at 224x224",
        train_images=None,
        test_images=None,
        epochs=10,
        batch_size=128,
        alexnet_input=224,
    ),
}


def _is_true(value: str | None) -> bool:
    return value is not None and value.strip().lower() in _TRUE


def available_device() -> str:
    """The best device PyTorch can use here: ``'cuda'``, ``'mps'`` or ``'cpu'``.

    >>> available_device() in {"cuda", "mps", "cpu"}
    True
    """
    import torch

    if torch.cuda.is_available():
        return "cuda"
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return "mps"
    return "cpu"


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
    if _is_true(env.get("CI")):
        return PROFILES["ci"], "CI is set"
    device = available_device() if device is None else device
    if device == "cuda":
        return PROFILES["gpu"], "a CUDA GPU is available"
    return PROFILES["cpu"], "no CUDA GPU"


@dataclass(frozen=True)
class Config:
    """Everything a run depends on besides its code: data root, profile, device."""

    data_root: Path
    data_root_source: str
    profile: Profile
    profile_source: str
    device: str
    offline: bool

    def describe(self) -> str:
        """Three lines for the top of a notebook: profile, data, device."""
        return "\n".join(
            [
                f"profile   : {self.profile.name} ({self.profile_source}): {self.profile.description}",
                f"data      : {self.profile.images_text()} of Fashion-MNIST",
                f"data root : {self.data_root} ({self.data_root_source})",
                f"device    : {self.device}",
            ]
        )


def get_config(environ: Mapping[str, str] | None = None) -> Config:
    """Read the configuration from the environment (``os.environ`` by default).

    >>> cfg = get_config({"ALEXNET_DATA": "/tmp/fm", "ALEXNET_PROFILE": "ci"})
    >>> cfg.data_root, cfg.profile.name
    (PosixPath('/tmp/fm'), 'ci')
    """
    env = os.environ if environ is None else environ
    device = available_device()
    profile, profile_source = resolve_profile(env, device)
    raw = env.get(ENV_DATA, "").strip()
    if raw:
        data_root, source = Path(raw).expanduser().resolve(), f"from {ENV_DATA}"
    else:
        data_root, source = default_data_root(), f"default; set {ENV_DATA} to change"
    return Config(
        data_root=data_root,
        data_root_source=source,
        profile=profile,
        profile_source=profile_source,
        device=device,
        offline=_is_true(env.get(ENV_OFFLINE)),
    )
