"""Training recipes: the hyperparameters that make each model learn within each run profile.

A recipe is what a notebook and ``python -m alexnet_lib train MODEL`` use: the data (how many
images, at which size, with which augmentation) and the optimisation (optimizer, learning
rate, schedule, epochs, batch size). Under ``ci`` a recipe trains for a fixed number of epochs;
under ``cpu`` and ``gpu`` it has a *budget* of training images, sized for the profile's time per
notebook, and its epochs follow from the images on disk (:func:`epochs_for_budget`). Measured
under ``cpu`` on the offline subset of Fashion-MNIST (first 3,615 training and 1,770 test
images, 40 epochs) on a 2-core CPU, in ``benchmarks/README.md``:

- ``lenet`` (ReLU): 87.3% test accuracy in about 10 s; with ``activation="sigmoid"`` at its
  own best learning rate (1.0), 86.0%;
- ``alexnet_cpu`` (64×64, flips and crops): 89.4% in about 80 s.

Every model of :mod:`alexnet_lib.models` has a recipe: the ones above are tuned; the others
get a generic one (SGD with momentum, one-cycle schedule) at their native input size, with the
grey channel repeated for the colour models.

>>> r = recipe("lenet", "cpu")
>>> r.budget, r.optimizer, r.lr, r.schedule, r.model_kwargs
(240000, 'sgd', 0.1, 'onecycle', {'activation': 'relu'})
>>> recipe("lenet", "cpu", activation="sigmoid").model_kwargs
{'activation': 'sigmoid'}
"""

from __future__ import annotations

import inspect
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import pandas as pd
import torch
from torch import nn

from .config import PROFILES, Profile, get_config, profile_named
from .data import fashion_mnist_counts

__all__ = ["Recipe", "alexnet_for_profile", "recipe", "recipe_table", "train_recipe"]


@dataclass(frozen=True)
class Recipe:
    """How to train one model under one profile. Build its pieces with the methods."""

    model: str
    profile: str
    model_kwargs: dict = field(default_factory=dict)
    epochs: int = 10
    batch_size: int = 128
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    input_size: int | None = None  # the image side the model sees; None: the model's own
    channels: int = 1  # 3 repeats Fashion-MNIST's grey channel for models built for colour
    crop_padding: int = 0  # random crops after zero-padding this many pixels (0: none)
    flip: bool = False  # random horizontal flips
    normalize: bool = True
    train_images: int | None = None  # leading training images (None: all)
    test_images: int | None = None
    budget: int | None = None  # training images to show in all; sets the epochs from the images on disk (None: fixed epochs)

    def describe(self) -> str:
        """The recipe in one paragraph.

        >>> print(recipe("lenet", "ci").describe())
        lenet(activation='relu') at 28×28, profile ci: first 2,000 training and first 1,000 test images, 8 epochs
        of batches of 128, sgd (momentum 0.9) at lr 0.1 with a onecycle schedule, normalised, no augmentation
        """
        kwargs = ", ".join(f"{k}={v!r}" for k, v in self.model_kwargs.items())
        side = self.input_size or "native"
        aug = [f"random crops (padding {self.crop_padding})"] if self.crop_padding else []
        aug += ["horizontal flips"] if self.flip else []
        images = replace(PROFILES[self.profile], train_images=self.train_images, test_images=self.test_images).images_text()
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        epochs += f" (a budget of {self.budget:,} training images)" if self.budget else ""
        return (
            f"{self.model}({kwargs}) at {side}×{side}, profile {self.profile}: {images}, {epochs} of "
            f"batches of {self.batch_size}, {self.optimizer} ({self._optimizer_text()}) "
            f"at lr {self.lr} with a {self.schedule} schedule, {'normalised' if self.normalize else 'not normalised'}, "
            f"{' and '.join(aug) if aug else 'no augmentation'}"
        )

    def _optimizer_text(self) -> str:
        parts = [f"momentum {self.momentum}"] if self.optimizer == "sgd" else []
        parts += [f"weight decay {self.weight_decay:g}"] if self.weight_decay else []
        return ", ".join(parts) or "default settings"

    def build_model(self, seed: int | None = 0) -> nn.Module:
        """The model, built by ``alexnet_lib.models.get`` for 10 classes and this input size."""
        from . import models

        return models.get(self.model, **self.full_model_kwargs(), seed=seed)

    def full_model_kwargs(self) -> dict:
        """The arguments the model is built with (those of ``models.get``, less the seed)."""
        from . import models

        accepted = inspect.signature(models._REGISTRY[self.model]).parameters
        kwargs = {"num_classes": 10} if "num_classes" in accepted else {}
        if self.input_size is not None and "input_size" in accepted:
            kwargs["input_size"] = self.input_size
        kwargs.update(self.model_kwargs)
        return kwargs

    def loaders(self, device: str | torch.device | None = None, seed: int = 0, root: str | Path | None = None):
        """Fashion-MNIST's loaders for this recipe (:func:`alexnet_lib.loaders.fashion_mnist_loaders`)."""
        from .loaders import fashion_mnist_loaders

        side = self.input_size
        return fashion_mnist_loaders(
            self.batch_size,
            resize=side if side not in (None, 28) else None,
            subset=(self.train_images, self.test_images),
            crop=(side or 28) if self.crop_padding else None,
            padding=self.crop_padding,
            flip=self.flip,
            normalize=self.normalize,
            channels=self.channels if self.channels != 1 else None,
            device=device,
            seed=seed,
            root=root,
        )

    def fit_kwargs(self) -> dict:
        """The keyword arguments of :func:`alexnet_lib.training.fit` (without model and data)."""
        return {
            "epochs": self.epochs,
            "optimizer": self.optimizer,
            "lr": self.lr,
            "momentum": self.momentum,
            "weight_decay": self.weight_decay,
            "schedule": self.schedule,
        }


# Tuned recipes: (model, profile) -> changes to the profile's defaults. Measured figures are in
# benchmarks/README.md (section bench_training.py, "Recipes").
_LENET = {"model_kwargs": {"activation": "relu"}, "input_size": 28, "lr": 0.1, "weight_decay": 0.0}
_TUNED: dict[tuple[str, str], dict] = {
    ("lenet", "ci"): {**_LENET, "epochs": 8},
    ("lenet", "cpu"): {**_LENET, "budget": 240_000},
    ("lenet", "gpu"): {**_LENET, "budget": 600_000},
    ("alexnet_cpu", "ci"): {"epochs": 4, "input_size": 64, "lr": 0.02},  # 0.05 spikes in 4 short epochs (38% vs 73%)
    ("alexnet_cpu", "cpu"): {"budget": 160_000, "input_size": 64, "lr": 0.02, "flip": True, "crop_padding": 2},
    ("alexnet_cpu", "gpu"): {"budget": 600_000, "input_size": 64, "lr": 0.02, "flip": True, "crop_padding": 2},
    ("alexnet_d2l", "ci"): {"epochs": 1, "lr": 0.01, "batch_size": 64, "input_size": 224},
    ("alexnet_d2l", "cpu"): {"epochs": 10, "lr": 0.01, "input_size": 224},
    ("alexnet_d2l", "gpu"): {"budget": 130_000, "lr": 0.01, "input_size": 224, "flip": True, "crop_padding": 16},
}


MAX_BUDGET_EPOCHS = 40  # a budget never asks for more epochs than this, however few images are on disk
FULL_TRAINING_SET = 60_000  # Fashion-MNIST's training split, assumed while the data are not on disk yet


def epochs_for_budget(budget: int, train_images: int | None, on_disk: int | None = None) -> int:
    """The epochs that show a model about ``budget`` training images: budget / images, rounded, 1 to 40.

    ``train_images`` is the recipe's limit (None: all); ``on_disk`` the images there are (None:
    read from the data root, or 60,000 when the data are not there yet). A budget keeps a run's
    time about the same on the full data set and on a small copy: more epochs of fewer images.

    >>> epochs_for_budget(160_000, None, on_disk=60_000), epochs_for_budget(160_000, None, on_disk=3_615)
    (3, 40)
    >>> epochs_for_budget(160_000, 8_000, on_disk=60_000)
    20
    """
    if on_disk is None:
        counts = fashion_mnist_counts()
        on_disk = FULL_TRAINING_SET if counts is None else counts["train"]
    images = on_disk if train_images is None else min(train_images, on_disk)
    return max(1, min(MAX_BUDGET_EPOCHS, round(budget / images)))


def alexnet_for_profile(profile: str | Profile | None = None) -> str:
    """The AlexNet a profile trains: the book's at 224×224 on a GPU, the CPU-scale one at 64×64 elsewhere.

    >>> alexnet_for_profile("gpu"), alexnet_for_profile("cpu")
    ('alexnet_d2l', 'alexnet_cpu')
    """
    p = _profile(profile)
    return "alexnet_d2l" if p.alexnet_input >= 224 else "alexnet_cpu"


def _profile(profile: str | Profile | None) -> Profile:
    if profile is None:
        return get_config().profile
    if isinstance(profile, Profile):
        return profile
    return profile_named(profile)


def recipe(model_name: str, profile: str | Profile | None = None, **model_kwargs: object) -> Recipe:
    """The recipe for ``model_name`` under ``profile`` (default: the active one); ``model_kwargs`` change the model.

    >>> recipe("alexnet_cpu", "cpu").input_size, recipe("torchvision_alexnet", "ci").channels, recipe("alexnet", "ci").channels
    (64, 3, 1)
    >>> recipe("resnet50")
    Traceback (most recent call last):
    ...
    ValueError: no model named 'resnet50'; registered models: ...
    """
    from . import models

    if model_name not in models.list_models():
        raise ValueError(f"no model named {model_name!r}; registered models: {', '.join(models.list_models())}")
    p = _profile(profile)
    base = Recipe(
        model=model_name,
        profile=p.name,
        epochs=p.epochs,
        batch_size=p.batch_size,
        train_images=p.train_images,
        test_images=p.test_images,
    )
    tuned = _TUNED.get((model_name, p.name))
    if tuned is None:  # a generic recipe at the model's native size, for one grey channel where it can be built so
        accepted = inspect.signature(models._REGISTRY[model_name]).parameters
        grey = {"in_channels": 1} if "in_channels" in accepted else {}
        with torch.device("meta"):  # only the input size is needed: no memory, no initialisation cost
            built = models.get(model_name, **({"num_classes": 10} if "num_classes" in accepted else {}), **grey)
        channels, side, _ = built.input_size
        tuned = {"lr": 0.01, "input_size": side, "channels": channels, "model_kwargs": grey}
    result = replace(base, **tuned)
    if result.budget:
        result = replace(result, epochs=epochs_for_budget(result.budget, result.train_images))
    result = replace(result, epochs=p.epochs_for(result.epochs))  # ALEXNET_MAX_EPOCHS
    if model_kwargs:
        result = replace(result, model_kwargs={**result.model_kwargs, **model_kwargs})
    return result


def train_recipe(
    model_name: str,
    profile: str | Profile | None = None,
    *,
    epochs: int | None = None,
    device: str | torch.device | None = None,
    seed: int = 0,
    progress: bool = True,
    plot: bool | None = None,
    root: str | Path | None = None,
    **model_kwargs: object,
) -> tuple[nn.Module, pd.DataFrame, Recipe]:
    """Build the model, the data and train them by the recipe; return model, history and recipe.

    ``epochs`` overrides the recipe's. The model is built with ``seed`` and trained with it,
    so a run is reproducible on a CPU.
    """
    from .training import fit

    r = recipe(model_name, profile, **model_kwargs)
    if epochs is not None:
        r = replace(r, epochs=epochs)
    data = r.loaders(device=device, seed=seed, root=root)
    model = r.build_model(seed=seed)
    history = fit(model, data, device=device, seed=seed, progress=progress, plot=plot, **r.fit_kwargs())
    history.attrs["recipe"] = r.describe()
    return model, history, r


def recipe_table(profile: str | Profile | None = None) -> pd.DataFrame:
    """The tuned recipes of a profile, one row per model.

    >>> table = recipe_table("cpu")
    >>> list(table.index), int(table.loc["alexnet_cpu", "budget"]), float(table.loc["alexnet_cpu", "lr"])
    (['lenet', 'alexnet_cpu', 'alexnet_d2l'], 160000, 0.02)
    """
    p = _profile(profile)
    rows = {name: asdict(recipe(name, p)) for (name, prof) in _TUNED if prof == p.name}
    table = pd.DataFrame.from_dict(rows, orient="index").drop(columns=["model", "profile"])
    return table
