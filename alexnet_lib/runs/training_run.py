"""The ``train`` command's run: the recipe with the command line's changes, training that stops without losing what it
trained (on Ctrl-C, SIGTERM, SIGHUP, a diverging loss or out of memory), and the report.

Ctrl-C (SIGINT), SIGTERM (what ``timeout``, ``docker stop``, Slurm and Kubernetes send) and SIGHUP (the terminal closed)
are taken alike by :class:`Signals`:

- before training starts, the first one ends the command at once: nothing was trained, nothing is saved;
- while one process trains, it raises ``KeyboardInterrupt`` (its text names the signal) in the main thread, so
  :func:`alexnet_lib.training.fit` stops as it does on Ctrl-C and returns the history of what was trained;
- while several processes train (``--nproc``), it is only noted: the launch asks every process to stop at the same
  batch (:func:`alexnet_lib.parallel.distributed.launch`), and process 0's history and weights come back;
- once a signal has been taken, or once training has ended, later ones print one line, ``still saving ...``,
  and are otherwise ignored until the files are written.

The exit status of a run stopped by a signal is 128 + its number: 130 for Ctrl-C, 143 for SIGTERM, 129 for SIGHUP.
A run that diverges or runs out of memory keeps its complete epochs (:func:`train_keeping_epochs`, with
:class:`TrainingWatch`) and ends in one sentence that says what was saved (:func:`error_after`).

Importing this module loads no torch: the command line takes signals before it imports anything heavy.
"""

from __future__ import annotations

import ast
import json
import os
import re
import signal
import threading
import time
from dataclasses import replace

from ..config import is_whole_number

__all__ = ["Signals", "TrainingWatch", "checked_device", "claim_and_plan", "error_after", "exit_status", "is_out_of_memory", "out_of_memory_text",
           "print_run", "processes_and_rank", "recipe_from_options", "save_and_print", "signal_name", "tell_torchrun",
           "train_keeping_epochs"]

_TAKEN = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]  # no SIGHUP on Windows


def signal_name(signum: int) -> str:
    """How a signal is named to the user.

    >>> signal_name(signal.SIGINT), signal_name(signal.SIGTERM)
    ('Ctrl-C', 'SIGTERM')
    """
    return "Ctrl-C" if signum == signal.SIGINT else signal.Signals(signum).name


def exit_status(name: str) -> int:
    """128 + the number of the signal called ``name`` (:func:`signal_name`), as shells report a process it ended.

    >>> exit_status("Ctrl-C"), exit_status("SIGTERM")
    (130, 143)
    """
    return 128 + getattr(signal.Signals, name, signal.SIGINT)  # Ctrl-C: SIGINT


class Signals:
    """Takes Ctrl-C, SIGTERM and SIGHUP while a command runs; a context manager that puts the handlers before it back.

    ``phase`` says what the first signal does: ``"starting"`` and ``"training"`` raise ``KeyboardInterrupt(name)``
    at once, ``"holding"``, ``"distributed"`` and ``"saving"`` only note it in ``taken`` (the launch of several
    processes polls :meth:`stop_requested`). A signal that the caller ignores (``nohup``, a command started with
    ``&``) stays ignored. ``restore=False`` (``python -m alexnet_lib``, which exits next) leaves the handlers in
    place at the end, ignoring every signal, so that none can interrupt the exit.

    >>> with Signals() as signals:
    ...     signals.phase = "distributed"
    ...     os.kill(os.getpid(), signal.SIGTERM)
    >>> signals.stop_requested()
    'SIGTERM'
    """

    def __init__(self, restore: bool = True) -> None:
        self.phase, self.taken, self.told, self.restore, self._before = "starting", None, False, restore, {}

    def __enter__(self) -> Signals:
        if threading.current_thread() is threading.main_thread():  # Python sets handlers in the main thread only
            for signum in _TAKEN:
                if signal.getsignal(signum) is not signal.SIG_IGN:
                    self._before[signum] = signal.signal(signum, self._take)
        return self

    def __exit__(self, *exc: object) -> None:
        self.phase = "done"
        for signum, handler in self._before.items() if self.restore else ():
            signal.signal(signum, handler)

    def hold(self) -> None:
        """Only note a first signal from now on, until :meth:`resume` (while the run folder is claimed)."""
        self.phase = "holding"

    def resume(self) -> None:
        """Raise at once again, and now for a signal noted since :meth:`hold`."""
        self.phase = "starting"
        if self.taken is not None:
            raise KeyboardInterrupt(self.taken)

    def stop_requested(self) -> str | None:
        """The name of the first signal taken ('Ctrl-C', 'SIGTERM', ...), or None."""
        return self.taken

    def _take(self, signum: int, frame: object) -> None:
        name = signal_name(signum)
        if self.phase == "done":
            return
        if self.taken is None:
            self.taken = name
            if self.phase in ("starting", "training"):
                raise KeyboardInterrupt(name)
            if self.phase in ("holding", "distributed"):
                return  # answered by resume(), or the processes stop together at their next batch
        if not self.told:  # os.write, not print: the main thread may be inside a print
            self.told = True
            saving = self.phase not in ("starting", "holding")
            what, until = (("saving what was trained", "the files are written") if saving
                           else ("stopping", "the run folder is released"))
            os.write(2, f"\nstill {what}; this {name} is ignored until {until}.\n".encode())


class TrainingWatch:
    """A callback for ``fit`` (the methods of :class:`alexnet_lib.callbacks.Callback`, written out so that this module
    loads without torch): it sets ``signals.phase`` to ``"training"`` while ``fit`` runs and to ``"saving"`` after,
    and keeps the run, so that :meth:`complete_epochs` can return what an error that ``fit`` does not catch leaves."""

    def __init__(self, signals: Signals) -> None:
        self.signals, self.run, self.complete, self.copied_after = signals, None, 0, 0

    def before_fit(self, run) -> None:
        self.run, self.signals.phase = run, "training"

    def before_epoch(self, run) -> None:
        self.copied_after = run.epoch  # fit's DivergenceGuard has just copied the weights: those after this many epochs

    def after_batch(self, run, loss, out, y) -> None: ...
    def after_train(self, run) -> None: ...

    def after_epoch(self, run) -> None:
        self.complete = run.epoch + 1

    def after_fit(self, run) -> None:
        self.signals.phase = "saving"

    def complete_epochs(self):
        """``(model, history)`` of the complete epochs after an error escaped ``fit``: the history's complete rows and
        the weights after them (the divergence guard's copy, if the error came in the middle of an epoch); None if
        no epoch was complete."""
        from ..callbacks import DivergenceGuard  # deferred: loads torch (the command line imports this module first)

        run = self.run
        if run is None or run.history is None or not self.complete:
            return None
        if self.copied_after == self.complete:  # the error came during the next epoch: its weights are half-trained
            next(cb for cb in run.callbacks if isinstance(cb, DivergenceGuard)).restore(run.model)
        return run.model, run.history.iloc[:self.complete].copy()


def is_out_of_memory(error: BaseException) -> bool:
    """Whether ``error`` says that memory ran out: ``MemoryError``, or PyTorch's RuntimeError from the CPU's allocator or
    ``torch.OutOfMemoryError`` (CUDA, MPS); not the library's own errors, which may name it as a possible cause.

    >>> is_out_of_memory(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 80 bytes.")), \\
    ...     is_out_of_memory(RuntimeError("shapes do not match"))
    (True, False)
    """
    ours = type(error).__module__.split(".")[0] == "alexnet_lib"
    return isinstance(error, MemoryError) or isinstance(error, RuntimeError) and not ours and bool(
        re.search(r"(CUDA|MPS backend) out of memory|can't allocate memory|DefaultCPUAllocator", str(error)))


def out_of_memory_text(error: BaseException) -> str:
    """What ran out, in words, with the size of the allocation that failed where the error gives it.

    >>> out_of_memory_text(RuntimeError("DefaultCPUAllocator: can't allocate memory: you tried to allocate 5368709120 bytes."))
    'ran out of memory (an allocation of 5.0 GiB failed)'
    """
    asked = re.search(r"allocate (\d+) bytes", str(error))
    size = f"{int(asked[1]) / 2**30:,.1f} GiB" if asked else (re.search(r"allocate ([\d.]+ [KMGT]iB)", str(error)) or [""])[-1]
    return "ran out of memory" + (f" (an allocation of {size} failed)" if size else "")


def train_keeping_epochs(r, device, nproc: int | None, signals: Signals, plan=None):
    """The model, the history and the error that ended training early (a divergence, out of memory; else None),
    trained by recipe ``r`` in this process or in ``nproc`` processes (DDP; None: those torchrun started, the model and
    history coming back in rank 0 only), while ``signals`` are taken. ``plan`` (:class:`~.resume.ResumePlan`) saves
    each epoch to resume from, or resumes. After an error the model and history hold the complete epochs (both None
    when no epoch was complete)."""
    from ..training import TrainingDiverged  # deferred: loads torch

    if nproc != 1:
        from ..parallel.ddp import train_recipe_distributed  # deferred: loads torch

        signals.phase = "distributed"
        model, history, _ = train_recipe_distributed(r, nproc, device, stop_requested=signals.stop_requested,
                                                      more_callbacks=plan)
        signals.phase = "saving"
        return model, history, None
    from ..recipes import train_recipe  # deferred: loads torch

    watch = TrainingWatch(signals)
    try:
        model, history, _ = train_recipe(r, device=device, callbacks=[watch, *(plan() if plan else [])])
        return model, history, None
    except TrainingDiverged as exc:
        return exc.model, exc.history, exc
    except Exception as exc:
        if not is_out_of_memory(exc):
            raise
        return *(watch.complete_epochs() or (None, None)), exc


def processes_and_rank(nproc: int) -> tuple[int | None, int]:
    """The ``nproc`` that :func:`train_keeping_epochs` takes, and this process's rank: ``(None, RANK)`` under torchrun,
    else ``(nproc, 0)`` (``--nproc``, which starts processes on this machine, is refused under torchrun)."""
    from ..parallel.distributed import torchrun_ranks  # deferred: loads torch

    ranks = torchrun_ranks()
    if ranks is None:
        return nproc, 0
    if nproc != 1:
        raise ValueError(f"--nproc {nproc} starts processes on this machine, but torchrun started this one (rank {ranks[0]} "
                         f"of {ranks[1]}); leave --nproc out and give torchrun --nproc-per-node {nproc}.")
    return None, ranks[0]


def checked_device(r, device: str | None, nproc: int | None):
    """The device (``--device``, else the best), checked with the processes' backend and the memory the recipe needs."""
    from ..callbacks import resolve_device  # deferred: loads torch
    from ..course.memory import check_recipe_fits  # deferred: loads torch
    from ..parallel.distributed import check_backend  # deferred: loads torch

    device = resolve_device(device)
    if nproc is not None and nproc > 1:
        check_backend("nccl" if device.type == "cuda" else "gloo", nproc)
    check_recipe_fits(r, device, nproc or 1, "use a smaller --batch or --set input_size" + (" or fewer processes" if nproc != 1 else ""))
    return device


def claim_and_plan(args, r, rank: int, world: int | None):
    """Rank 0: the run folder claimed (``--out``, else the ``--resume`` folder, else a new one), and the line that says
    where a resumed run continues; other ranks: ``(None, None)``, as they write nothing. A ValueError before anything is
    claimed if ``--resume`` cannot continue with these options."""
    from .folders import claim_run_folder  # deferred: loads torch
    from .resume import load_resume, resume_statement  # deferred: loads torch

    line = None
    if args.resume is not None:
        world = world or int(os.environ.get("WORLD_SIZE", "1"))
        line = resume_statement(load_resume(args.resume), r, args.resume, world)
    if rank != 0:
        return None, None
    continuing = args.resume is not None and args.out is None
    out = args.out if args.out is not None else args.resume  # an empty --out is refused, not replaced
    return claim_run_folder(out, args.model, force=args.force, continuing=continuing), line


def save_and_print(run, r, options, model, history, nproc: int | None) -> tuple[object, str | None]:
    """Rank 0, after training: save the history and weights in the claimed ``run`` folder (if an epoch has rows),
    remove its ``resume.pt`` once every epoch is done, and print the run; return the folder the files went to (None:
    nothing saved) and what stopped training early (a signal's name, ``--stop-after N``; None: nothing)."""
    from .resume import remove_when_complete  # deferred: loads torch

    folder = run.save(model, history, model_kwargs=r.full_model_kwargs(), recipe=r.describe(), profile=r.profile,
                      seed=options.seed) if len(history) else None
    if folder is not None:
        remove_when_complete(run.path, history, r.epochs)
    stopped_by = history.attrs.get("stopped_by") or options.signals.taken or "Ctrl-C" if history.attrs["interrupted"] else None
    # printed after saving: a closed terminal (SIGHUP) cannot lose the files
    print_run(r, history, nproc or int(os.environ.get("WORLD_SIZE", "1")), folder, run.path, stopped_by)
    if "top_k" in history.attrs:  # an image folder's top-1 and top-5
        from ..datasets.imagefolder import scores_text  # deferred: loads torch

        print(scores_text(history.attrs))
    return folder, stopped_by


def tell_torchrun(message: str) -> str:
    """``message``, also written where torchrun reads why its process failed (``TORCHELASTIC_ERROR_FILE``, when torchrun
    started this one), so that its summary shows the sentence instead of "error_file: <N/A>"."""
    path = os.environ.get("TORCHELASTIC_ERROR_FILE")
    if path:
        try:
            with open(path, "w", encoding="utf-8") as file:
                json.dump({"message": message, "timestamp": int(time.time())}, file)
        except OSError:  # the sentence is printed all the same
            pass
    return message


def error_after(failure: Exception, r, history, folder) -> Exception:
    """The error that ended training early, in one sentence that says what was saved and what to do."""
    n = 0 if history is None else len(history)
    kept = f"the {n} complete epoch{'s' if n != 1 else ''} {'are' if n != 1 else 'is'} saved in {folder}" if folder else "nothing was saved"
    if is_out_of_memory(failure):
        return ValueError(f"{out_of_memory_text(failure)} while training {r.model}; {kept}; use a smaller --batch "
                          f"(it was {r.batch_size}) or --set input_size.")
    return type(failure)(f"{str(failure).rstrip('.')} (--lr {r.lr / 10:g}); {kept}.", history, None)


_OPTIONS_NOT_SETTINGS = {"seed": "--seed", "device": "--device", "lr": "--lr", "epochs": "--epochs", "batch_size": "--batch"}


def _model_kwargs(settings: list[str], model: str) -> dict[str, object]:
    """``--set KEY=VALUE`` options as ``model``'s keyword arguments (values read as Python literals where they are)."""
    from .. import models  # deferred: loads torch

    accepted = [name for name in models.entry(model).arguments if name != "seed"]  # the seed is --seed's
    kwargs = {}
    for item in settings:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise ValueError(f"--set {item!r} should be KEY=VALUE, e.g. --set activation=sigmoid")
        if key in _OPTIONS_NOT_SETTINGS:
            raise ValueError(f"--set {item}: {key} is not a model argument; use {_OPTIONS_NOT_SETTINGS[key]} {text}.")
        if key not in accepted:
            raise ValueError(f"--set {item}: {model} has no argument {key!r}; --set takes {', '.join(accepted)}.")
        try:
            kwargs[key] = ast.literal_eval(text)
        except (ValueError, SyntaxError):
            kwargs[key] = text
    return kwargs


def recipe_from_options(options):
    """The recipe of ``options.model`` (the parsed command line) with its changes: ``--set``, ``--seed``, ``--epochs``,
    ``--batch`` and ``--lr``.

    ``--set input_size=N`` resizes the images too (the recipe's ``resize``, and ``crop`` where it crops), so that
    the data fit the model.
    """
    from ..recipes import recipe  # deferred: loads torch

    kwargs = _model_kwargs(options.set, options.model)
    side = kwargs.pop("input_size", None)
    if side is not None and not is_whole_number(side):
        raise ValueError(f"--set input_size={side!r} should be a whole number of pixels, e.g. --set input_size=64.")
    r = replace(recipe(options.model, options.profile, **kwargs), seed=options.seed)
    changes = {"epochs": options.epochs, "batch_size": options.batch, "lr": options.lr}
    r = replace(r, **{name: value for name, value in changes.items() if value is not None})
    return r if side is None else replace(r, resize=side, crop=side if r.crop else None)


def print_run(r, history, nproc: int, folder, claimed, stopped_by: str | None) -> None:
    """The recipe, the history table (if it has rows) and where it was saved (or why nothing was)."""
    from ..course.plots import format_history  # deferred: loads torch and matplotlib

    shares = history.attrs.get("train_figures")
    print(f"{r.describe()}\n{history.attrs['precision']} on {history.attrs['device']}, "
          f"{history.attrs['seconds']:.1f} s in all" + (f"; {nproc} processes, training figures of {shares}" if shares else ""))
    if folder is None:
        why = (f"training diverged in epoch {len(history) + 1}, before any epoch was complete" if "diverged" in history.attrs
               else f"stopped by {stopped_by} before the first batch was trained" if stopped_by else "no batch was trained")
        print(f"\nnothing to save: {why}")
        return
    print("\n" + format_history(history))
    print(f"\n{f'stopped by {stopped_by}; ' if stopped_by else ''}saved {folder / 'history.csv'} and {folder / 'checkpoint.pt'}")
    if folder != claimed:
        print(f"({claimed} was taken over by a run started with --force, so this run went to {folder})")
