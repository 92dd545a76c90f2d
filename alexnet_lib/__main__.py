"""``python -m alexnet_lib``: see :mod:`alexnet_lib.runs.cli`."""

import os
import sys

try:
    from .runs.cli import main  # inside the try: a Ctrl-C while it loads gets the one-line answer

    status = main()
except KeyboardInterrupt:  # Ctrl-C before main() could answer it (main answers it once it runs)
    print("error: interrupted by Ctrl-C before training started; nothing was trained or saved.", file=sys.stderr)
    status = 130
except BrokenPipeError:  # the output went to a command that stopped reading (`... | head`): not an error of ours
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    status = 1
sys.exit(status)
