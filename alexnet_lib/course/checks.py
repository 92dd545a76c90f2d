"""Instant checks for the exercises: ``check(answer, "output_size", n=27, k=5)`` runs ``check_output_size``.

Each ``check_<exercise>`` computes the expected answer with the library when it runs, never
typed in, so a check cannot drift from what the notebook teaches; it prints right or a hint.
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Callable
from typing import Any

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import models
from .activations import values_and_derivatives
from ..alexnet import local_response_norm_as_printed
from .comparison import count_weight_layers, milestone_table, torchvision_top1
from ..config import PROFILES, model_name, resolve_profile
from ..data import FASHION_MNIST_MEAN, FASHION_MNIST_SIDE, FASHION_MNIST_STD, BatchLoader, BatchTransform, load_fashion_mnist
from .diagrams import two_gpu_connections
from .evaluation import topk_error
from .glossary import english_term
from .inspection import occlusion_sensitivity
from .matching import first_difference
from .memory import training_memory
from ..facts.paper import PAPER
from ..shapes import conv_output_size, pool_output_size
from .tables import layer_table
from ..training import fit


def check_value(answer: Any, expected: Any, hint: str, tolerance: float = 0.0) -> None:
    """Print whether ``answer`` equals ``expected`` (numbers within ``tolerance``), with a hint if not.

    >>> check_value(1_568_000, 1_568_000, hint="bytes per image times images")
    Right: 1,568,000.
    >>> check_value(None, 3, hint="count them")
    Not answered yet: replace None with your answer.
    >>> check_value("GPU ", "gpu", hint="-")
    Right: 'gpu'.
    """
    if answer is None or answer is Ellipsis:
        print(f"Not answered yet: replace {answer!r} with your answer.")
        return
    if isinstance(expected, str) and isinstance(answer, str):
        right = answer.strip().lower() == expected.lower()
    elif isinstance(expected, (int, float)) and isinstance(answer, (int, float)) and not isinstance(answer, bool):
        right = abs(answer - expected) <= tolerance
    else:
        right = answer == expected
    if right:
        shown = f"{expected:,}" if isinstance(expected, int) else repr(expected)
        print(f"Right: {shown}.")
    else:
        print(f"Not quite: {answer!r} is not the answer. Hint: {hint}")


def check_profile_on_gpu_machine(answer: str | None) -> None:
    """Exercise 00.1: the profile chosen on a CUDA machine with no ALEXNET_PROFILE and no CI.

    >>> check_profile_on_gpu_machine("cpu")
    Not quite: 'cpu' is not the answer. Hint: ...
    """
    expected, _ = resolve_profile({}, device="cuda")
    check_value(answer, expected.name, hint="read the order of the rules in `resolve_profile`: override, CI, CUDA.")


def check_ci_training_bytes(answer: int | None) -> None:
    """Exercise 00.2: bytes taken by the ``ci`` profile's training images stored as uint8.

    >>> check_ci_training_bytes(0)
    Not quite: 0 is not the answer. Hint: ...
    """
    expected = PROFILES["ci"].train_images * FASHION_MNIST_SIDE * FASHION_MNIST_SIDE
    check_value(answer, expected, hint="one uint8 pixel is one byte; an image is 28 x 28 pixels.")


def check_output_size(answer: int | None, n: int, k: int, s: int = 1, p: int = 0, pool: bool = False) -> None:
    """Exercise: the output size of a convolution (or pooling) layer along one dimension.

    >>> check_output_size(13, n=27, k=5, s=2, p=1)
    Right: 13.
    >>> check_output_size(12, n=27, k=5, s=2, p=1)
    Not quite: 12 is not the answer. Hint: out = floor((n + 2p - k) / s) + 1 with n=27, k=5, s=2, p=1.
    """
    expected = pool_output_size(n, k, s, p) if pool else conv_output_size(n, k, s, p)
    check_value(answer, expected, hint=f"out = floor((n + 2p - k) / s) + 1 with n={n}, k={k}, s={s}, p={p}.")


def check_same_padding(answer: int | None, n: int, k: int) -> None:
    """Exercise: the padding on each side that keeps an ``n``-pixel input at ``n`` pixels (stride 1, odd ``k``).

    >>> check_same_padding(2, n=32, k=5)
    Right: 2.
    """
    if k % 2 == 0:
        raise ValueError(f"k={k} is even: no symmetric padding keeps the size; ask with an odd kernel.")
    expected = next(p for p in range(k) if conv_output_size(n, k, 1, p) == n)
    check_value(answer, expected, hint="with stride 1 the output is n + 2p - k + 1; set it equal to n.")


def check_exact_input_size(answer: int | None, out: int, k: int, s: int) -> None:
    """Exercise: the input size that a padding-free layer turns into exactly ``out`` with no pixel left over.

    >>> check_exact_input_size(227, out=55, k=11, s=4)
    Right: 227.
    """
    expected = (out - 1) * s + k  # the last window ends exactly at the last pixel
    assert conv_output_size(expected, k, s) == out and (expected - k) % s == 0
    check_value(answer, expected, hint="the windows start at 0, s, 2s, ..., (out - 1)s, and the last one is k pixels wide.")


def check_conv_params(answer: int | None, in_channels: int, out_channels: int, k: int) -> None:
    """Exercise: trainable parameters of a full ``k``×``k`` convolution, counted by a real ``nn.Conv2d``.

    >>> check_conv_params(156, in_channels=1, out_channels=6, k=5)
    Right: 156.
    """
    expected = sum(p.numel() for p in nn.Conv2d(in_channels, out_channels, k, device="meta").parameters())
    check_value(answer, expected, hint="each output map has in_channels x k x k weights and one bias.")


def check_linear_params(answer: int | None, in_features: int, out_features: int) -> None:
    """Exercise: trainable parameters of a fully connected layer, counted by a real ``nn.Linear``.

    >>> check_linear_params(48_120, in_features=400, out_features=120)
    Right: 48,120.
    """
    expected = sum(p.numel() for p in nn.Linear(in_features, out_features, device="meta").parameters())
    check_value(answer, expected, hint="one weight per (input, output) pair, plus one bias per output.")


def check_network(answer: nn.Module | None, reference: str | nn.Module, input_size: tuple[int, ...] | None = None) -> None:
    """Build-it exercise: is the student's network the reference, layer for layer?

    ``reference`` is a registered model's name (its input size is then the registry's) or a
    module. The check compares the layers with weights or a change of shape, in the order they
    run (:func:`alexnet_lib.course.matching.first_difference`), and names the first one that differs.

    >>> check_network(nn.Sequential(nn.Conv2d(1, 6, 5, padding=2), nn.Sigmoid()), "lenet")
    Not quite: Layer 3 is missing: the reference has AvgPool2d (features.pool1) there.
    """
    if isinstance(reference, str):
        input_size = input_size or models.entry(reference).input_size
        reference = models.get(reference, seed=0)
    if input_size is None:
        raise ValueError("give input_size=(C, H, W) when the reference is a module, not a registered model's name.")
    try:
        difference = first_difference(answer, reference, input_size)
    except Exception as error:  # a student's network that cannot run on the input: say why, in one line
        print(f"Not quite: your network fails on an input of size {tuple(input_size)}: {str(error).splitlines()[0]}")
        return
    if difference is None:
        params = sum(p.numel() for p in answer.parameters())
        name = model_name(reference) if hasattr(reference, "model_name") else "the reference"
        print(f"Right: your network matches {name} layer for layer ({params:,} parameters).")
    else:
        print(f"Not quite: {difference}")


def check_largest_slope(answer: float | None, activation: str) -> None:
    """Exercise: the largest value of an activation's derivative, measured by autograd.

    >>> check_largest_slope(0.25, "sigmoid")
    Right: 0.25.
    """
    expected = round(values_and_derivatives(activation, torch.linspace(-10, 10, 20_001))[1].max().item(), 4)
    check_value(answer, expected, hint="differentiate, then find where the derivative peaks (plot it!).", tolerance=1e-3)


def check_sigmoid_chain_bound(answer: float | None, layers: int) -> None:
    """Exercise: the most a gradient can be multiplied by, passing back through ``layers`` sigmoids.

    >>> check_sigmoid_chain_bound(0.25 ** 3, layers=3)
    Right: 0.015625.
    """
    slope = values_and_derivatives("sigmoid", torch.zeros(1))[1].item()
    check_value(answer, slope**layers, hint="each sigmoid multiplies the gradient by its slope, at most 0.25.", tolerance=1e-4 * slope**layers)


def check_smallest_first_layer_gradient(answer: str | None, profile: pd.DataFrame) -> None:
    """Exercise: which activation's network gets the smallest gradient in its first layer (in ``profile``).

    >>> profile = pd.DataFrame({"sigmoid": [1e-8, 0.1], "relu": [1e-3, 0.1]})
    >>> check_smallest_first_layer_gradient("sigmoid", profile)
    Right: 'sigmoid'.
    """
    check_value(answer, str(profile.iloc[0].idxmin()), hint="read the first row of the profile (layer 1).")


def check_dropout_scale(answer: float | None, p: float = 0.5) -> None:
    """Exercise 06: the factor by which PyTorch's ``nn.Dropout(p)`` multiplies the units it keeps, in training.

    >>> check_dropout_scale(2.0, p=0.5)
    Right: 2.0.
    """
    kept = nn.Dropout(p).train()(torch.ones(10_000))
    check_value(answer, round(kept.max().item(), 6), hint="the mean of every unit must stay the same: kept units share out the dropped ones' value.", tolerance=1e-3)


def check_mac_ratio(answer: float | None, bigger: str = "alexnet_d2l", smaller: str = "alexnet_cpu") -> None:
    """Exercise 06: how many times the forward MACs per image of ``bigger`` exceed those of ``smaller`` (whole number).

    >>> check_mac_ratio(0)
    Not quite: 0 is not the answer. Hint: ...
    """
    macs = {name: int(layer_table(m := models.get(name, device="meta"), m.input_size).iloc[-1]["macs"]) for name in (bigger, smaller)}
    check_value(answer, round(macs[bigger] / macs[smaller]), hint="divide the 'macs' of the two 'total' rows and round to a whole number.")


def check_topk_error(answer: float | None, logits: torch.Tensor, labels: torch.Tensor, k: int = 5) -> None:
    """Exercise 06: the top-``k`` error of ``logits`` (one row of scores per image) for the true ``labels``, a fraction.

    >>> check_topk_error(0.5, torch.tensor([[1.0, 2.0], [2.0, 1.0]]), torch.tensor([1, 1]), k=1)
    Right: 0.5.
    """
    check_value(answer, topk_error(torch.as_tensor(logits), torch.as_tensor(labels), k), tolerance=1e-3,
                hint=f"is each image's true label among its {k} highest scores? Count the images where it is not; divide by all.")


def check_patch_count(answer: int | None, image: int = PAPER.image_side.value, crop: int = PAPER.crop_side.value) -> None:
    """Exercise 06: how many different ``crop``×``crop`` patches, mirror images included, one ``image``×``image`` image gives.

    >>> check_patch_count(2 * 33 * 33)
    Right: 2,178.
    """
    check_value(answer, 2 * conv_output_size(image, crop, 1) ** 2,
                hint="along each side a patch can start at 0, 1, ..., image - crop; and every patch has a mirror image.")


def check_receptive_field(answer: int | None, model_name: str = "alexnet_cpu", layer: str = "features.conv2") -> None:
    """Exercise 07: how many input pixels (along one side) one value of ``layer`` sees.

    >>> check_receptive_field(5, "alexnet_cpu", "features.conv1")
    Right: 5.
    """
    model = models.get(model_name, seed=0)
    table = layer_table(model, model.input_size).set_index("name")
    check_value(answer, int(table.loc[layer, "rf"]), hint="each layer adds (k - 1) × the jump of its input to the receptive field; read the 'rf' column.")


def check_occlusion_positions(answer: int | None, side: int = 64, patch: int = 8, stride: int = 4) -> None:
    """Exercise 07: how many patch positions (rows × columns) an occlusion map of a ``side``×``side`` image has.

    >>> check_occlusion_positions(15 * 15, side=64, patch=8, stride=4)
    Right: 225.
    """
    model = nn.Sequential(nn.Flatten(), nn.Linear(side * side, 2))
    heat = occlusion_sensitivity(model, torch.zeros(1, side, side), target=0, patch=patch, stride=stride)
    check_value(answer, heat.numel(), hint="per side: (side - patch) // stride + 1 positions, as for a convolution without padding.")


def check_lrn_value(answer: float | None, values: tuple[float, ...] = (1.0, 2.0, 3.0, 4.0, 5.0), i: int = 0,
                    size: int = 5, alpha: float = 0.1, beta: float = 0.75, k: float = 2.0) -> None:
    """Exercise 04: map ``i``'s output of the paper's printed LRN formula for one pixel with ``values`` across the maps.

    >>> check_lrn_value(0.3994, values=(1.0, 2.0, 3.0, 4.0, 5.0), i=0)  # 1 / (2 + 0.1 * (1 + 4 + 9)) ** 0.75
    Right: 0.399...
    """
    x = torch.tensor(values, dtype=torch.float64).reshape(1, -1, 1, 1)
    expected = float(local_response_norm_as_printed(x, size=size, alpha=alpha, beta=beta, k=k)[0, i, 0, 0])
    check_value(answer, expected, tolerance=1e-3,
                hint=f"b_i = a_i / (k + alpha * sum of the squares of maps i-{size // 2}..i+{size // 2} that exist) ** beta.")


def check_overlap_windows(answer: int | None, k: int = 3, s: int = 2, n: int = 13) -> None:
    """Exercise 04: the most pooling windows (``k``×``k``, stride ``s``) that one pixel of an ``n``×``n`` map falls in.

    >>> check_overlap_windows(4, k=3, s=2)
    Right: 4.
    """
    ones = torch.ones(1, 1, n, n)
    columns = F.unfold(ones, kernel_size=k, stride=s)
    counts = F.fold(columns, output_size=(n, n), kernel_size=k, stride=s)
    check_value(answer, int(counts.max()), hint="along one side a pixel is in ceil(k / s) windows at most; a window is 2-D.")


def check_fc_parameter_share(answer: float | None, model_name: str = "alexnet_2012") -> None:
    """Exercise 05: the fraction of ``model_name``'s parameters in its fully connected layers (0 to 1).

    >>> check_fc_parameter_share(0.96)
    Right: 0.96...
    """
    with torch.device("meta"):
        model = models.get(model_name)
    table = layer_table(model, model.input_size)
    layers = table[table["name"] != "total"]
    share = int(layers.loc[layers["type"] == "Linear", "params"].sum()) / int(layers["params"].sum())
    check_value(answer, round(share, 4), tolerance=0.005, hint="add the 'params' of the Linear rows of the layer table and divide by the total.")


def check_weight_memory_mib(answer: float | None, model_name: str = "alexnet_2012", optimizer: str = "momentum") -> None:
    """Exercise 05: MiB (2**20 bytes) for parameters, gradients and optimizer state in float32, activations left out.

    >>> check_weight_memory_mib(697.7)
    Right: 697.7...
    """
    model = models.get(model_name)
    memory = training_memory(model, model.input_size, batch_size=1, optimizer=optimizer).set_index("item")
    expected = round(int(memory.loc[["parameters", "gradients", "optimizer state"], "bytes"].sum()) / 2**20, 1)
    check_value(answer, expected, tolerance=0.5,
                hint="each of the three holds one float32 (4 bytes) per parameter with momentum; 1 MiB = 2**20 bytes.")


def check_cross_gpu_layers(answer: str | None) -> None:
    """Exercise 05: the layers of the 2012 network that read both GPUs' outputs, as a comma-separated list.

    >>> check_cross_gpu_layers("conv3, fc6, fc7, fc8")
    Right: 'conv3, fc6, fc7, fc8'.
    >>> check_cross_gpu_layers("fc8, conv3, fc7, fc6")
    Right: 'conv3, fc6, fc7, fc8'.
    """
    table = two_gpu_connections()
    expected = ", ".join(table.loc[table["reads"] == "both GPUs", "layer"])
    if isinstance(answer, str):
        given = sorted(part.strip().lower() for part in answer.split(",") if part.strip())
        answer = expected if given == sorted(expected.split(", ")) else answer
    check_value(answer, expected, hint="follow the red arrows in the diagram; the image itself goes to both GPUs.")


def check_unshared_conv_params(answer: int | None, in_channels: int, out_channels: int, k: int, out_side: int) -> None:
    """Exercise 05: parameters of a ``k``×``k`` layer that is local but not shared: each of its ``out_side``² positions has its own kernels.

    >>> check_unshared_conv_params(105_705_600, in_channels=3, out_channels=96, k=11, out_side=55)  # conv1
    Right: 105,705,600.
    """
    shared = sum(p.numel() for p in nn.Conv2d(in_channels, out_channels, k, device="meta").parameters())
    check_value(answer, out_side * out_side * shared,
                hint="every output position gets its own copy of all the kernels and biases: positions × the convolution's parameters.")


def check_milestone_ratio(answer: float | None, column: str = "params", bigger: str = "vgg16", smaller: str = "googlenet") -> None:
    """Exercise 08: how many times ``bigger``'s ``column`` (params, macs, activations) exceeds ``smaller``'s (whole number).

    >>> check_milestone_ratio(21, "params", "vgg16", "googlenet")
    Right: 21.
    """
    table = milestone_table([bigger, smaller])
    expected = round(int(table.loc[bigger, column]) / int(table.loc[smaller, column]))
    check_value(answer, expected, hint=f"divide the two models' '{column}' in the table and round to a whole number.")


def check_recipe_gain(answer: float | None, name: str = "resnet50") -> None:
    """Exercise 08: percentage points of top-1 that torchvision's V2 weights of ``name`` gain over its V1 weights.

    >>> check_recipe_gain(4.7)
    Right: 4.7.
    """
    expected = round(torchvision_top1(name, "IMAGENET1K_V2") - torchvision_top1(name, "IMAGENET1K_V1"), 1)
    check_value(answer, expected, tolerance=0.05, hint="subtract the two weights' acc@1 in their meta['_metrics'], to one decimal.")


def check_weight_layer_count(answer: int | None, name: str = "googlenet") -> None:
    """Exercise 08: how many convolution and fully connected layers milestone ``name`` has in all (every branch).

    >>> check_weight_layer_count(21, "resnet18")
    Right: 21.
    """
    expected = count_weight_layers(models.get(name, device="meta"))
    check_value(answer, expected, hint="count the Conv2d and Linear modules in print(model), or with isinstance over model.modules(); "
                                 "the depth counts only the longest path, branches add more.")


_RECAP_CHOICES = {  # question: (right letter, why)
    "resnet_vs_vgg": ("b", "VGG-16's fully connected layers hold most of its parameters (fc6 alone reads 512×7×7 values "
                           "into 4096 units); ResNet averages each final map to one value and has a single, small fc "
                           "layer, and its bottlenecks keep the 3×3 convolutions narrow."),
    "dropped_ingredient": ("c", "VGG's authors found LRN did not help; batch normalization (2015) took over its job. "
                                "ReLU, max pooling and data augmentation are still in every network of the table."),
}


def check_recap_choice(answer: str | None, question: str) -> None:
    """Exercise 08: a multiple-choice question of the recap quiz, answered by its letter.

    >>> check_recap_choice("b", "resnet_vs_vgg")
    Right: 'b'.
    >>> check_recap_choice("a", "dropped_ingredient")
    Not quite: 'a' is not the answer. Hint: VGG's authors ...
    """
    if question not in _RECAP_CHOICES:
        raise ValueError(f"question={question!r} is not a recap question; choose one of {', '.join(_RECAP_CHOICES)}.")
    letter, why = _RECAP_CHOICES[question]
    if isinstance(answer, str):
        answer = answer.strip().strip("()").lower()
    check_value(answer, letter, hint=why)


def check_english_term(answer: str | None, chinese: str = "汇聚层") -> None:
    """Exercise 08: the English name (as in the glossary, without its parenthesis) of a Chinese term.

    >>> check_english_term("pooling layer", "汇聚层")
    Right: 'pooling layer'.
    """
    try:
        expected = english_term(chinese)
    except KeyError as error:
        raise ValueError(error.args[0]) from None
    check_value(answer, expected, hint="find the term in the glossary's 中文 or d2l 中文版 column and read its English name.")


def check_training_loop(my_train: Callable | None, epochs: int = 2, lr: float = 0.1) -> None:
    """Exercise 02: does ``my_train(model, batches, epochs, lr)`` train a LeNet to exactly the weights ``fit`` gives?

    Two ReLU LeNets (seed 0) see the same 4 batches of 32 training images, normalised as our
    loaders do: one in ``my_train``, one in ``fit`` with plain SGD in float32 on the CPU. The same
    operations in the same order give the same weights to the last bit, so any difference counts.

    >>> check_training_loop(lambda model, batches, epochs, lr: None)
    Not quite: after your loop no weight has changed. Hint: ...
    """
    images, labels = load_fashion_mnist(train=True, limit=4 * 32)
    batches = list(BatchLoader(images, labels, 32, BatchTransform(mean=FASHION_MNIST_MEAN, std=FASHION_MNIST_STD)))
    yours, reference = (models.get("lenet", activation="relu", seed=0) for _ in range(2))
    before = [tensor.clone() for tensor in yours.state_dict().values()]
    try:
        my_train(yours, batches, epochs, lr)
    except Exception as error:  # a student's loop that fails: say why, in one line
        return print(f"Not quite: your loop fails: {type(error).__name__}: {(str(error).splitlines() or [''])[0]}")
    fit(reference, (batches, None), epochs, optimizer="sgd", lr=lr, momentum=0.0, amp=False, channels_last=False,
        device="cpu", progress=False, announce=False, seed=0)
    mine, expected = yours.state_dict(), reference.state_dict()
    differences = {name: (mine[name].detach().cpu().float() - expected[name]).abs().max().item() for name in expected}
    worst, steps = max(differences, key=differences.get), epochs * len(batches)
    if differences[worst] == 0:
        print(f"Right: after {steps} steps your loop and fit give the same weights (largest difference {differences[worst]}).")
    elif all(torch.equal(tensor.cpu(), old) for tensor, old in zip(mine.values(), before)):
        print("Not quite: after your loop no weight has changed. Hint: does it call optimizer.step(), on model.parameters()?")
    else:
        print(f"Not quite: after {steps} steps your weights differ from fit's, most in {worst} (by {differences[worst]:.3g}). "
              "Hint: optimizer.zero_grad() before each backward (or the batches' gradients add up); lr as given; plain "
              "SGD (no momentum); the mean cross-entropy; the batches in order, epochs times; model.train() (for dropout).")


def check_initial_loss(loss: float | torch.Tensor | None, classes: int = 10) -> None:
    """First check: an untrained classifier's mean cross-entropy, against ln(classes), a fair guess among the classes.

    Equal scores give each class 1/classes: a loss of ln(classes). Random scores add about half
    their variance across the classes, (1 - 1/classes) s**2 / 2 for a standard deviation s; we
    accept up to s = 1: 0.45 for 10 classes.

    >>> check_initial_loss(2.364)
    Right: 2.364 is within 0.45 of ln 10 = 2.303: ...
    >>> check_initial_loss(54.0)
    Not quite: 54.000 is 51.70 above ln 10 = 2.303: ...
    """
    loss, expected = float(loss), math.log(classes)
    band = (1 - 1 / classes) / 2  # what scores with a standard deviation of 1 add, as the docstring says
    if abs(loss - expected) <= band:
        print(f"Right: {loss:.3f} is within {band:.2f} of ln {classes} = {expected:.3f}: the untrained network's scores "
              "are nearly even, as they should be before it has learnt anything.")
    else:
        above = loss > expected
        why = ("the untrained network is confident, and wrong. Hint: are the initial weights too large, or the pixels not "
               "normalised?" if above else "an untrained network cannot beat a fair guess. Hint: is it trained already?")
        print(f"Not quite: {loss:.3f} is {abs(loss - expected):.2f} {'above' if above else 'below'} ln {classes} = "
              f"{expected:.3f}: {why}")


def check_overfits_one_batch(accuracy: float | None) -> None:
    """First check: the accuracy (0 to 1) a model reached on one small batch, trained on that batch alone.

    >>> check_overfits_one_batch(1.0)
    Right: 100% of the batch: ...
    """
    print("Right: 100% of the batch: the model and the loop can learn, at least by heart." if accuracy >= 1 else
          f"Not quite: {accuracy:.1%} of the batch. A network of LeNet's size learns a few dozen images by heart; if yours "
          "cannot, the model or the loop has a bug: labels that do not belong to the images, no zero_grad or no step, "
          "outputs detached from the weights, a learning rate far off.")


EXERCISES: dict[str, Callable[..., None]] = {  # "output_size" -> check_output_size, and so on
    name.removeprefix("check_"): function for name, function in list(globals().items()) if name.startswith("check_")}


def check(answer: Any, exercise: str, **given: Any) -> None:
    """Print whether ``answer`` is right for the named ``exercise``, given the exercise's settings;
    ``check(answer, "value", expected=x, hint=...)`` compares with a value the cell computes.

    >>> check(13, "output_size", n=27, k=5, s=2, p=1)
    Right: 13.
    >>> check(None, "network", reference="lenet")
    Not answered yet: replace None with your answer.
    >>> check(1, "outptu_size")
    Traceback (most recent call last):
    ...
    ValueError: no exercise 'outptu_size'; did you mean 'output_size'? The exercises: ...
    """
    if exercise not in EXERCISES:
        close = difflib.get_close_matches(exercise, EXERCISES, n=1)
        guess = f" did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"no exercise {exercise!r};{guess} The exercises: {', '.join(sorted(EXERCISES))}.")
    if answer is None or answer is Ellipsis:
        return print(f"Not answered yet: replace {answer!r} with your answer.")
    EXERCISES[exercise](answer, **given)
