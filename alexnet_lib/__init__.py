"""alexnet_lib: the mechanics behind the LeNet -> AlexNet course notebooks.

The core, the modules in this folder, is what a student reads, top to bottom:

- :mod:`alexnet_lib.config`: the run profile, data root and device (``get_config``), and the shared idioms
- :mod:`alexnet_lib.shapes`: output-size arithmetic for convolution and pooling
- :mod:`alexnet_lib.data`: Fashion-MNIST from the data root, and batches resized, normalised and augmented on the device
- :mod:`alexnet_lib.convnet`, :mod:`alexnet_lib.lenet`, :mod:`alexnet_lib.alexnet`: the networks
- :mod:`alexnet_lib.models`: every network by name (``models.get``)
- :mod:`alexnet_lib.training`: ``train_loop``, the loop, and ``fit``, which runs it with its callbacks
- :mod:`alexnet_lib.callbacks`: the rest of a run: device and mixed precision, divergence guard, progress
- :mod:`alexnet_lib.recipes`: how to train each model under each profile, and ``train_recipe``

The course machinery sits beside it, in subpackages that import the core and never the
reverse: :mod:`alexnet_lib.course` (exercise checks, widgets, figures, layer tables,
comparisons), :mod:`alexnet_lib.facts` (the 2012 paper and the fact check),
:mod:`alexnet_lib.datasets` (data sets other than Fashion-MNIST), :mod:`alexnet_lib.parallel`
(several processes) and :mod:`alexnet_lib.runs` (command line, checkpoints, run folders).
ARCHITECTURE.md draws the two parts.

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
