"""What the 2012 AlexNet paper states, in one place, each fact with the section or table it comes from.

Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural
Networks", NIPS 2012. Section 2 describes the data and the error rates, Section 4.1 the data
augmentation and the ten-patch test, Section 5 the training recipe and the initialisation,
Section 6 the results (Tables 1 and 2). Every figure here is the paper's own, as printed; what
the course computes from them is computed where it is used, never written here.

>>> PAPER.batch_size.value, PAPER.batch_size.source
(128, 'Section 5')
>>> row = results_table().loc["CNN"]
>>> row["data"], row["split"], float(row["top-1 %"]), float(row["top-5 %"])
('ILSVRC-2010', 'test', 37.5, 17.0)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

import pandas as pd

__all__ = ["CITATION", "Fact", "PAPER", "Paper", "RESULTS", "Result", "ablations_table", "facts_table",
           "recipe_against_paper", "result", "results_table"]

CITATION = 'Krizhevsky, Sutskever and Hinton, "ImageNet Classification with Deep Convolutional Neural Networks", NIPS 2012'


class Fact(NamedTuple):
    """One thing the paper states: its ``value``, ``what`` it is, and its ``source`` in the paper."""

    value: Any
    what: str
    source: str


@dataclass(frozen=True)
class Paper:
    """Each figure and setting the paper states, as a :class:`Fact`: ``PAPER.epochs.value`` is 90,
    ``PAPER.epochs.source`` is ``"Section 5"``."""

    # The data and the error rates (Section 2).
    training_images: Fact = Fact(1_200_000, "ILSVRC training images (roughly)", "Section 2")
    classes: Fact = Fact(1000, "ILSVRC classes (categories)", "Section 2")
    fall_2011: Fact = Fact((15_000_000, 22_000), "images and categories of the ImageNet Fall 2011 release, used for pre-training",
                           "Section 6")
    image_side: Fact = Fact(256, "side of the images: shorter side rescaled to it, then the central square cut out", "Section 2")
    top_k: Fact = Fact(5, "labels a top-5 answer may name: wrong only if the true label is not among them", "Section 2")

    # The architecture's ideas, each with what the paper measured it was worth (Section 3). The gains are
    # percentage points of error saved on ILSVRC, as (top-1, top-5).
    relu_speedup: Fact = Fact(6, "times fewer iterations to 25% training error with ReLUs than with tanh units", "Section 3.1, Figure 1")
    relu_setup: Fact = Fact("a four-layer convolutional network on CIFAR-10, ReLU against tanh, each with its best learning rate",
                            "the experiment behind the six-fold speed-up", "Section 3.1, Figure 1")
    two_gpu_gain: Fact = Fact((1.7, 1.2), "points of (top-1, top-5) error the two-GPU net saves against a net with half as many "
                              "kernels in each convolutional layer on one GPU (not halved: the last convolution and the fully "
                              "connected layers, footnote 2)", "Section 3.2")
    lrn_gain: Fact = Fact((1.4, 1.2), "points of (top-1, top-5) error that local response normalisation saves", "Section 3.3")
    lrn_cifar10_errors: Fact = Fact((13, 11), "test error (%) of a four-layer CNN on CIFAR-10 without and with normalisation",
                                    "Section 3.3")
    overlap_pool_gain: Fact = Fact((0.4, 0.3), "points of (top-1, top-5) error that overlapping pooling (3×3, stride 2) saves "
                                   "against 2×2 windows with stride 2, at the same output size", "Section 3.4")
    dropout_slowdown: Fact = Fact(2, "dropout roughly multiplies the iterations needed to converge by this", "Section 4.2")
    neurons: Fact = Fact((253_440, 186_624, 64_896, 64_896, 43_264, 4096, 4096, 1000),
                         "neurons in each layer after the input, conv1 to fc8, as printed", "Section 3.5")

    # Augmentation and the ten-patch test (Section 4.1).
    crop_side: Fact = Fact(224, "side of the random training patches and of the test patches", "Section 4.1")
    augmentation_factor: Fact = Fact(2048, "factor by which patches and their reflections enlarge the training set, as stated",
                                     "Section 4.1")
    test_patches: Fact = Fact(10, "patches averaged at test time: four corners, centre, and their horizontal reflections",
                              "Section 4.1")
    pca_alpha_std: Fact = Fact(0.1, "standard deviation of the zero-mean Gaussian α that scales each principal component",
                               "Section 4.1")
    pca_top1_gain: Fact = Fact(1.0, "percentage points of top-1 error that PCA colour augmentation saves (stated: over 1%)",
                               "Section 4.1")

    # The training recipe and the initialisation (Section 5).
    optimizer: Fact = Fact("sgd", "stochastic gradient descent", "Section 5")
    batch_size: Fact = Fact(128, "images per batch", "Section 5")
    momentum: Fact = Fact(0.9, "momentum", "Section 5")
    weight_decay: Fact = Fact(0.0005, "weight decay", "Section 5")
    learning_rate: Fact = Fact(0.01, "initial learning rate, the same for every layer", "Section 5")
    lr_divisor: Fact = Fact(10, "the learning rate was divided by this when the validation error rate stopped improving",
                            "Section 5")
    lr_reductions: Fact = Fact(3, "times the learning rate was divided before training ended", "Section 5")
    epochs: Fact = Fact(90, "cycles through the training set (roughly)", "Section 5")
    training_days: Fact = Fact((5, 6), "days of training", "Section 5")
    gpus: Fact = Fact("two NVIDIA GTX 580 3GB", "the hardware", "Section 5")
    weight_std: Fact = Fact(0.01, "standard deviation of the zero-mean Gaussian that draws every layer's weights", "Section 5")
    bias_one_layers: Fact = Fact(("conv2", "conv4", "conv5", "fc6", "fc7"),
                                 "layers whose biases start at 1 (conv2, conv4, conv5 and the fully connected hidden layers); "
                                 "every other bias starts at 0", "Section 5")


PAPER = Paper()
"""The paper's facts: ``PAPER.crop_side.value``, ``PAPER.crop_side.source``."""


class Result(NamedTuple):
    """One row of the paper's results: error rates in percent (``None`` where the paper has none)."""

    model: str
    data: str
    split: str
    top1: float | None
    top5: float | None
    source: str


RESULTS: tuple[Result, ...] = (
    Result("sparse coding (best in the ILSVRC-2010 competition)", "ILSVRC-2010", "test", 47.1, 28.2, "Table 1"),
    Result("SIFT + FVs (best published before the paper)", "ILSVRC-2010", "test", 45.7, 25.7, "Table 1"),
    Result("CNN", "ILSVRC-2010", "test", 37.5, 17.0, "Table 1"),
    Result("CNN, one view (no ten-patch averaging)", "ILSVRC-2010", "test", 39.0, 18.3, "Section 6, footnote 5"),
    Result("SIFT + FVs (second-best ILSVRC-2012 entry)", "ILSVRC-2012", "test", None, 26.2, "Table 2"),
    Result("1 CNN", "ILSVRC-2012", "validation", 40.7, 18.2, "Table 2"),
    Result("5 CNNs", "ILSVRC-2012", "validation", 38.1, 16.4, "Table 2"),
    Result("5 CNNs", "ILSVRC-2012", "test", None, 16.4, "Table 2"),
    Result("1 CNN* (pre-trained on ImageNet Fall 2011)", "ILSVRC-2012", "validation", 39.0, 16.6, "Table 2"),
    Result("7 CNNs* (5 CNNs + 2 pre-trained)", "ILSVRC-2012", "validation", 36.7, 15.4, "Table 2"),
    Result("7 CNNs* (5 CNNs + 2 pre-trained)", "ILSVRC-2012", "test", None, 15.3, "Table 2"),
)


def result(model: str, data: str, split: str) -> Result:
    """The row of :data:`RESULTS` for ``model`` on ``data``'s ``split``; an unknown one gets the list of rows.

    >>> result("7 CNNs* (5 CNNs + 2 pre-trained)", "ILSVRC-2012", "test").top5
    15.3
    """
    for row in RESULTS:
        if (row.model, row.data, row.split) == (model, data, split):
            return row
    known = "; ".join(f"{r.model} / {r.data} / {r.split}" for r in RESULTS)
    raise KeyError(f"the paper reports no {model!r} on {data} {split}; its rows are: {known}.")


def results_table() -> pd.DataFrame:
    """The paper's error rates (Tables 1 and 2, and footnote 5), one row per model and split, indexed by model.

    ``*`` marks the networks pre-trained on the whole ImageNet Fall 2011 release (15 million
    images, 22,000 categories) and then fine-tuned on ILSVRC-2012 (Section 6).

    >>> table = results_table()
    >>> float(table[table["split"] == "test"].loc["7 CNNs* (5 CNNs + 2 pre-trained)", "top-5 %"])
    15.3
    """
    table = pd.DataFrame(RESULTS).rename(columns={"top1": "top-1 %", "top5": "top-5 %"})
    return table.set_index("model")


def ablations_table() -> pd.DataFrame:
    """What the paper measured each of its ideas to be worth, one row per idea, with the section.

    Error gains are percentage points saved on ILSVRC ("–" where the paper measured something
    else, which ``measured`` then says).

    >>> ablations_table().loc["overlapping pooling", ["top-1 points", "top-5 points"]].tolist()
    [0.4, 0.3]
    """
    lrn_without, lrn_with = PAPER.lrn_cifar10_errors.value
    rows = {
        "ReLU": (None, None, f"{PAPER.relu_speedup.value}× fewer iterations to 25% training error than tanh, on CIFAR-10 "
                 "with a four-layer CNN", PAPER.relu_speedup.source),
        "two GPUs": (*PAPER.two_gpu_gain.value, "against a one-GPU net with half the kernels in most convolutional layers",
                     PAPER.two_gpu_gain.source),
        "local response normalisation": (*PAPER.lrn_gain.value, f"also {lrn_without}% → {lrn_with}% test error on CIFAR-10 "
                                         "(a four-layer CNN)", PAPER.lrn_gain.source),
        "overlapping pooling": (*PAPER.overlap_pool_gain.value, "3×3 windows, stride 2, against 2×2, stride 2",
                                PAPER.overlap_pool_gain.source),
        "PCA colour augmentation": (PAPER.pca_top1_gain.value, None, "top-1 only, stated as 'over 1%'", PAPER.pca_top1_gain.source),
        "dropout": (None, None, "without it the network overfits substantially; it multiplies the iterations needed "
                    f"to converge by about {PAPER.dropout_slowdown.value}", PAPER.dropout_slowdown.source),
    }
    columns = ["top-1 points", "top-5 points", "measured", "source"]
    return pd.DataFrame.from_dict(rows, orient="index", columns=columns, dtype=object).fillna("–")


def facts_table(facts: dict[str, Fact]) -> pd.DataFrame:
    """The ``facts`` (name -> :class:`Fact`) as a table: value, what it is, where the paper says it.

    >>> facts_table({"batch": PAPER.batch_size, "momentum": PAPER.momentum})
               value        what     source
    batch        128  images per batch  Section 5
    momentum     0.9          momentum  Section 5
    """
    if not facts or not all(isinstance(f, Fact) for f in facts.values()):
        raise ValueError("facts should be a non-empty dict of name -> paper.Fact, e.g. {'batch': PAPER.batch_size}.")
    return pd.DataFrame([f._asdict() for f in facts.values()], index=list(facts), dtype=object)


def recipe_against_paper(recipe: Any) -> pd.DataFrame:
    """The paper's training recipe (Section 5) beside a course recipe (a :class:`alexnet_lib.recipes.Recipe`).

    ``recipe`` needs the attributes ``optimizer, batch_size, momentum, weight_decay, lr,
    schedule, epochs`` and ``profile``, as a ``Recipe`` has.

    >>> from types import SimpleNamespace
    >>> mine = SimpleNamespace(optimizer="sgd", batch_size=64, momentum=0.9, weight_decay=0.0, lr=0.1,
    ...                        schedule="onecycle", epochs=3, profile="ci")
    >>> recipe_against_paper(mine).loc["batch_size"].tolist()
    [128, 64]
    """
    missing = [name for name in (*_RECIPE_FIELDS, "profile") if not hasattr(recipe, name)]
    if missing:
        raise ValueError(f"recipe lacks {', '.join(missing)}: pass a Recipe, e.g. recipes.recipe('alexnet_cpu', 'ci').")
    schedule = f"divided by {PAPER.lr_divisor.value} when the validation error stopped improving ({PAPER.lr_reductions.value} times)"
    paper = {"optimizer": PAPER.optimizer.value, "batch_size": PAPER.batch_size.value, "momentum": PAPER.momentum.value,
             "weight_decay": PAPER.weight_decay.value, "lr": PAPER.learning_rate.value, "schedule": schedule,
             "epochs": f"about {PAPER.epochs.value}"}
    return pd.DataFrame({"paper (Section 5)": paper,
                         f"this course ({recipe.profile})": {name: getattr(recipe, name) for name in _RECIPE_FIELDS}})


_RECIPE_FIELDS = ("optimizer", "batch_size", "momentum", "weight_decay", "lr", "schedule", "epochs")
