"""The blog posts' claims about everything around AlexNet: LeNet, later networks, training, data, results, dates.

The posts are the five in ``shared/seeds/`` (000 to 004, numbered as in its README). Each claim
is paraphrased, never copied. Evidence comes from the library (``lenet5_1998``, ZFNet, the
Fashion-MNIST file sizes), from torchvision's VGG, GoogLeNet and Inception v3 built untrained
(all by :func:`alexnet_lib.models.get`), from small computations in PyTorch, and, for
dates and results, from :data:`alexnet_lib.facts.evidence.PUBLISHED`.

>>> [c.key for c in CLAIMS if c.posts == ("002",)][:2]
['002-new', '002-vs-lenet']
"""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import models
from ..course.activations import gradient_profile
from ..course.comparison import MILESTONES, weight_layer_depth
from ..data import CLASS_NAMES, FASHION_MNIST_SIDE, OFFICIAL_SIZES
from ..datasets.flowers102 import flowers102_class_names
from .evidence import Check, ClaimList, published
from ..lenet import EuclideanRBF, ScaledTanh, Subsampling
from .model_facts import conv_widths, count_modules, layer_rows, n_params, output_shape, params
from ..course.reference import reference_histories
from ..shapes import conv_output_size, pool_output_size

A = "alexnet_2012"
C, P = Check, Check.against
CLAIMS = ClaimList()
_claim = CLAIMS.claim


@_claim("000-lrn-later", "000", "LRN did not help later networks and was replaced")
def _lrn_later() -> tuple[list[Check], str]:
    return [P("VGG found no gain from LRN", True, "lrn_no_gain")], f"BatchNorm came in {published('batchnorm').value}"


@_claim("000-why-two", "000 003", "two GPUs for speed: computers were too slow in 2012 (100-days: split for faster training)")
def _why_two() -> tuple[list[Check], str]:
    return [P("the paper's reason", "speed", "two_gpu_reason"), P("the two-GPU net trained slightly faster than a smaller one-GPU net", True, "two_gpu_faster")], \
        "memory was the limit; the memory section above computes it"


@_claim("000-dual-core", "000", "AlexNet has a 'dual-core' structure: two cores, each computing half of the network, exchanging "
        "data only at some layers")
def _dual_core() -> tuple[list[Check], str]:
    model = models.get(A, device="meta")
    halves = [m for m in model.modules() if isinstance(m, nn.Conv2d) and m.groups == 2]
    return [C("each layer in two halves that meet only at some layers (convolutions kept on one half)", True, len(halves) == 3),
            P("what the halves ran on", "two cores", "two_gpus")], \
        ("the structure is right; the word is not: two separate GPUs (graphics cards), not two cores of one "
         "processor, each with its own 3 GB, which is why the network was split")


@_claim("000-eval", "000", "eval() switches dropout off")
def _eval() -> tuple[list[Check], str]:
    x = torch.ones(1000)
    return [C("dropout in eval mode returns its input", True, bool(nn.Dropout(0.5).eval()(x).equal(x)))], ""


@_claim("000-flowers", "000", "Flowers102 has 102 classes")
def _flowers() -> tuple[list[Check], str]:
    return [C("classes", 102, len(flowers102_class_names()))], ""


@_claim("001-ilsvrc", "001 003", "won ILSVRC-2012 with 15.3% top-5 error, about 10 points below the 2011 winner, "
        "far ahead of the runner-up")
def _ilsvrc() -> tuple[list[Check], str]:
    best, last, second = (published(k).value for k in ("alexnet_top5_2012", "winner_top5_2011", "runner_up_top5_2012"))
    return [P("top-5 error (%)", 15.3, "alexnet_top5_2012"),
            C("points below the 2011 winner", 10, round(last - best, 1), published("winner_top5_2011").source, tolerance=1)], \
        f"the runner-up had {second}%, {second - best:.1f} points more"


@_claim("001-relu", "001", "ReLU converges much faster than sigmoid, and does not saturate for positive inputs")
def _relu() -> tuple[list[Check], str]:
    x = torch.linspace(-6, 6, 1201, requires_grad=True)
    (relu_slope,) = torch.autograd.grad(F.relu(x).sum(), x)
    (sigmoid_slope,) = torch.autograd.grad(torch.sigmoid(x).sum(), x)
    relu, sigmoid = (epochs_to(reference_histories("cpu")[run], _TRAIN_ACC) for run in ("lenet", "lenet_sigmoid"))
    return [C(f"LeNet reaches {_TRAIN_ACC:.0%} training accuracy in fewer epochs with ReLU than with sigmoid", True,
              relu < sigmoid),
            C("ReLU's slope for every positive input", 1.0, float(relu_slope[x > 0].min()))], \
        (f"{relu} epochs against {sigmoid} in notebook 03's reference runs; sigmoid's slope is at most "
         f"{float(sigmoid_slope.max()):.2f}. The paper measured against tanh, not sigmoid: "
         f"{published('relu_speedup').value} times fewer iterations to 25% training error ({published('relu_speedup').source})")


_TRAIN_ACC = 0.75


def epochs_to(history: pd.DataFrame, accuracy: float, column: str = "train_acc") -> int:
    """The first epoch at which ``history[column]`` reaches ``accuracy`` (one past the last if it never does)."""
    reached = history.loc[history[column] >= accuracy, "epoch"]
    return int(reached.iloc[0]) if len(reached) else int(history["epoch"].max()) + 1


@_claim("001-relu-vanishing", "001", "ReLU solved the vanishing-gradient problem (for positive inputs)")
def _relu_vanishing() -> tuple[list[Check], str]:
    g = torch.Generator().manual_seed(0)
    x, y = torch.rand(256, 784, generator=g), torch.randint(0, 10, (256,), generator=g)
    norms = gradient_profile(["relu"], x, y, depth=10)["relu"]
    first, last = float(norms.iloc[0]), float(norms.iloc[-1])
    return [C("ReLU's slope for a positive input", 1.0, _relu_slope_at(1.0)),
            C("a 10-layer ReLU network's first layer gets as large a gradient as its last", True, first >= last)], \
        (f"under PyTorch's default initialisation the gradient's norm still shrinks, from {last:.2g} at the last layer to "
         f"{first:.2g} at the first (random images; notebook 03 measures the same on Fashion-MNIST, and shows He's "
         "initialisation keeping the two of the same order). ReLU eased the problem; initialisation, batch norm and "
         "shortcuts did the rest")


def _relu_slope_at(value: float) -> float:
    x = torch.tensor(value, requires_grad=True)
    (slope,) = torch.autograd.grad(F.relu(x), x)
    return float(slope)


@_claim("001-pooling-overfit", "001", "pooling cuts the parameters, and so prevents overfitting and improves generalisation")
def _pooling_overfit() -> tuple[list[Check], str]:
    return [C("fc6 needs fewer parameters after pool5", True, params(A, "fc6") < fc6_params_without_pool5()),
            P("prevents overfitting", True, "pooling_prevents_overfitting")], \
        ("fewer parameters may help a little (the paper: overlap made overfitting 'slightly more difficult', Section "
         "3.4), but pooling prevents nothing: the paper's measures against overfitting are augmentation and dropout "
         "(Section 4), and notebook 06's networks overfit with pooling in them")


@_claim("001-dropout", "001", "dropout switches units off at random in training and uses them all at test time")
def _dropout() -> tuple[list[Check], str]:
    drop, x = nn.Dropout(0.5), torch.ones(100_000)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        zeroed = float((drop.train()(x) == 0).float().mean())
    return [C("units switched off in training", True, zeroed > 0), C("all used in eval mode", True, bool(drop.eval()(x).equal(x)))], \
        (f"with p = 0.5, {zeroed:.1%} of the units were switched off; the paper halves the outputs at test time "
         "(Section 4.2), PyTorch doubles the kept ones in training instead")


@_claim("001-augment", "001", "data augmentation: shifts, flips, random crops and a Gaussian change of the RGB colours")
def _augment() -> tuple[list[Check], str]:
    return [P("what Section 4.1 does", published("augmentation").value, "augmentation")], ""


@_claim("001-zfnet", "001", "ZFNet: AlexNet with a smaller conv1 and stride 2, and 512, 512, 1,024 kernels in conv3 to conv5")
def _zfnet() -> tuple[list[Check], str]:
    conv1 = models.get("zfnet_2013", device="meta").features.conv1
    wide = published("zfnet_wide_variant").value
    return [C("conv1 stride", 2, conv1.stride[0]), C("conv1 smaller than AlexNet's 11×11", True, conv1.kernel_size[0] < 11),
            C("conv3 to conv5 kernels (Fig. 3's model)", [512, 512, 1024], conv_widths("zfnet_2013")[2:]),
            P("the wider variant tried", [512, 512, 1024], "zfnet_wide_variant")], \
        f"ZFNet's conv1 is {conv1.kernel_size[0]}×{conv1.kernel_size[0]}; its wider variant has {wide[1]:,} kernels in conv4, not conv5"


@_claim("001-vgg", "001", "VGG goes from AlexNet's 8 layers to 16 and 19")
def _vgg() -> tuple[list[Check], str]:
    return [C(name, n, weight_layer_depth(models.get(name, device="meta"))) for name, n in (("alexnet_2012", 8), ("vgg16", 16), ("vgg19", 19))], ""


@_claim("001-vgg-train", "001", "VGG first trained an 11-layer network, then froze those layers and trained the rest")
def _vgg_train() -> tuple[list[Check], str]:
    return [C("weight layers of VGG's network A (vgg11)", 11, weight_layer_depth(models.get("vgg11", device="meta"))),
            P("the copied layers frozen", True, "vgg_copied_layers_frozen")], \
        "A's first four convolutions and last three fully connected layers started the deeper networks, and kept learning"


@_claim("001-googlenet", "001", "GoogLeNet: 22 layers with parameters, 27 with pooling, about 100 blocks, "
        "no fully connected layer but the classifier")
def _googlenet() -> tuple[list[Check], str]:
    model = models.get("googlenet", device="meta")
    depth = weight_layer_depth(model)
    pools = sum(isinstance(m, (nn.MaxPool2d, nn.AdaptiveAvgPool2d)) for m in model.children())
    return [C("layers with parameters on the longest path", 22, depth), C("with the pooling layers on it", 27, depth + pools),
            P("building blocks", 100, "googlenet_blocks"), C("fully connected layers", 1, count_modules("googlenet", nn.Linear))], \
        "torchvision's GoogLeNet, auxiliary classifiers off"


@_claim("001-googlenet-params", "001", "GoogLeNet has about a twelfth of AlexNet's parameters")
def _googlenet_params() -> tuple[list[Check], str]:
    paper, google = n_params(models.get(A, device="meta")), n_params(models.get("googlenet", device="meta"))
    return [P("the GoogLeNet paper's factor", 12, "googlenet_fewer_params"),
            C("alexnet_2012 / torchvision's GoogLeNet", 12, round(paper / google, 1), tolerance=1)], \
        (f"{paper:,} against {google:,}, about {paper / google:.0f} times: 12 is the GoogLeNet paper's own round figure "
         "(Section 1), which its Table 1 does not bear out either (about 6.8 million)")


@_claim("001-inception", "001", "Inception v2 brought in the 1×1 convolutions that reduce the channels")
def _inception() -> tuple[list[Check], str]:
    ones = sum(isinstance(m, nn.Conv2d) and m.kernel_size == (1, 1) for m in models.get("googlenet", device="meta").modules())
    return [C("1×1 convolutions already in GoogLeNet (v1)", 0, ones), P("GoogLeNet's reductions", "Inception v2", "googlenet_reductions")], \
        ("the 1×1 reductions are already in GoogLeNet (2014); 'Inception v2' names either BN-Inception (Ioffe and "
         "Szegedy 2015) or the factorised network of Szegedy et al. 2016, and neither introduced them")


@_claim("001-inception-v3", "001", "Inception v3 has fewer parameters than v2")
def _inception_v3() -> tuple[list[Check], str]:
    v3, v1 = n_params(models.get("inception_v3", device="meta")), n_params(models.get("googlenet", device="meta"))
    bn_inception = published("bn_inception_params")
    return [Check.judged("fewer than BN-Inception, the network usually called v2", True, v3 < bn_inception.value,
                         bn_inception.source),
            P("fewer than 'Inception-v2' of the v3 paper", True, "inception_v3_grows_v2")], \
        (f"torchvision's v3 has {v3:,} parameters (the v3 paper: fewer than 25 million), {v3 / v1:.1f} times "
         f"GoogLeNet's {v1:,}; BN-Inception has about {bn_inception.value / 1e6:.0f} million. Whichever network one calls "
         "v2, v3 is larger")


@_claim("001-resnet", "001", "a shortcut adds 1 to a block's gradient, so it cannot vanish")
def _resnet() -> tuple[list[Check], str]:
    x = torch.randn(8, requires_grad=True, generator=torch.Generator().manual_seed(0))
    grads = []
    for weight in (torch.zeros(8, 8), -torch.eye(8)):  # F learned nothing; F learned to cancel x
        block = nn.Linear(8, 8, bias=False)
        with torch.no_grad():
            block.weight.copy_(weight)
        (grad,) = torch.autograd.grad((x + block(x)).sum(), x)
        grads.append(float(grad.abs().max()))
    return [C("gradient through a block that has learned nothing", 1.0, grads[0]),
            C("gradient through any block stays away from 0", True, grads[1] > 0)], \
        ("the gradient is I + ∂F/∂x: the shortcut's identity helps, but a block whose F cancels x passes no gradient "
         "at all (second check), so it can vanish; He et al. 2016 doubt that vanishing gradients were their plain "
         "networks' problem anyway (Section 4.1)")


@_claim("001-lenet-year", "001", "the LeNet in its table (LeNet-5) is LeCun's network of 1989")
def _lenet_year() -> tuple[list[Check], str]:
    year = MILESTONES["lenet5_1998"].year
    return [C("LeNet-5's year", "1989", str(year), f"comparison.MILESTONES: {MILESTONES['lenet5_1998'].authors} {year}"),
            P("LeCun's network of 1989", "LeNet-5", "lenet_1989")], ""


@_claim("001-lenet", "001", "LeNet-5: 1×32×32 input, 6@28×28, pooled 6@14×14, 16@10×10, pooled 16@5×5, then 120, 84, 10 units")
def _lenet() -> tuple[list[Check], str]:
    table = layer_rows("lenet5_1998")
    found = [tuple(s) for s in table[table["type"].isin(_LENET_LAYERS)]["output_shape"]]
    claimed = [(6, 28, 28), (6, 14, 14), (16, 10, 10), (16, 5, 5), 120, 84, 10]
    checks = [C("input", (1, 32, 32), models.get("lenet5_1998", device="meta").input_size)]
    for name, c, f in zip(("C1", "S2", "C3", "S4", "C5", "F6", "output"), claimed, found):
        checks.append(C(name, c, f if isinstance(c, tuple) else torch.Size(f).numel()))
    return checks, "C3 reads only some of S2's maps (the paper's Table I); C5 is a convolution whose maps are 1×1"


_LENET_LAYERS = ("Conv2d", "PartialConv2d", "Subsampling", "Linear", "EuclideanRBF")


@_claim("001-lenet-parts", "001 002", "LeNet-5 squashes with a sigmoid after pooling (not between convolution and pooling, "
        "as the post's code does); pools by averaging with trainable parameters; and ends in RBF units")
def _lenet_parts() -> tuple[list[Check], str]:
    model = models.get("lenet5_1998", device="meta")
    kinds = [type(m) for m in model.features.children()]
    after_pool = kinds[kinds.index(Subsampling) + 1]
    s2 = next(m for m in model.modules() if isinstance(m, Subsampling))
    x = torch.linspace(-4, 4, 81)
    gap = float((torch.tanh(x) - (2 * torch.sigmoid(2 * x) - 1)).abs().max())
    squash = next(m for m in model.modules() if isinstance(m, ScaledTanh))
    after_conv = kinds[kinds.index(Subsampling) - 1]
    return [C("squashing after pooling", True, after_pool is ScaledTanh),
            C("no squashing between convolution and pooling (the post's contrast with its code)", True,
              after_conv is not ScaledTanh),
            P("what LeCun et al. call their squashing function", "a sigmoid squashing function", "lenet_sigmoid"),
            C("S2 = trainable coefficient × (2×2 sum) + trainable bias", True, subsampling_is_scaled_sum()),
            C("S2's trainable parameters", 12, n_params(s2)),
            C("RBF output units", True, isinstance(list(model.modules())[-1], EuclideanRBF))], \
        (f"LeNet-5 squashes after its convolutions too (C1, C3, C5) and after F6. The function is {squash.amplitude} "
         f"tanh({squash.slope:.4g} a), a rescaled sigmoid: tanh(x) − (2σ(2x) − 1) is at most {gap:.0e}; Dive into "
         "Deep Learning's LeNet uses the logistic sigmoid itself")


def subsampling_is_scaled_sum() -> bool:
    """Whether the library's ``Subsampling`` computes coefficient × (2×2 sum) + bias, map by map, on random maps."""
    layer = Subsampling(3)
    with torch.no_grad():
        layer.weight.copy_(torch.tensor([0.5, -1.0, 2.0]))
        layer.bias.copy_(torch.tensor([0.1, 0.2, 0.3]))
        x = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
        by_hand = 4 * F.avg_pool2d(x, 2) * layer.weight.view(1, 3, 1, 1) + layer.bias.view(1, 3, 1, 1)
        return bool(torch.allclose(layer(x), by_hand, atol=1e-6))


@_claim("001-epoch", "001", "an epoch is one forward pass, backward pass and update")
def _epoch() -> tuple[list[Check], str]:
    images = (OFFICIAL_SIZES["train-images-idx3-ubyte"] - 16) // FASHION_MNIST_SIDE**2
    steps = -(-images // 64)
    return [C("updates in one epoch of Fashion-MNIST at batch 64", 1, steps)], \
        f"an epoch is one pass over all {images:,} training images; one update is one batch"


@_claim("001-pooling", "001", "pooling keeps the channels and cuts the parameters and computation")
def _pooling() -> tuple[list[Check], str]:
    pool5, conv5 = output_shape(A, "pool5"), output_shape(A, "conv5")
    without = fc6_params_without_pool5()
    return [C("channels in and out of pool1", [96, 96], [output_shape(A, "conv1")[0], output_shape(A, "pool1")[0]]),
            C("parameters of a max-pooling layer", 0, n_params(nn.MaxPool2d(3, 2))),
            C("fc6 needs fewer parameters after pool5", True, params(A, "fc6") < without)], \
        (f"pooling has no parameters of its own; it shrinks the maps the next layer reads: fc6 on {conv5[1]}×{conv5[2]} maps "
         f"would need {without:,} parameters, on pool5's {pool5[1]}×{pool5[2]} it has {params(A, 'fc6'):,}")


def fc6_params_without_pool5() -> int:
    """The parameters fc6 would need if it read conv5's maps directly, without pool5 (4,096 units, with biases)."""
    return torch.Size(output_shape(A, "conv5")).numel() * 4096 + 4096


@_claim("001-pool-where", "001", "pooling layers sit between convolutional layers, and between fully connected layers")
def _pool_where() -> tuple[list[Check], str]:
    def between(name: str, kind: type[nn.Module]) -> bool:  # a pooling layer with a layer of ``kind`` on each side
        layers = [m for m in models.get(name, device="meta").modules() if isinstance(m, (nn.Conv2d, nn.Linear, nn.MaxPool2d))]
        return any(isinstance(m, nn.MaxPool2d) and isinstance(a, kind) and isinstance(b, kind)
                   for a, m, b in zip(layers, layers[1:], layers[2:]))
    return [C("in AlexNet, between two convolutions", True, between(A, nn.Conv2d)),
            C("in AlexNet or VGG-16, between two fully connected layers", True, between(A, nn.Linear) or between("vgg16", nn.Linear))], \
        "pooling needs maps with height and width; a fully connected layer's output has neither"


@_claim("001-one-by-one", "001", "a 1×1 convolution changes the number of channels and keeps the map size")
def _one_by_one() -> tuple[list[Check], str]:
    out = nn.Conv2d(256, 64, kernel_size=1)(torch.zeros(1, 256, 13, 13))
    return [C("256×13×13 through 64 kernels of 1×1", (64, 13, 13), tuple(out.shape[1:]))], ""


@_claim("001-conv-rule", "001", "a convolution has one output channel per kernel, and each kernel is as deep as its input")
def _conv_rule() -> tuple[list[Check], str]:
    conv2 = models.get(A, device="meta").features.conv2
    return [C("nn.Conv2d(96, 256, 5): kernels × depth", (256, 96), tuple(nn.Conv2d(96, 256, 5).weight.shape[:2]))], \
        (f"true of an ordinary convolution; a grouped one's kernels are shallower: conv2 of the two-GPU network has "
         f"{conv2.groups} groups, so its kernels are {conv2.weight.shape[1]} deep, as the post's own table says")


@_claim("001-eval-bn", "001", "eval() switches batch norm and dropout off")
def _eval_bn() -> tuple[list[Check], str]:
    bn, x = nn.BatchNorm1d(4).eval(), torch.full((2, 4), 3.0)
    with torch.no_grad():
        bn.running_mean.fill_(1.0)
    return [C("dropout in eval mode returns its input", True, bool(nn.Dropout(0.5).eval()(x).equal(x))),
            C("batch norm in eval mode returns its input", True, bool(bn(x).equal(x)))], \
        "in eval mode batch norm still normalises, with its running mean and variance instead of the batch's"


@_claim("001-own-runs", "001", "a simplified VGG raises CIFAR-10 accuracy from 62% to 82.92%")
def _own_runs() -> tuple[list[Check], str]:
    return [], "the post's own experiment: no code or settings to rerun"


@_claim("001-shuffle", "001", "shuffling the pixels does not hurt a fully connected network")
def _shuffle() -> tuple[list[Check], str]:
    g = torch.Generator().manual_seed(0)
    fc, x, order = nn.Linear(784, 10), torch.rand(5, 784, generator=g), torch.randperm(784, generator=g)
    shuffled = nn.Linear(784, 10)
    with torch.no_grad():
        shuffled.weight.copy_(fc.weight[:, order])
        shuffled.bias.copy_(fc.bias)
        same = torch.allclose(fc(x), shuffled(x[:, order]), atol=1e-6)
    return [C("a layer with shuffled weights gives the same outputs on shuffled pixels", True, same)], \
        "so the best fully connected network is as good either way; a convolution's windows need neighbouring pixels"


@_claim("000-title", "000", "the paper: 'ImageNet Classification with Deep Convolutional Neural Networks'")
def _title() -> tuple[list[Check], str]:
    return [P("title", "ImageNet Classification with Deep Convolutional Neural Networks", "alexnet_title")], ""


@_claim("002-who", "002 003", "AlexNet: Krizhevsky, Sutskever and Hinton, University of Toronto, NIPS 2012")
def _who() -> tuple[list[Check], str]:
    return [P("authors", published("alexnet_authors").value, "alexnet_authors"), P("where", "NIPS 2012", "alexnet_venue"),
            C("year in the course's milestones", "2012", str(MILESTONES[A].year))], ""


@_claim("002-new", "002", "AlexNet brought in ReLU, dropout and overlapping pooling")
def _new() -> tuple[list[Check], str]:
    pool = models.get(A, device="meta").features.pool1
    return [C("ReLU after every hidden layer", 7, count_modules(A, nn.ReLU)), C("dropout layers", 2, count_modules(A, nn.Dropout)),
            C("pooling windows overlap (kernel > stride)", True, pool.kernel_size > pool.stride)], \
        (f"brought into a large network, not invented: ReLU units are from {published('relu_origin').value}, dropout from "
         f"{published('dropout_origin').value}; overlapping pooling is the paper's (Section 3.4)")


@_claim("002-vs-lenet", "002", "AlexNet against LeNet: 3-channel 224×224 input against 1-channel; 96 kernels in conv1 against 6")
def _vs_lenet() -> tuple[list[Check], str]:
    alexnet, lenet = (models.get(name, device="meta") for name in (A, "lenet5_1998"))
    return [C("AlexNet's input", (3, 224, 224), alexnet.input_size), C("LeNet's channels", 1, lenet.input_size[0]),
            C("conv1 kernels", [96, 6], [conv_widths(A)[0], conv_widths("lenet5_1998")[0]])], ""


@_claim("002-ten-times", "002", "ImageNet images are more than ten times as high and wide as MNIST's, hence 11×11 kernels")
def _ten_times() -> tuple[list[Check], str]:
    side = models.get(A, device="meta").input_size[1]
    return [P("ImageNet's photos: more than 10 × 28 = 280 pixels a side", True, "imagenet_photo_side"),
            C("the network's input: 224 / 28 more than 10", True, side / FASHION_MNIST_SIDE > 10)], \
        (f"true of the photos, false of what the network sees: {side} / {FASHION_MNIST_SIDE} = "
         f"{side / FASHION_MNIST_SIDE:.0f}, and {256 / FASHION_MNIST_SIDE:.1f} for the 256×256 images before cropping")


@_claim("002-gradients", "002", "ReLU's gradient is 1 for positive inputs; sigmoid's is near 0 where its output nears 0 or 1")
def _gradients() -> tuple[list[Check], str]:
    x = torch.tensor([3.0, 4.6], requires_grad=True)
    (relu,) = torch.autograd.grad(F.relu(x).sum(), x)
    y = torch.sigmoid(x)
    (sig,) = torch.autograd.grad(y.sum(), x)
    y = y.detach()
    return [C("ReLU's gradient at 3", 1.0, float(relu[0])), C("sigmoid's gradient below 0.01 at output 0.99", True, float(sig[1]) < 0.01)], \
        f"sigmoid(4.6) = {float(y[1]):.3f}, gradient {float(sig[1]):.4f}"


@_claim("002-fashion", "002", "Fashion-MNIST: 60,000 training and 10,000 test images, 1 channel, 28×28, 10 classes")
def _fashion() -> tuple[list[Check], str]:
    count = lambda f: (OFFICIAL_SIZES[f] - 16) // FASHION_MNIST_SIDE**2  # noqa: E731  (a 16-byte header, then the pixels)
    return [C("training images", 60_000, count("train-images-idx3-ubyte")), C("test images", 10_000, count("t10k-images-idx3-ubyte")),
            C("side", 28, FASHION_MNIST_SIDE), C("classes", 10, len(CLASS_NAMES))], "from the official files' sizes"


@_claim("002-formulas", "002", "output size ⌊(n − k + p + s) / s⌋ with p the padding of both sides together; "
        "⌊(n + s − 1) / s⌋ when p = k − 1; n / s when s divides n; pooling ⌊(n − k) / s⌋ + 1")
def _formulas() -> tuple[list[Check], str]:
    cases = [(n, k, s) for n in range(5, 40) for k in (1, 2, 3, 5) for s in (1, 2, 3, 4) if k <= n]
    total = lambda n, k, s, p: conv_output_size(n, k, s, (p // 2, p - p // 2))  # noqa: E731
    general = all((n - k + p + s) // s == total(n, k, s, p) for n, k, s in cases for p in range(0, 4))
    same = all((n + s - 1) // s == total(n, k, s, k - 1) for n, k, s in cases)
    divides = all(n // s == total(n, k, s, k - 1) for n, k, s in cases if n % s == 0)
    pooling = all((n - k) // s + 1 == pool_output_size(n, k, s) for n, k, s in cases)
    return [C(f"the general formula, {len(cases) * 4:,} cases", True, general), C("p = k − 1", True, same),
            C("s divides n", True, divides), C("pooling", True, pooling)], "checked against alexnet_lib.shapes, itself tested against PyTorch"


@_claim("003-lrn-name", "003", "LRN stands for 'Local Responsible Normalization'")
def _lrn_name() -> tuple[list[Check], str]:
    return [P("the name", "Local Responsible Normalization", "lrn_name")], ""


@_claim("003-new", "003", "the paper's new ideas: ReLU, dropout, max-pooling instead of average pooling, two GTX 580 GPUs")
def _new_003() -> tuple[list[Check], str]:
    top1, top5 = published("overlap_gain").value
    return [C("ReLU layers", 7, count_modules(A, nn.ReLU)), C("dropout layers", 2, count_modules(A, nn.Dropout)),
            P("what is new about its pooling", "max instead of average", "pooling_novelty"),
            P("GPUs", "two GTX 580", "gpus")], \
        (f"max-pooling was common before; what Section 3.4 reports is overlap: 3×3 windows with stride 2 cut the errors by "
         f"{top1} (top-1) and {top5} (top-5) points against 2×2 windows")


@_claim("003-tensorflow", "003", "TensorFlow's official AlexNet later dropped LRN and used Xavier initialisation")
def _tensorflow() -> tuple[list[Check], str]:
    return [P("what TF-slim's alexnet_v2 changed", "LRN removed, Xavier initialisation", "tf_slim_alexnet")], \
        "that file's network is the 'one weird trick' AlexNet of 2014, as torchvision's is"
