"""alexnet_lib: the mechanics behind the LeNet -> AlexNet course notebooks.

One module, one job (ARCHITECTURE.md has the layers they sit on and the rules they keep):

- :mod:`alexnet_lib.basics`: one helper per shared idiom (whole numbers, seeding, a model's name, shape text)
- :mod:`alexnet_lib.config`: data root, run profile, device (``get_config``)
- :mod:`alexnet_lib.data`: Fashion-MNIST and Flowers102 from the data root (``load_fashion_mnist``)
- :mod:`alexnet_lib.loaders`: batches resized, normalised and augmented on the device
- :mod:`alexnet_lib.shapes`: output-size arithmetic for convolution and pooling
- :mod:`alexnet_lib.course.tables`: layer tables (parameters, MACs, output memory, receptive fields)
- :mod:`alexnet_lib.course.tracking`: how a layer table follows a forward pass (hooks, MACs, receptive fields)
- :mod:`alexnet_lib.course.memory`: what one training step keeps in memory (``training_memory``)
- :mod:`alexnet_lib.convnet`, :mod:`alexnet_lib.lenet`, :mod:`alexnet_lib.alexnet`, :mod:`alexnet_lib.alexnet_variants`: the networks
- :mod:`alexnet_lib.models`: the model zoo (``models.get``, ``models.entry``, ``models.list_models``)
- :mod:`alexnet_lib.precision`: the device and its arithmetic (mixed precision, memory format)
- :mod:`alexnet_lib.training`: ``fit``, the training loop, and its history
- :mod:`alexnet_lib.progress`: what ``fit`` shows while it runs (progress bar, live curve, time estimate)
- :mod:`alexnet_lib.evaluation`: loss, accuracy, predictions, confusion matrices
- :mod:`alexnet_lib.runs.checkpoints`: checkpoints and histories on disk, written atomically
- :mod:`alexnet_lib.recipes`: per-profile training recipes, and ``train_recipe``, the one way to train one
- :mod:`alexnet_lib.course.reference`: committed results of longer runs, plotted beside a notebook's own
- :mod:`alexnet_lib.course.d2l_compat`: Dive into Deep Learning's function names, faster
- :mod:`alexnet_lib.course.activations`: activation functions, derivatives, gradient flow
- :mod:`alexnet_lib.course.dropout`: dropout's scaling, measured
- :mod:`alexnet_lib.course.inspection`: feature maps, top-activating images, occlusion sensitivity
- :mod:`alexnet_lib.course.photos`: a real photograph that ships with matplotlib
- :mod:`alexnet_lib.course.comparison`: models side by side: the zoo's variants (``compare_models``), and ZFNet, VGG, GoogLeNet, ResNet next to AlexNet
- :mod:`alexnet_lib.course.glossary`: the key terms in English and Chinese
- :mod:`alexnet_lib.course.plots`, :mod:`alexnet_lib.course.diagrams`: figures; :mod:`alexnet_lib.course.widgets`: interactive tools
- :mod:`alexnet_lib.course.checks`: instant checks for the exercises
- :mod:`alexnet_lib.runs.cli`: the command line (``python -m alexnet_lib --help``)
- :mod:`alexnet_lib.runs.folders`: run folders that never overwrite each other

Importing the package sets pandas' display options once for every notebook: tables are shown
whole, never with text, columns or rows cut to "...".
"""

import pandas as _pd

from .config import PROFILES, Config, Profile, get_config

# The data names are imported when first used (PEP 562), not here: `import alexnet_lib` then
# needs no torch, so the command line starts at once and a Ctrl-C during its start-up gets
# its one-line answer instead of a traceback from inside `import torch`.
_FROM_DATA = ("CLASS_NAMES", "DataNotFoundError", "load_fashion_mnist")


def __getattr__(name: str) -> object:
    if name in _FROM_DATA:
        from . import data  # deferred: see above

        return getattr(data, name)
    raise AttributeError(f"module 'alexnet_lib' has no attribute {name!r}")


__all__ = ["CLASS_NAMES", "PROFILES", "Config", "DataNotFoundError", "Profile", "get_config", "load_fashion_mnist"]
__version__ = "0.1.0"

for _option, _value in {"display.max_colwidth": None, "display.max_columns": None, "display.max_rows": 500, "display.width": 120}.items():
    _pd.set_option(_option, _value)
