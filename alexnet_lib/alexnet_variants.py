"""AlexNet as others rebuilt it: the Keras blog posts' version and this course's CPU-scale one.

Neither is the paper's network (that is :class:`alexnet_lib.alexnet.AlexNet2012`): the Keras
posts replace LRN by BatchNorm and pad TensorFlow's ``'same'`` way; the CPU-scale network keeps
AlexNet's eight-layer design with narrower layers for 64×64 greyscale images. Both have
torchvision's shape (``features``, ``avgpool``, ``classifier``) and the paper's fc6 -> fc8
classifier (:func:`alexnet_lib.alexnet.alexnet_classifier`).
"""

from __future__ import annotations

import math
from collections import OrderedDict

import torch
from torch import nn

from .alexnet import alexnet_classifier, check_alexnet_arguments, conv3_to_relu5
from .convnet import ConvNet, check_input, check_positive
from .shapes import same_padding

__all__ = ["AlexNetCPU", "AlexNetKerasBN"]


class AlexNetKerasBN(ConvNet):
    """The AlexNet of many Keras blog posts: ``padding='same'`` (224 -> 56) and BatchNorm instead of LRN.

    Conv2D(96, 11, strides=4, padding='same', activation='relu') -> BatchNormalization ->
    MaxPool2D(3, 2), Conv2D(256, 5, 'same') -> BatchNormalization -> MaxPool2D(3, 2),
    Conv2D 384, 384, 256 (3×3, 'same') -> BatchNormalization -> MaxPool2D(3, 2), Flatten,
    Dense 4096 -> Dropout 0.5 -> Dense 4096 -> Dropout 0.5 -> Dense ``num_classes``.

    - TensorFlow's ``'same'`` with stride 4 makes ceil(224 / 4) = 56 outputs by padding
      3 pixels before and 4 after (:func:`alexnet_lib.shapes.same_padding`); PyTorch's
      ``Conv2d`` has no ``'same'`` for strides above 1, so ``pad1`` adds them.
    - BatchNorm uses Keras's defaults: ``epsilon=1e-3`` and ``momentum=0.99``, which is
      PyTorch's ``eps=1e-3, momentum=0.01`` (PyTorch's momentum weights the *new* batch).
    - The last layer returns logits; the posts' ``softmax`` lives in PyTorch's
      ``F.cross_entropy``.
    - PyTorch counts 62,379,560 parameters at 1,000 classes (608 BatchNorm maps add 1,216
      scales and shifts to :class:`alexnet_lib.alexnet.AlexNet`'s 62,378,344). Keras's ``model.summary()``
      prints 62,380,776 because it also counts the 1,216 running means and variances, as
      "non-trainable params"; PyTorch keeps those as buffers, not parameters.

    >>> model = AlexNetKerasBN()
    >>> model.feature_shape(), sum(p.numel() for p in model.parameters())
    ((256, 6, 6), 62379560)
    """

    def __init__(self, num_classes: int = 1000, input_size: int = 224, dropout: float = 0.5) -> None:
        check_alexnet_arguments("alexnet_keras_bn", num_classes, input_size, dropout)
        super().__init__("alexnet_keras_bn", (3, input_size, input_size))
        before, after = same_padding(input_size, 11, s=4)

        def bn(channels: int) -> nn.BatchNorm2d:
            return nn.BatchNorm2d(channels, eps=1e-3, momentum=0.01)

        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("pad1", nn.ZeroPad2d((before, after, before, after))),  # TensorFlow's 'same' for stride 4
                    ("conv1", nn.Conv2d(3, 96, kernel_size=11, stride=4)),
                    ("relu1", nn.ReLU()),
                    ("bn1", bn(96)),
                    ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
                    ("conv2", nn.Conv2d(96, 256, kernel_size=5, padding=2)),
                    ("relu2", nn.ReLU()),
                    ("bn2", bn(256)),
                    ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
                    *conv3_to_relu5(),
                    ("bn5", bn(256)),
                    ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
                ]
            )
        )
        self.avgpool = nn.Identity()
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), 4096, num_classes, dropout)
        for layer in self.modules():  # Keras's defaults: glorot_uniform kernels, zero biases
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                nn.init.xavier_uniform_(layer.weight)
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        x = self.features(x)  # pad1, conv1 ... bn5, pool5: 256 maps of 6×6 at 224×224
        x = torch.flatten(self.avgpool(x), 1)  # Keras's Flatten (avgpool does nothing here)
        return self.classifier(x)  # Dense 4096, 4096, num_classes: logits, no softmax


class AlexNetCPU(ConvNet):
    """AlexNet's eight-layer design at laptop scale: 64×64 greyscale input, narrower layers.

    Five convolutions and three fully connected layers with ReLU, overlapping 3×3/2 max
    pooling after conv1, conv2 and conv5, and dropout on fc6's and fc7's outputs, as in the
    paper; no LRN (Simonyan and Zisserman 2014 found it did not help). The sizes are scaled down so that it
    trains on a CPU in minutes:

    - conv1 5×5 / 2 (padding 2) instead of 11×11 / 4: a 64-pixel image has no room for a
      stride of 4, and the map sizes then follow the paper's pattern,
      64 -> 32 -> 15 -> 15 -> 7 -> 7 -> 3 (the paper: 224 -> 55 -> 27 -> 27 -> 13 -> 13 -> 6);
    - ``widths`` 32, 64, 128, 128, 96 kernels (a quarter to a third of 96, 256, 384, 384, 256) and
      ``fc_width`` 512 instead of 4096: about 1.1 million parameters instead of 61 million,
      and about 29 million multiply-accumulates per image instead of 720 million;
    - He et al.'s (2015) initialisation (Kaiming normal for the ReLU layers, zero biases,
      fc8 N(0, 0.01)): with PyTorch's default initialisation this eight-layer ReLU network
      stayed at chance for its first two epochs on Fashion-MNIST; with He's it learns from
      the first.

    On two CPU cores (an AMD EPYC server) a training step at batch 128 took about 0.14 s,
    some 900 images per second, so an epoch of a few thousand images takes seconds.

    >>> model = AlexNetCPU()
    >>> model.feature_shape(), sum(p.numel() for p in model.parameters())
    ((96, 3, 3), 1094890)
    """

    accepts_in_channels = True

    def __init__(
        self,
        num_classes: int = 10,
        in_channels: int = 1,
        input_size: int = 64,
        widths: tuple[int, int, int, int, int] = (32, 64, 128, 128, 96),
        fc_width: int = 512,
        dropout: float = 0.5,
    ) -> None:
        name, widths = "alexnet_cpu", tuple(widths)
        check_alexnet_arguments(name, num_classes, input_size, dropout)
        check_positive("in_channels", in_channels, name, "1 for greyscale, 3 for colour")
        check_positive("fc_width", fc_width, name, "units in fc6 and fc7")
        if len(widths) != 5:
            raise ValueError(f"{name}: widths={widths!r} needs 5 numbers, the kernels of conv1 to conv5.")
        for i, width in enumerate(widths, 1):
            check_positive(f"widths[{i - 1}] (conv{i})", width, name, "kernels in that convolution")
        super().__init__(name, (in_channels, input_size, input_size))
        c1, c2, c3, c4, c5 = widths
        self.features = nn.Sequential(
            OrderedDict(
                [
                    ("conv1", nn.Conv2d(in_channels, c1, kernel_size=5, stride=2, padding=2)),
                    ("relu1", nn.ReLU()),
                    ("pool1", nn.MaxPool2d(kernel_size=3, stride=2)),
                    ("conv2", nn.Conv2d(c1, c2, kernel_size=5, padding=2)),
                    ("relu2", nn.ReLU()),
                    ("pool2", nn.MaxPool2d(kernel_size=3, stride=2)),
                    ("conv3", nn.Conv2d(c2, c3, kernel_size=3, padding=1)),
                    ("relu3", nn.ReLU()),
                    ("conv4", nn.Conv2d(c3, c4, kernel_size=3, padding=1)),
                    ("relu4", nn.ReLU()),
                    ("conv5", nn.Conv2d(c4, c5, kernel_size=3, padding=1)),
                    ("relu5", nn.ReLU()),
                    ("pool5", nn.MaxPool2d(kernel_size=3, stride=2)),
                ]
            )
        )
        self.avgpool = nn.Identity()
        self.classifier = alexnet_classifier(math.prod(self.feature_shape()), fc_width, num_classes, dropout)
        for name, layer in self.named_modules():  # He et al. 2015, so that it trains from the first epoch
            if isinstance(layer, (nn.Conv2d, nn.Linear)):
                if name.endswith("fc8"):
                    nn.init.normal_(layer.weight, std=0.01)
                else:
                    nn.init.kaiming_normal_(layer.weight, nonlinearity="relu")
                nn.init.zeros_(layer.bias)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        check_input(self, x)  # a wrong shape gets a message that names the smallest valid input
        x = self.features(x)  # 64 -> 32 -> 15 -> 15 -> 7 -> 7 -> 3: 96 maps of 3×3 at 64×64
        x = torch.flatten(self.avgpool(x), 1)  # 864 values per image (avgpool does nothing here)
        return self.classifier(x)  # fc6, fc7 (fc_width units), fc8: one score per class
