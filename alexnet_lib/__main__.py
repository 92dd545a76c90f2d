"""``python -m alexnet_lib``: see :mod:`alexnet_lib.runs.cli`."""

import os
import signal
import sys

try:
    from .runs.cli import main  # inside the try: a Ctrl-C while it loads gets the one-line answer

    status = main(exits_next=True)  # from now on, main takes Ctrl-C, SIGTERM and SIGHUP
except KeyboardInterrupt:  # Ctrl-C before main() could answer it (main answers it once it runs)
    print("error: interrupted by Ctrl-C before training started; nothing was trained or saved.", file=sys.stderr)
    status = 130
except BrokenPipeError:  # the output went to a command that stopped reading (`... | head`): not an error of ours
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    status = 1
try:
    sys.stdout.flush()
except BrokenPipeError:
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
# The answer is given and the files are written: main's handlers ignore signals now. Python resets them as it shuts
# down (a second or so with torch loaded); ignored, a signal then cannot end it with a traceback or kill it.
for signum in (signal.SIGINT, signal.SIGTERM, getattr(signal, "SIGHUP", signal.SIGTERM)):
    signal.signal(signum, signal.SIG_IGN)
sys.exit(status)
