"""``python -m alexnet_lib``: see :mod:`alexnet_lib.cli`."""

import sys

from .cli import main

sys.exit(main())
