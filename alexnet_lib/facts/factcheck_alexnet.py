"""The blog posts' claims about AlexNet's own layers: shapes, parameters, order, normalisation, dropout.

The posts are the five in ``shared/seeds/`` (000 to 004, numbered as in its README). Each claim
is paraphrased in a few words, never copied, and its evidence is read off the library's
models (:mod:`alexnet_lib.facts.model_facts`): ``alexnet_2012`` and its two-tower form, the
Keras-style ``alexnet_keras_bn``, torchvision's AlexNet. :func:`doubled_parameter_table` works
out the "×2 for the two GPUs" mistake layer by layer. :mod:`alexnet_lib.facts.factcheck` gathers
these claims and those of :mod:`alexnet_lib.facts.factcheck_context` into one table.

>>> [c.key for c in CLAIMS][:3]
['000-input', '000-layers', '000-conv1']
"""

from __future__ import annotations

import pandas as pd
import torch
import torch.nn.functional as F
from torch import nn

from .. import models
from ..alexnet import cuda_convnet_padding
from ..config import seeded, shape_text
from ..course.comparison import weight_layer_depth
from .evidence import Check, ClaimList, published
from .model_facts import (
    PAPER_LAYERS, block_order, both_gpus_params, conv_widths, count_modules, n_params, normalised_after,
    output_shape, params, swap_pool_and_lrn, weight_shape,
)
from ..shapes import conv_output_size, pool_output_size

A, T, K = "alexnet_2012", "alexnet_2012_two_tower", "alexnet_keras_bn"
C = Check
# Post 001's parameter column as printed, and post 003's formula per layer: (k, kernel depth,
# kernels), fully connected layers as k = 1, the result multiplied by 2 "for the two GPUs".
# The ×2 table names the two posts as factcheck.POSTS does.
POST_003, POST_001 = "100-days", "YuRDnKa"
POST_001_PARAMS = (34_848, 307_456, 885_120, 663_936, 442_624, 37_752_832, 16_781_312, 4_097_000)
POST_003_FORMULAS = ((11, 3, 96), (5, 96, 256), (3, 256, 384), (3, 384, 384), (3, 384, 256),
                     (1, 9216, 4096), (1, 4096, 4096), (1, 4096, 1000))

CLAIMS = ClaimList()
_claim = CLAIMS.claim


def doubled_parameter_table() -> pd.DataFrame:
    """Each layer of the 2012 network: the paper's kernels, the figure's split, the right count and the ×2 ones.

    ``right`` adds both towers of ``alexnet_2012_two_tower`` (fc6 to fc8 are one weight matrix
    each); ``doubled`` is that times 2, as if the text's kernels were per GPU; ``100-days`` (post 003)
    evaluates that post's formulas (:data:`POST_003_FORMULAS`); ``YuRDnKa`` (post 001) is its column.

    >>> print(doubled_parameter_table().loc[["conv1", "total"], ["figure", "right", "doubled", "100-days"]])
            figure     right    doubled   100-days
    conv1  48 + 48     34944      69888      69888
    total            60965224  121930448  124756688
    """
    rows = {}
    for layer, printed, (k, depth, out) in zip(PAPER_LAYERS, POST_001_PARAMS, POST_003_FORMULAS):
        weight, (both, _) = weight_shape(A, layer), both_gpus_params(layer)
        if layer.startswith("conv"):
            half = weight_shape(T, layer)[0]
            text, figure = f"{weight[0]} kernels {weight[2]}×{weight[3]}×{weight[1]}", f"{half} + {half}"
        else:
            text = f"{weight[0]:,} units"
            figure = f"{weight[0] // 2:,} + {weight[0] // 2:,}" if layer != "fc8" else f"{weight[0]:,}, not split"
        rows[layer] = {"paper's text": text, "figure": figure, "right": both, "doubled": 2 * both,
                       POST_003: (k * k * depth + 1) * out * 2, POST_001: printed}
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.loc["total"] = ["", "", *(int(table[c].sum()) for c in ("right", "doubled", POST_003, POST_001))]
    return table


@_claim("000-input", "000 004", "input 224×224×3; output 1,000 class probabilities")
def _input() -> tuple[list[Check], str]:
    return [C("input", (3, 224, 224), models.get(A, device="meta").input_size), C("outputs", 1000, output_shape(A, "fc8")[0])], ""


@_claim("000-layers", "000 003 004", "8 layers with weights: 5 convolutional, then 3 fully connected")
def _layers() -> tuple[list[Check], str]:
    return [C("convolutions", 5, count_modules(A, nn.Conv2d)), C("fully connected", 3, count_modules(A, nn.Linear)),
            C("weight layers in a row", 8, weight_layer_depth(models.get(A, device="meta"), (3, 224, 224)))], ""


@_claim("000-conv1", "000", "conv1: 48 kernels 11×11×3 per GPU, stride 4, padding 2; (224 + 4 − 11) / 4 + 1 = 55")
def _conv1() -> tuple[list[Check], str]:
    pad = cuda_convnet_padding(224)
    checks = [C("kernels per GPU", (48, 3, 11, 11), weight_shape(T, "conv1")),
              C("maps per GPU", (48, 55, 55), output_shape(T, "conv1")),
              C("(224 + 4 − 11) / 4 + 1", 55, (224 + 4 - 11) / 4 + 1),
              C.judged("padding (before, after) of the paper's network", [2, 2], [0, pad],
                       "our inference from cuda-convnet's rounding up (alexnet.cuda_convnet_padding); the paper states none")]
    return checks, (f"55 comes out only by rounding down; the paper states no padding. 2 on each side is torchvision's "
                    f"choice; cuda-convnet's arithmetic implies {pad} zeros on the right and bottom only, an inference "
                    "notebook 01 explains.")


@_claim("000-block1", "000", "conv1 → ReLU → LRN → 3×3 max-pool, stride 2: 27×27×48 per GPU")
def _block1() -> tuple[list[Check], str]:
    return [C("order", ("conv", "LRN", "max-pool"), block_order(A, "conv1")),
            C("per GPU after pooling", (48, 27, 27), output_shape(T, "pool1"))], "the paper's order, Section 3.5"


@_claim("000-conv2", "000", "conv2: 128 kernels 5×5×48 per GPU, padding 2, then ReLU, LRN, pooling: 13×13×128 per GPU")
def _conv2() -> tuple[list[Check], str]:
    return [C("kernels per GPU", (128, 48, 5, 5), weight_shape(T, "conv2")),
            C("maps per GPU", (128, 27, 27), output_shape(T, "conv2")),
            C("order", ("conv", "LRN", "max-pool"), block_order(A, "conv2")),
            C("per GPU after pooling", (128, 13, 13), output_shape(T, "pool2"))], ""


@_claim("000-conv3-5", "000", "conv3 192, conv4 192, conv5 128 kernels per GPU, 3×3×256, 3×3×192, 3×3×192; "
        "pooled to 6×6×128 per GPU, 9,216 values")
def _conv3_5() -> tuple[list[Check], str]:
    return [C("conv3 kernels per GPU", (192, 256, 3, 3), weight_shape(T, "conv3")),
            C("conv4 kernels per GPU", (192, 192, 3, 3), weight_shape(T, "conv4")),
            C("conv5 kernels per GPU", (128, 192, 3, 3), weight_shape(T, "conv5")),
            C("per GPU after pooling", (128, 6, 6), output_shape(T, "pool5")),
            C("values read by fc6", 9216, weight_shape(A, "fc6")[1])], "conv3 reads both GPUs' maps (Section 3.2)"


@_claim("000-conv4-count", "000", "conv4 outputs 13×13×192 = 64,896 values")
def _conv4_count() -> tuple[list[Check], str]:
    both = 2 * torch.Size(output_shape(T, "conv4")).numel()
    return [C("13 × 13 × 192", 64_896, 13 * 13 * 192), C("conv4's outputs, both GPUs", 64_896, both)], \
        "the total is right for both GPUs together; the product written beside it is one GPU's"


@_claim("000-fc6-fc7", "000", "fc6 and fc7: 2,048 units per GPU, each reading all 9,216 (fc6) or 4,096 (fc7) values")
def _fc() -> tuple[list[Check], str]:
    fc6, fc7 = weight_shape(A, "fc6"), weight_shape(A, "fc7")
    return [C("fc6 rows per GPU × inputs", (2048, 9216), (fc6[0] // 2, fc6[1])),
            C("fc7 rows per GPU × inputs", (2048, 4096), (fc7[0] // 2, fc7[1]))], \
        "each GPU's half of a fully connected layer reads every unit below it: one weight matrix split by rows"


@_claim("000-fc8", "000", "fc8: 1,000 outputs from 4,096 inputs, then a ReLU, then the softmax")
def _fc8() -> tuple[list[Check], str]:
    after = list(models.get(A, device="meta").classifier.children())[-1]
    logits = torch.tensor([2.0, -1.0, -3.0])
    probs = F.softmax(F.relu(logits), 0)
    return [C("fc8 weight", (1000, 4096), weight_shape(A, "fc8")), C("a ReLU after fc8", True, not isinstance(after, nn.Linear))], \
        (f"a ReLU before the softmax makes every negative logit 0: logits {logits.tolist()} give the two negative "
         f"classes the same probability {probs[1]:.3f} and no gradient. The paper feeds fc8 to the softmax (Section 3.5).")


@_claim("000-fc8-groups", "000", "fc8 is two groups of 1,000 outputs, one per GPU, each reading all 4,096 of fc7")
def _fc8_groups() -> tuple[list[Check], str]:
    fc8 = weight_shape(A, "fc8")
    return [C("fc8's outputs, both GPUs together", 2 * 1000, fc8[0]), C("fc8's inputs", 4096, fc8[1])], \
        (f"fc8 has {fc8[0]:,} outputs in all, one per class: the paper's Figure 2 draws it as one layer that reads "
         "both GPUs' fc7. Two groups of 1,000 would be 2,000 scores for 1,000 classes; the post contradicts itself, "
         "since it also gives 1,000 outputs in all.")


@_claim("000-lrn", "000", "LRN is the paper's own normalisation, applied after conv1 and conv2")
def _lrn() -> tuple[list[Check], str]:
    return [C("normalised after", ("conv1", "conv2"), normalised_after(A))], \
        "Section 3.3 introduces it, noting its likeness to Jarrett et al.'s local contrast normalisation"


@_claim("000-torchvision", "000", "torchvision's AlexNet is essentially the paper's network")
def _torchvision() -> tuple[list[Check], str]:
    tv = "torchvision_alexnet"
    kernel = lambda name: tuple(m.kernel_size[0] for m in models.get(name, device="meta").modules() if isinstance(m, nn.Conv2d))  # noqa: E731
    theirs, paper = (n_params(models.get(name, device="meta")) for name in (tv, A))
    return [C("weight layers", 8, count_modules(tv, nn.Conv2d) + count_modules(tv, nn.Linear)),
            C("kernel sides", list(kernel(A)), kernel(tv)), C("kernels per layer", list(conv_widths(A)), conv_widths(tv)),
            C("normalised after", normalised_after(A), normalised_after(tv))], \
        (f"{theirs:,} parameters against the paper's {paper:,}: "
         "torchvision follows Krizhevsky's 2014 'one weird trick' network")


@_claim("000-init", "000", "its training code starts AlexNet from weights drawn from N(0, 1) and biases of 0")
def _init() -> tuple[list[Check], str]:
    post = post_000_init(models.get("torchvision_alexnet", seed=0, num_classes=102))
    layers = [m for m in post.modules() if isinstance(m, (nn.Conv2d, nn.Linear))]
    std = round(float(torch.cat([m.weight.detach().flatten() for m in layers]).std()), 2)
    bias = max(float(m.bias.detach().abs().max()) for m in layers)
    return [C("standard deviation of every weight after the post's init", 1.0, std, tolerance=0.01),
            C("largest bias after it", 0.0, bias)], _init_note(post)


def post_000_init(model: nn.Module, seed: int = 0) -> nn.Module:
    """What post 000's ``init_param`` does, in our words: every weight from N(0, 1), every bias 0. In place, seeded."""
    with torch.no_grad(), seeded(seed):
        for name, p in model.named_parameters():
            nn.init.normal_(p) if name.endswith("weight") else nn.init.zeros_(p)
    return model


def _init_note(post: nn.Module) -> str:
    """How large the logits of one image are under the post's init, PyTorch's default, and the paper's (Section 5)."""
    x = torch.rand(1, 3, 224, 224, generator=torch.Generator().manual_seed(0))
    default = models.get("torchvision_alexnet", seed=0, num_classes=102)
    paper = models.get(A, seed=0)  # the library's alexnet_2012 starts as Section 5 says
    with torch.no_grad():
        spread = [float(m.eval()(x).std()) for m in (post, default, paper)]
    return (f"right about the code, but that is not the paper's initialisation (Section 5: N(0, 0.01), biases of 1 in "
            f"conv2, conv4, conv5, fc6 and fc7), and it blows the activations up: on one random image the logits' "
            f"standard deviation is {spread[0]:.1e}, against {spread[1]:.2g} with PyTorch's default and {spread[2]:.2g} "
            "with the paper's")


@_claim("001-params", "001", "parameters per layer of the two-GPU network (a table of eight rows)")
def _params_001() -> tuple[list[Check], str]:
    checks = [C(layer, printed, both_gpus_params(layer)[0]) for layer, printed in zip(PAPER_LAYERS, POST_001_PARAMS)]
    w = weight_shape(A, "conv1")
    return checks, (f"conv1: the post writes 11 × 11 × 3 × 96 + 96 but gives {POST_001_PARAMS[0]:,}, the weights "
                    f"alone ({w[2]} × {w[3]} × {w[1]} × {w[0]} = {torch.Size(w).numel():,}) without the {w[0]} biases: "
                    "an addition slip")


@_claim("001-units", "001", "units per layer: 290,400, 186,624, 64,896, 64,896, 43,264, 4,096, 4,096, 1,000")
def _units() -> tuple[list[Check], str]:
    claimed = (290_400, 186_624, 64_896, 64_896, 43_264, 4096, 4096, 1000)
    found = [torch.Size(output_shape(A, layer)).numel() for layer in PAPER_LAYERS]
    checks = [C(layer, c, f) for layer, c, f in zip(PAPER_LAYERS, claimed, found)]
    return checks, f"together {sum(found):,}: the paper's '{published('paper_neurons').value:,} neurons' (Abstract)"


@_claim("001-fc-share", "001", "the fully connected layers hold most of the parameters")
def _fc_share() -> tuple[list[Check], str]:
    share = sum(params(A, layer) for layer in PAPER_LAYERS[5:]) / n_params(models.get(A, device="meta"))
    return [C("more than half of AlexNet's in fc6 to fc8", True, share > 0.5)], f"{share:.1%} of them"


@_claim("002-layout", "002 003", "conv1 11×11, conv2 5×5, then 3×3; 3×3/2 max-pooling after conv1, conv2, conv5; "
        "two hidden layers of 4,096; 1,000 outputs")
def _layout() -> tuple[list[Check], str]:
    kernels = tuple(m.kernel_size[0] for m in models.get(A, device="meta").modules() if isinstance(m, nn.Conv2d))
    pooled = tuple(c for c in PAPER_LAYERS[:5] if "max-pool" in block_order(A, c))
    return [C("kernel sides", [11, 5, 3, 3, 3], kernels), C("pooled after", ("conv1", "conv2", "conv5"), pooled),
            C("fc6, fc7, fc8 units", [4096, 4096, 1000], tuple(output_shape(A, f)[0] for f in PAPER_LAYERS[5:]))], ""


@_claim("002-d2l-net", "002", "their network on 1×224×224 ends in 256×5×5 = 6,400 values; padding 2 (5×5) and 1 (3×3) keep "
        "the size; dropout 0.5")
def _d2l_net() -> tuple[list[Check], str]:
    d2l = "alexnet_d2l"
    return [C("after the last pooling", (256, 5, 5), output_shape(d2l, "pool5")), C("fc6 inputs", 6400, weight_shape(d2l, "fc6")[1]),
            C("27 through 5×5, padding 2", 27, conv_output_size(27, 5, 1, 2)), C("13 through 3×3, padding 1", 13, conv_output_size(13, 3, 1, 1)),
            C("dropout", 0.5, models.get(A, device="meta").classifier.drop6.p)], \
        f"conv1 with padding 1 gives {output_shape(d2l, 'conv1')[1]}×{output_shape(d2l, 'conv1')[1]}, not the paper's 55"


@_claim("003-gpus-meet", "003", "the two GPUs exchange data only at conv3 and fc6 to fc8")
def _gpus_meet() -> tuple[list[Check], str]:
    model = models.get(A, device="meta")
    own = {n.split(".")[-1] for n, m in model.named_modules() if isinstance(m, nn.Conv2d) and m.groups == 2}
    both = tuple(layer for layer in PAPER_LAYERS[1:] if layer not in own)
    return [C("layers that read both GPUs", ("conv3", "fc6", "fc7", "fc8"), both)], "conv1 reads the image, which both GPUs hold"


@_claim("003-shapes", "003", "outputs 55×55×96, 27×27×96, 27×27×256, 13×13×256, 13×13×384 (twice), 13×13×256, 6×6×256 "
        "from a 224×224 input with 11×11 kernels, stride 4")
def _shapes() -> tuple[list[Check], str]:
    claimed = {"conv1": (96, 55, 55), "pool1": (96, 27, 27), "conv2": (256, 27, 27), "pool2": (256, 13, 13), "conv3": (384, 13, 13),
               "conv4": (384, 13, 13), "conv5": (256, 13, 13), "pool5": (256, 6, 6)}
    checks = [C(layer, shape, output_shape(A, layer)) for layer, shape in claimed.items()]
    return checks, (f"the post gives no padding; without any, 224 gives {conv_output_size(224, 11, 4)}. 227 pixels give {conv_output_size(227, 11, 4)} without padding, and so do 224 with "
                    f"{cuda_convnet_padding(224)} zeros past the right and bottom edges, as cuda-convnet's rounding up implies; "
                    "the paper itself says 224")


@_claim("003-params", "003", "parameters per layer: (kernel volume + 1) × kernels × 2 (no reason given; the two GPUs are the likely one)")
def _params_003() -> tuple[list[Check], str]:
    table = doubled_parameter_table()
    checks = [C(layer, int(table.loc[layer, POST_003]), int(table.loc[layer, "right"])) for layer in PAPER_LAYERS]
    return checks, "the kernel counts of the paper's text (96 in conv1, 256 in conv2 and so on) already count both GPUs: see the ×2 table"


@_claim("003-order", "003", "conv1 → max-pool → LRN, and the same after conv2")
def _order() -> tuple[list[Check], str]:
    swap = swap_pool_and_lrn()
    return [C("block 1", ("conv", "max-pool", "LRN"), block_order(A, "conv1")), C("block 2", ("conv", "max-pool", "LRN"), block_order(A, "conv2"))], \
        (f"Section 3.5: normalisation, then pooling. The orders give different outputs: on a photo, {swap['share_differing']:.0%} "
         f"of pool1's values differ, by up to {swap['largest_difference']:.1%} of the largest; pooling first normalises "
         f"{swap['normalised_swapped']:,} values instead of {swap['normalised_paper']:,}. Caffe's CaffeNet swaps the two, "
         f"and says so ({published('caffenet_pool_first').source})")


@_claim("004-bn", "004", "AlexNet uses ReLU and batch normalisation")
def _bn() -> tuple[list[Check], str]:
    paper, single, keras = (n_params(models.get(n, device="meta")) for n in (A, "alexnet", K))
    stats = sum(b.numel() for name, b in models.get(K, device="meta").named_buffers() if "running" in name)
    return [C("ReLU layers", 7, count_modules(A, nn.ReLU)), C("batch norm layers", 3, count_modules(A, nn.BatchNorm2d)),
            C("its normalisation", "BatchNorm", "LRN" if count_modules(A, nn.LocalResponseNorm) else "none")], \
        (f"batch norm is from {published('batchnorm').value}. The Keras-style model (alexnet_keras_bn) has {keras:,} parameters "
         f"against the paper's {paper:,}: {single - paper:,} more because no layer is split between GPUs, {keras - single:,} batch "
         f"norm scales and shifts, and Keras also counts {stats:,} running means and variances")


@_claim("004-kernels", "004", "conv1 96 kernels 11×11×3, stride 4; conv2 256 of 5×5×48; conv3 384 of 3×3×256; "
        "conv4 384 and conv5 256 of 3×3×192")
def _kernels() -> tuple[list[Check], str]:
    claimed = {"conv1": (96, 3, 11, 11), "conv2": (256, 48, 5, 5), "conv3": (384, 256, 3, 3), "conv4": (384, 192, 3, 3), "conv5": (256, 192, 3, 3)}
    checks = [C(layer, shape, weight_shape(A, layer)) for layer, shape in claimed.items()]
    return checks, (f"right for the paper; the post's own code reads all maps, so its conv2 has {params(K, 'conv2'):,} "
                    f"parameters, not {params(A, 'conv2'):,}")


@_claim("004-norm-conv5", "004", "conv5 is followed by normalisation and pooling")
def _norm_conv5() -> tuple[list[Check], str]:
    return [C("normalised after", ("conv1", "conv2", "conv5"), normalised_after(A)), C("pooled after conv5", True, "max-pool" in block_order(A, "conv5"))], \
        "Section 3.5: normalisation after conv1 and conv2 only"


@_claim("004-dropout", "004", "one dropout layer, after the second fully connected layer")
def _dropout_004() -> tuple[list[Check], str]:
    model = models.get(A, device="meta").classifier
    names = [n for n, _ in model.named_children()]
    after = tuple(names[names.index(n) - 2] for n, m in model.named_children() if isinstance(m, nn.Dropout))
    return [C("dropout layers", 1, count_modules(A, nn.Dropout)), C("dropout after", ("fc7",), after)], \
        "Section 4.2: dropout in the first two fully connected layers"


@_claim("004-same", "004", "with padding 'same', conv1 gives 56×56×96, pooled to 27×27×96")
def _same() -> tuple[list[Check], str]:
    return [C("'same' with stride 4", 56, conv_output_size(224, 11, 4, "same")), C("pooled", 27, pool_output_size(56, 3, 2))], \
        f"right for Keras's model; the paper's conv1 gives {shape_text(output_shape(A, 'conv1'))}"


@_claim("004-summary", "004", "model.summary(): 62,380,776 parameters, 1,216 of them non-trainable, layer by layer as printed")
def _summary() -> tuple[list[Check], str]:
    model = models.get(K, device="meta")
    counted = lambda m: sum(t.numel() for t in [*m.parameters(), *(b for n, b in m.named_buffers() if "running" in n)])  # noqa: E731
    claimed = {"conv1": 34_944, "bn1": 384, "conv2": 614_656, "bn2": 1024, "conv3": 885_120, "conv4": 1_327_488, "conv5": 884_992,
               "bn5": 1024, "fc6": 37_752_832, "fc7": 16_781_312, "fc8": 4_097_000}
    layers = {n.split(".")[-1]: m for n, m in model.named_modules()}
    stats = sum(b.numel() for n, b in model.named_buffers() if "running" in n)
    checks = [C(layer, c, counted(layers[layer])) for layer, c in claimed.items()]
    checks += [C("total", 62_380_776, n_params(model) + stats), C("non-trainable", 1216, stats)]
    paper = n_params(models.get(A, device="meta"))
    return checks, ("a BatchNorm layer counts 4 values per map: scale and shift (trained), running mean and variance (not); "
                    f"the paper's network has {paper:,} parameters")
