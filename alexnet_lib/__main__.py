"""``python -m alexnet_lib``: see :mod:`alexnet_lib.cli`."""

import os
import sys

from .cli import main

try:
    sys.exit(main())
except BrokenPipeError:  # the output went to a command that stopped reading (`... | head`): not an error of ours
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    sys.exit(1)
