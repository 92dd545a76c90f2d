"""Resumable runs: the end of each epoch saved whole in the run folder, and a run continued from it.

At the end of every epoch :class:`ResumableEpochs` writes ``resume.pt`` in the run folder (process 0 only, atomically,
by :func:`~alexnet_lib.runs.checkpoints.write_together`): the weights, the optimizer's state, the learning-rate
schedule's, the history so far, every process's random state, the recipe and the first batch's loss, which the
divergence guard's limit is a multiple of (process 0's, on several processes). The loaders draw each epoch's order and
augmentation from the seed and the epoch (``set_epoch``), so the epoch is the sampler's position. A run that ends
with all its epochs removes the file; one that stops early (a signal, a lost node, ``--stop-after``) keeps it.

``train MODEL ... --resume RUN_DIR`` (the same options as the run) continues after the last complete epoch: ``fit``
runs the recipe's epochs as always, the complete ones without batches (their history rows come from the file), so the
schedule, the progress bar and the epoch numbers are the run's own. On another number of processes the global batch
stays the recipe's, and :func:`resume_statement` says so in one line.
"""

from __future__ import annotations

import io
import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
import torch.distributed as dist

from ..callbacks import Callback, DivergenceGuard, Progress
from ..recipes import Recipe
from .checkpoints import load_weights_only, write_together

__all__ = ["RESUME_FILE", "ResumableEpochs", "ResumePlan", "load_resume", "remove_when_complete", "resume_statement"]

RESUME_FILE = "resume.pt"
_FORMAT = "alexnet_lib resume 1"


def _recipe_fields(r: Recipe) -> dict:
    """The recipe's fields as plain values (tuples as lists), as saved and compared."""
    return json.loads(json.dumps(asdict(r)))


class _FromEpoch:
    """``loader`` that yields nothing in the epochs before ``first`` (those a resumed run has already trained)."""

    def __init__(self, loader, first: int) -> None:
        self.loader, self.first, self.epoch = loader, first, 0

    def __len__(self) -> int:
        return len(self.loader)

    def __getattr__(self, name: str):
        return getattr(self.loader, name)  # labels, and whatever else fit reads off the loader

    def set_epoch(self, epoch: int, seed: int | None = None) -> None:
        self.epoch = epoch
        if hasattr(self.loader, "set_epoch"):
            self.loader.set_epoch(epoch, seed)

    def __iter__(self):
        self.epoch += 1
        return iter(()) if self.epoch <= self.first else iter(self.loader)


class ResumableEpochs(Callback):
    """The callback that saves each epoch's end in ``folder/resume.pt`` (process 0) and resumes from ``saved``.

    ``saved`` (:func:`load_resume`): before training, the weights, optimizer, schedule and this process's random state
    are put back, and the complete epochs run without batches, their history rows taken from it. ``stop_after``: stop
    (as Ctrl-C does, the run saved) after that epoch, leaving a run to resume. With several processes, ``group`` is a
    gloo group over which the random states are gathered; every process must run this callback.
    """

    def __init__(self, folder: str | Path | None, r: Recipe, saved: dict | None = None, stop_after: int | None = None,
                 rank: int = 0, world: int = 1, group=None) -> None:
        self.folder, self.recipe, self.saved, self.stop_after = folder, r, saved, stop_after
        self.rank, self.world, self.group = rank, world, group
        self.done = saved["epoch"] if saved else 0

    def before_fit(self, run) -> None:
        if not self.saved:
            return
        getattr(run.model, "module", run.model).load_state_dict(self.saved["model_state"])
        run.optimizer.load_state_dict(self.saved["optimizer_state"])
        if run.schedule is not None:
            run.schedule.load_state_dict(self.saved["schedule_state"])
        states = self.saved["random_states"]
        torch.set_rng_state(states[self.rank] if self.rank < len(states) else states[0])
        for guard in (cb for cb in run.callbacks if isinstance(cb, DivergenceGuard)):
            guard.first = self.saved.get("first_loss")  # its limit is a multiple of the run's first loss, not this one's
        run.train_iter = _FromEpoch(run.train_iter, self.done)
        run.val_iter = None if run.val_iter is None else _FromEpoch(run.val_iter, self.done)

    def after_epoch(self, run) -> None:
        if run.epoch < self.done:  # trained before: its row as it was, its batches counted on the progress bar
            run.rows[-1] = dict(self.saved["rows"][run.epoch])
            for progress in (cb for cb in run.callbacks if isinstance(cb, Progress)):
                progress.bar.update(run.batches or 0)
            return
        states = [None] * self.world
        if self.world > 1:
            dist.all_gather_object(states, torch.get_rng_state(), group=self.group)
        else:
            states = [torch.get_rng_state()]
        if self.rank == 0 and self.folder is not None:
            self._write(run, states)
        if self.stop_after is not None and run.epoch + 1 >= self.stop_after and run.epoch + 1 < run.epochs:
            self.stopped = f"--stop-after {self.stop_after}"
            raise KeyboardInterrupt(self.stopped)

    def after_fit(self, run) -> None:
        if getattr(self, "stopped", None):
            run.history.attrs["stopped_by"] = self.stopped

    def _write(self, run, states: list) -> None:
        """Write ``resume.pt``; if it cannot be (a full disk), say so once and train on: the run's own save comes last."""
        try:
            write_together({Path(self.folder) / RESUME_FILE: self._bytes(run, states)})
        except OSError as error:
            if not getattr(self, "warned", False):
                self.warned = True
                print(f"warning: epoch {run.epoch + 1} could not be saved to resume from ({error}); training goes on.",
                      file=sys.stderr, flush=True)

    def _bytes(self, run, states: list) -> bytes:
        model = getattr(run.model, "module", run.model)
        payload = {"format": _FORMAT, "recipe": _recipe_fields(self.recipe), "epoch": run.epoch + 1, "epochs": run.epochs,
                   "processes": self.world, "model_state": {k: v.detach().cpu() for k, v in model.state_dict().items()},
                   "optimizer_state": run.optimizer.state_dict(),
                   "schedule_state": None if run.schedule is None else run.schedule.state_dict(),
                   "random_states": states, "rows": [dict(row) for row in run.rows],
                   "first_loss": next((cb.first for cb in run.callbacks if isinstance(cb, DivergenceGuard)), None)}
        buffer = io.BytesIO()
        torch.save(payload, buffer)
        return buffer.getvalue()


def load_resume(run_dir: str | Path) -> dict:
    """What ``run_dir/resume.pt`` holds (read with ``weights_only=True``); a ValueError saying why it cannot resume."""
    path = Path(run_dir) / RESUME_FILE
    if not path.exists():
        raise ValueError(f"--resume {run_dir}: there is no {path}; a run saves it after each epoch and removes it once all "
                         "its epochs are done, so give the folder of a run that stopped early.")
    saved = load_weights_only(path, "cpu")
    if not isinstance(saved, dict) or saved.get("format") != _FORMAT:
        raise ValueError(f"--resume {run_dir}: {path} is not a resumable epoch of alexnet_lib ({_FORMAT!r}); use a run "
                         "folder that python -m alexnet_lib train wrote.")
    return saved


def resume_statement(saved: dict, r: Recipe, run_dir: str | Path, world: int) -> str:
    """The line that says where a resumed run continues, and how a change in the number of processes is met; a
    ValueError naming the first setting that differs from the run's.

    >>> from dataclasses import replace
    >>> from alexnet_lib.recipes import recipe
    >>> r = replace(recipe("lenet", "ci"), epochs=2)
    >>> print(resume_statement({"recipe": _recipe_fields(r), "epoch": 1, "epochs": 2, "processes": 1}, r, "runs/a", 2))
    continuing runs/a after epoch 1 of 2, on 2 processes instead of 1: the global batch stays 128 images (64 per process); process 1 starts from process 0's random state
    """
    fields, ours = saved["recipe"], _recipe_fields(r)
    differ = next((name for name in ours if ours[name] != fields.get(name)), None)
    if differ is not None:
        raise ValueError(f"--resume {run_dir}: the run was trained with {differ}={fields.get(differ)!r}, this command "
                         f"asks for {ours[differ]!r}; give the options the run was started with (and the same "
                         "ALEXNET_PROFILE, ALEXNET_MAX_IMAGES, ALEXNET_MAX_EPOCHS).")
    if saved["epoch"] >= saved["epochs"]:
        raise ValueError(f"--resume {run_dir}: the run has done all its {saved['epochs']} epochs; nothing is left to train.")
    line = f"continuing {run_dir} after epoch {saved['epoch']} of {saved['epochs']}"
    if world != saved["processes"]:
        plural = "es" if world != 1 else ""
        line += (f", on {world} process{plural} instead of {saved['processes']}: the global batch stays {r.batch_size} images "
                 f"({r.batch_size / world:g} per process)")
        new = list(range(saved["processes"], world))
        if new:
            line += (f"; process{'es' if len(new) > 1 else ''} {', '.join(map(str, new))} start{'s' if len(new) == 1 else ''} "
                     "from process 0's random state")
    return line


def remove_when_complete(folder: Path, history, epochs: int) -> None:
    """Remove ``folder/resume.pt`` once the run's history holds all ``epochs`` complete: nothing is left to resume."""
    if history is not None and not history.attrs.get("interrupted") and len(history) == epochs:
        (Path(folder) / RESUME_FILE).unlink(missing_ok=True)


@dataclass(frozen=True)
class ResumePlan:
    """Each process's :class:`ResumableEpochs`, made in the process (picklable: a launch sends it to the processes it
    starts). ``folder``: where process 0 saves; ``resume_from``: the run folder to continue, or None."""

    folder: str | None
    recipe: Recipe
    resume_from: str | None = None
    stop_after: int | None = None

    def __call__(self, rank: int = 0, world: int = 1) -> list[Callback]:
        saved = load_resume(self.resume_from) if self.resume_from else None
        group = dist.new_group(backend="gloo") if world > 1 else None  # every process makes it, in the same order
        return [ResumableEpochs(self.folder, self.recipe, saved, self.stop_after, rank, world, group)]
