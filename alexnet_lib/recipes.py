"""Training recipes: how each model learns within each run profile, tuned for the course's models (a fixed number of
epochs under ``ci``, a budget of training images under ``cpu`` and ``gpu``) and generic for the others."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import NamedTuple

import pandas as pd
import torch
from torch import nn

from . import models
from .callbacks import Callback
from .config import PROFILES, Profile, get_config, profile_named
from .data import FASHION_MNIST_SIDE, DataLoaders, fashion_mnist_counts, fashion_mnist_loaders, validation_size
from .training import fit

__all__ = ["Recipe", "Trained", "alexnet_for_profile", "epochs_for_budget", "recipe", "train_recipe"]

MAX_BUDGET_EPOCHS = 40  # a budget never asks for more epochs than this, however few images are on disk
FULL_TRAINING_SET = 60_000  # Fashion-MNIST's training split, assumed while the data are not on disk yet
_LOADER_FIELDS = ("batch_size", "resize", "subset", "crop", "padding", "flip", "normalize", "channels", "seed")
_FIT_FIELDS = ("epochs", "optimizer", "lr", "momentum", "weight_decay", "schedule", "seed")


@dataclass(frozen=True)
class Recipe:
    """How to train one model under one profile: its data (the arguments of ``fashion_mnist_loaders``, by name),
    its optimisation (those of :func:`alexnet_lib.training.fit`) and one seed for the model, the data and training."""

    model: str
    profile: str
    model_kwargs: dict = field(default_factory=dict)
    seed: int = 0
    batch_size: int = 128
    resize: int | None = None  # the side the model sees (None: Fashion-MNIST's own 28)
    subset: tuple[int | None, int | None] = (None, None)  # leading training and test images (None: all)
    crop: int | None = None  # random crops of this side after zero-padding by `padding`
    padding: int = 0
    flip: bool = False  # random horizontal flips
    normalize: bool = True
    channels: int | None = None  # 3 repeats the grey channel for models built for colour
    epochs: int = 10
    optimizer: str = "sgd"
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    schedule: str = "onecycle"
    budget: int | None = None  # training images to show in all; sets the epochs (None: fixed epochs)

    @property
    def side(self) -> int:
        """The side of the images the model sees: the crop's where there is one, else the resized images'."""
        return self.crop or self.resize or FASHION_MNIST_SIDE

    def describe(self) -> str:
        """The recipe in one paragraph.

        >>> print(recipe("lenet", "ci").describe())
        lenet(activation='relu') at 28×28, profile ci: first 2,000 training and first 1,000 test images (1,500 of the
        training images train, 500 validate), 8 epochs of batches of 128, sgd (momentum 0.9) at lr 0.03 with a onecycle
        schedule, normalised, no augmentation
        """
        kwargs = ", ".join(f"{k}={v!r}" for k, v in self.model_kwargs.items())
        aug = ([f"random crops (padding {self.padding})"] if self.crop else []) + (["horizontal flips"] if self.flip else [])
        images = replace(PROFILES[self.profile], train_images=self.subset[0], test_images=self.subset[1]).images_text()
        on_disk = (fashion_mnist_counts() or {"train": FULL_TRAINING_SET})["train"]  # what a subset of None takes
        n = min(self.subset[0] or on_disk, on_disk)
        images += f" ({n - validation_size(n):,} of the training images train, {validation_size(n):,} validate)"
        epochs = f"{self.epochs} epoch{'s' if self.epochs != 1 else ''}"
        capped = f", capped at {MAX_BUDGET_EPOCHS} epochs" if self.epochs == MAX_BUDGET_EPOCHS else ""
        epochs += f" (a budget of {self.budget:,} training images{capped})" if self.budget else ""
        optimizer = ", ".join(([f"momentum {self.momentum}"] if self.optimizer == "sgd" else [])
                              + ([f"weight decay {self.weight_decay:g}"] if self.weight_decay else [])) or "default settings"
        return (f"{self.model}({kwargs}) at {self.side}×{self.side}, profile {self.profile}: {images}, {epochs} of batches of "
                f"{self.batch_size}, {self.optimizer} ({optimizer}) at lr {self.lr} with a {self.schedule} schedule, "
                f"{'normalised' if self.normalize else 'not normalised'}, {' and '.join(aug) if aug else 'no augmentation'}")

    def build_model(self) -> nn.Module:
        """The model, built by ``models.get`` with the recipe's seed."""
        return models.get(self.model, **self.full_model_kwargs(), seed=self.seed)

    def full_model_kwargs(self) -> dict:
        """The arguments the model is built with (those of ``models.get``, less the seed)."""
        accepted = models.entry(self.model).arguments
        ours = {"num_classes": 10, "input_size": self.side}
        return {**{name: value for name, value in ours.items() if name in accepted}, **self.model_kwargs}

    def loaders(self, device: str | torch.device | None = None, root: str | Path | None = None) -> DataLoaders:
        """Fashion-MNIST's loaders for this recipe."""
        return fashion_mnist_loaders(**{name: getattr(self, name) for name in _LOADER_FIELDS}, device=device, root=root)

    def fit_kwargs(self) -> dict:
        """The keyword arguments of :func:`alexnet_lib.training.fit` (without model and data)."""
        return {name: getattr(self, name) for name in _FIT_FIELDS}


# Tuned recipes: (model, profile) -> changes to the profile's defaults, chosen on the validation images under `cpu`
# (benchmarks/tune_on_validation.py; benchmarks/README.md, "Recipes"); `ci` keeps short runs without augmentation.
_LENET = {"model_kwargs": {"activation": "relu"}, "lr": 0.1, "weight_decay": 0.0}
_FLIPS_AND_CROPS_28 = {"crop": 28, "padding": 2, "flip": True}
_FLIPS_AND_CROPS_64 = {"resize": 64, "crop": 64, "padding": 2, "flip": True}
_TUNED: dict[tuple[str, str], dict] = {
    ("lenet", "ci"): {**_LENET, "epochs": 8, "lr": 0.03},  # validation: 77% at 0.03, 72% at 0.1, 11% at 0.3
    ("lenet", "cpu"): {**_LENET, **_FLIPS_AND_CROPS_28, "budget": 240_000},
    ("lenet", "gpu"): {**_LENET, **_FLIPS_AND_CROPS_28, "budget": 600_000},
    ("alexnet_cpu", "ci"): {"epochs": 4, "resize": 64, "lr": 0.02},  # validation: 70% at 0.02, 69% at 0.01, 57% at 0.05
    ("alexnet_cpu", "cpu"): {"budget": 160_000, "lr": 0.02, **_FLIPS_AND_CROPS_64},
    ("alexnet_cpu", "gpu"): {"budget": 600_000, "lr": 0.02, **_FLIPS_AND_CROPS_64},
    ("alexnet_d2l", "ci"): {"epochs": 1, "lr": 0.01, "batch_size": 64, "resize": 224},
    ("alexnet_d2l", "cpu"): {"epochs": 10, "lr": 0.01, "resize": 224},
    ("alexnet_d2l", "gpu"): {"budget": 130_000, "lr": 0.01, "resize": 224, "crop": 224, "padding": 16, "flip": True},
}


def epochs_for_budget(budget: int, train_images: int | None, on_disk: int | None = None) -> int:
    """The epochs that show a model about ``budget`` training images, rounded, 1 to 40 (more epochs of fewer images on a
    small copy of the data), of ``train_images`` (None: all) of the ``on_disk`` ones, less those held out to validate.

    >>> epochs_for_budget(160_000, None, on_disk=60_000), epochs_for_budget(160_000, None, on_disk=3_615)
    (3, 40)
    """
    on_disk = on_disk or (fashion_mnist_counts() or {"train": FULL_TRAINING_SET})["train"]  # the full set before a download
    images = min(train_images or on_disk, on_disk)
    return max(1, min(MAX_BUDGET_EPOCHS, round(budget / (images - validation_size(images)))))


def alexnet_for_profile(profile: str | Profile | None = None) -> str:
    """The AlexNet a profile trains: the book's at 224×224 on a GPU, the CPU-scale one at 64×64 elsewhere.

    >>> alexnet_for_profile("gpu"), alexnet_for_profile("cpu")
    ('alexnet_d2l', 'alexnet_cpu')
    """
    return "alexnet_d2l" if _profile(profile).alexnet_input >= 224 else "alexnet_cpu"


def _profile(profile: str | Profile | None) -> Profile:
    if profile is None:
        return get_config().profile
    return profile if isinstance(profile, Profile) else profile_named(profile)


def recipe(model_name: str, profile: str | Profile | None = None, **model_kwargs: object) -> Recipe:
    """The recipe for ``model_name`` under ``profile`` (default: the active one); ``model_kwargs`` change the model,
    ``dataclasses.replace(recipe(...), lr=0.1, seed=1)`` anything else.

    >>> recipe("alexnet_cpu", "cpu").side, recipe("torchvision_alexnet", "ci").channels, recipe("alexnet", "ci").channels
    (64, 3, None)
    """
    spec = models.entry(model_name)  # a ValueError that lists the models, for a name that is not one
    p = _profile(profile)
    base = Recipe(model=model_name, profile=p.name, epochs=p.epochs, batch_size=p.batch_size, subset=(p.train_images, p.test_images))
    tuned = _TUNED.get((model_name, p.name))
    if tuned is None:  # generic: at the model's native side, built for one grey channel where it can be
        grey = {"in_channels": 1} if "in_channels" in spec.arguments else {}
        channels, side = spec.input_size[:2]
        tuned = {"lr": 0.01, "resize": None if side == FASHION_MNIST_SIDE else side,
                 "channels": None if grey or channels == 1 else channels, "model_kwargs": grey}
    r = replace(base, **tuned)
    epochs = epochs_for_budget(r.budget, r.subset[0]) if r.budget else r.epochs
    return replace(r, epochs=p.epochs_for(epochs), model_kwargs={**r.model_kwargs, **model_kwargs})  # ALEXNET_MAX_EPOCHS caps


class Trained(NamedTuple):
    """What :func:`train_recipe` returns: the trained model, its history and the data it was trained on."""

    model: nn.Module
    history: pd.DataFrame
    data: DataLoaders


def train_recipe(r: Recipe, *, model: nn.Module | None = None, data: DataLoaders | None = None, test: bool = True,
                 device: str | torch.device | None = None, root: str | Path | None = None, progress: bool = True,
                 announce: bool | None = None, callbacks: Iterable[Callback] = ()) -> Trained:
    """Train by the recipe ``r``: load its data (or take ``data``, other loaders: Flowers102's, say), build its model (or
    take ``model``, built from it) and fit, validating after each epoch and testing once at the end unless ``test=False``
    (``history.attrs["test_acc"]``). The rest goes to
    :func:`alexnet_lib.training.fit`, ``callbacks`` too (``course.plots.LiveCurve()`` draws the learning curve as it trains).

    >>> r = replace(recipe("lenet", "ci"), subset=(64, 64), epochs=1, batch_size=32)
    >>> trained = train_recipe(r, device="cpu", progress=False)
    >>> len(trained.history), trained.history.attrs["seed"], trained.model.training
    (1, 0, False)
    """
    own_data = data is None
    data = r.loaders(device=device, root=root) if own_data else data
    model = r.build_model() if model is None else model
    history = fit(model, data, test=data.test if test else None, device=device, progress=progress, announce=announce,
                  callbacks=callbacks, **r.fit_kwargs())
    if own_data:
        history.attrs["recipe"] = r.describe()
    return Trained(model, history, data)
