"""alexnet_lib: the mechanics behind the LeNet -> AlexNet course notebooks.

One module, one job:

- :mod:`alexnet_lib.config`: data root, run profile, device (``get_config``)
- :mod:`alexnet_lib.data`: Fashion-MNIST from the data root (``load_fashion_mnist``)
- :mod:`alexnet_lib.cli`: the command line (``python -m alexnet_lib --help``)
"""

from .config import PROFILES, Config, Profile, get_config
from .data import CLASS_NAMES, DataNotFoundError, load_fashion_mnist

__all__ = ["CLASS_NAMES", "PROFILES", "Config", "DataNotFoundError", "Profile", "get_config", "load_fashion_mnist"]
__version__ = "0.1.0"
