"""Several processes that train one network: starting them, letting them meet, and their exchanges.

``torch.distributed`` runs one process per device. The processes meet once (a *process group*,
here over TCP on this machine), then call *collectives*: operations that every process calls
together, such as ``all_gather`` (everyone gets everyone's tensor) or ``all_reduce`` (everyone
gets the sum). The backend does the copying: ``gloo`` between CPU processes (two processes on
one laptop stand in for two GPUs), ``nccl`` between CUDA GPUs.

:func:`launch` starts ``nproc`` processes, runs a worker function in each and returns what each
returned. It never hangs: every collective has a timeout, and the processes are stopped when the
launch as a whole runs past its own. A launch with ``stoppable=True`` stops without losing what its
processes did: Ctrl-C, SIGTERM or SIGHUP to any of them asks them all (:func:`stop_asked`), and
workers that look (``parallel.ddp``'s, all at the same batch) return what they have.
:func:`exchange` is the one collective the two-GPU AlexNet needs, with its gradient: each process
contributes its half of a layer's maps and receives both halves. :class:`Traffic` counts what each
exchange sends and how long it waits.

Under ``torchrun`` the processes are already there, on one node or many: :func:`join` runs the same worker function
in this process, as one of them, meeting the others through torchrun's environment (``RANK``, ``WORLD_SIZE``,
``LOCAL_RANK``, ``MASTER_ADDR``, ``MASTER_PORT``). Any collective that waits more than ``ALEXNET_DIST_TIMEOUT``
seconds (:func:`group_timeout`) ends the run, and a process that loses another names it, by rank and host.
"""

from __future__ import annotations

import logging
import os
import re
import signal
import socket
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from multiprocessing import resource_tracker
from pathlib import Path

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

__all__ = ["DistributedError", "ENV_TIMEOUT", "Exchange", "launch", "exchange", "Traffic", "TRAFFIC", "free_port", "group_timeout",
           "join", "rank_and_world", "stop_asked", "sum_of_ranks", "torchrun_ranks", "usable_cores"]

_STOPPING = [signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])]
_STOP_FILE: Path | None = None  # in a process of a stoppable launch: the file whose existence asks it to stop
_STOP_REQUESTED: Callable[[], str | None] | None = None  # in a process that torchrun started: why it was asked to stop
ENV_TIMEOUT = "ALEXNET_DIST_TIMEOUT"


class DistributedError(RuntimeError):
    """The processes could not start, meet or finish: the message says why and what to do."""


def free_port() -> int:
    """A TCP port on 127.0.0.1 that is free now (the operating system picks it)."""
    try:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
            s.bind(("127.0.0.1", 0))
            return s.getsockname()[1]
    except OSError as error:
        raise DistributedError(f"no TCP port on 127.0.0.1 can be opened ({error}): the processes need one to meet; "
                               "check that the loopback interface is up and not blocked.") from error


def usable_cores() -> int:
    """The CPU cores this process may run on (its affinity where the system tells it, else all of the machine's).

    >>> usable_cores() >= 1
    True
    """
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def rank_and_world() -> tuple[int, int]:
    """This process's rank and the number of processes (0 and 1 outside a process group)."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def check_backend(backend: str, nproc: int) -> None:
    """Refuse, in one sentence, a backend this machine cannot run with ``nproc`` processes.

    >>> check_backend("gloo", 0)
    Traceback (most recent call last):
    ...
    alexnet_lib.parallel.distributed.DistributedError: nproc=0: use a whole number of processes >= 1.
    """
    if not isinstance(nproc, int) or isinstance(nproc, bool) or nproc < 1:
        raise DistributedError(f"nproc={nproc!r}: use a whole number of processes >= 1.")
    cores = usable_cores()
    most = max(cores, 2)  # two always run (the 2012 split has two halves), taking turns on a single core
    if backend == "gloo" and nproc > most:  # processes that share a core take turns, and each step waits for the slowest
        raise DistributedError(f"nproc={nproc}: this process may use {cores} CPU core{'s' if cores != 1 else ''}, and "
                               f"{nproc} processes would share them ({nproc / cores:.1f} to a core), each loading "
                               f"PyTorch and a copy of the model; use {most} processes or fewer.")
    if not dist.is_available() or not dist.is_backend_available(backend):
        raise DistributedError(f"this PyTorch build has no {backend!r} backend: use 'gloo' on CPUs"
                               + (" (nccl needs a CUDA build of PyTorch)." if backend == "nccl" else "."))
    if backend == "nccl" and torch.cuda.device_count() < nproc:
        raise DistributedError(f"nccl with {nproc} processes needs {nproc} CUDA GPUs; this machine has "
                               f"{torch.cuda.device_count()}: use fewer processes or --device cpu (gloo).")


@dataclass
class Traffic:
    """What the exchanges of this process sent, and how long it waited in them, by exchange name."""

    sent: dict[str, int] = field(default_factory=dict)
    seconds: dict[str, float] = field(default_factory=dict)

    def add(self, name: str, nbytes: int, seconds: float) -> None:
        self.sent[name] = self.sent.get(name, 0) + nbytes
        self.seconds[name] = self.seconds.get(name, 0.0) + seconds

    def clear(self) -> None:
        self.sent.clear(), self.seconds.clear()

    @property
    def total_seconds(self) -> float:
        return sum(self.seconds.values())


TRAFFIC = Traffic()  # this process's record; each process has its own


class Exchange(torch.autograd.Function):
    """Forward: all-gather the halves along ``dim``. Backward: send each half's gradient home and sum."""

    @staticmethod
    def forward(ctx, x: torch.Tensor, dim: int, name: str) -> torch.Tensor:
        rank, world = rank_and_world()
        ctx.dim, ctx.rank, ctx.world, ctx.name = dim, rank, world, name
        start = time.perf_counter()
        parts = [torch.empty_like(x) for _ in range(world)]
        dist.all_gather(parts, x.contiguous())
        TRAFFIC.add(f"{name} forward", x.numel() * x.element_size() * (world - 1), time.perf_counter() - start)
        return torch.cat(parts, dim)

    @staticmethod
    def backward(ctx, grad: torch.Tensor):
        start = time.perf_counter()
        # My copy of every process's half has a gradient here; the owner of each half needs them all.
        pieces = torch.stack(grad.chunk(ctx.world, ctx.dim)).contiguous()
        received = torch.empty_like(pieces)
        dist.all_to_all_single(received, pieces)  # piece r goes to process r; I receive my half from each
        mine = received.sum(0)
        TRAFFIC.add(f"{ctx.name} backward", mine.numel() * mine.element_size() * (ctx.world - 1),
                    time.perf_counter() - start)
        return mine, None, None


def exchange(x: torch.Tensor, dim: int = 1, name: str = "exchange") -> torch.Tensor:
    """Every process's ``x`` side by side along ``dim`` (in rank order), with gradients flowing home.

    Outside a process group (one process) it returns ``x`` itself. The backward pass sends each
    process the gradients that the others computed for its half, and sums them: the exact
    gradient, as if one process had held both halves.
    """
    if rank_and_world()[1] == 1:
        return x
    return Exchange.apply(x, dim, name)


def sum_of_ranks() -> float:
    """A first worker for :func:`launch`: each process contributes its rank; ``all_reduce`` sums them."""
    total = torch.tensor([float(dist.get_rank())])
    dist.all_reduce(total)  # every process receives 0 + 1 + ... + (world size - 1)
    return total.item()


def _entry(rank: int, worker: Callable, nproc: int, port: int, backend: str, folder: str, args: tuple,
           timeout_s: float, stoppable: bool) -> None:
    """One process: meet the others, run ``worker(*args)``, save what it returns, leave the group.

    It starts with Ctrl-C, SIGTERM and SIGHUP blocked (:func:`launch`); Ctrl-C stays blocked (the launching process
    answers it). In a stoppable launch SIGTERM and SIGHUP ask every process to stop; otherwise they end this one.
    """
    global _STOP_FILE
    if stoppable:
        _STOP_FILE = Path(folder) / "stop"
        for signum in _STOPPING[1:]:
            signal.signal(signum, lambda signum, frame: _ask_to_stop(folder, signal.Signals(signum).name))
    _sigmask(signal.SIG_UNBLOCK, _STOPPING[1:])
    torch.set_num_threads(max(1, (os.cpu_count() or 1) // nproc))
    if backend == "nccl":
        torch.cuda.set_device(rank)
    dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=nproc,
                            timeout=timedelta(seconds=timeout_s))
    try:
        result = worker(*args)
        torch.save(result, Path(folder) / f"rank{rank}.pt")
    except BaseException as error:  # noted at once, with the time: the first error is the cause, the rest follow
        (Path(folder) / f"rank{rank}.error").write_text(f"{time.time()!r}\n{type(error).__name__}: {error}")
        raise
    finally:
        dist.destroy_process_group()


def _ask_to_stop(folder: str | Path, why: str) -> None:
    """Ask the processes of a stoppable launch to stop: write ``why`` into its stop file (whole, by a rename)."""
    partial = Path(folder) / f"stop.{os.getpid()}"
    partial.write_text(why)
    os.replace(partial, Path(folder) / "stop")


def stop_asked() -> str | None:
    """In a process of a stoppable :func:`launch`: why the processes were asked to stop ('Ctrl-C', 'SIGTERM', ...),
    or None. A worker that looks after each step must agree with the others on when to stop (``parallel.ddp`` does)."""
    if _STOP_REQUESTED is not None:
        return _STOP_REQUESTED()
    try:
        return _STOP_FILE.read_text() if _STOP_FILE is not None else None
    except FileNotFoundError:
        return None


def _last_line(error: BaseException) -> str:
    """The last non-empty line of a child process's traceback: its error, in one line."""
    text = getattr(error, "msg", None) or str(error)
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else type(error).__name__


def _failure(killed: dict[int, int], folder: str, nproc: int, error: Exception) -> str:
    """What ended a launch, in one sentence: a process killed by a signal (the others fail after it), else the first error.

    ``killed``: the processes a signal had ended before torch's join ended the rest with SIGTERM (see :func:`_wait`).
    """
    if isinstance(error, mp.ProcessExitedException) and error.exit_code < 0:
        killed = {error.error_index: error.exit_code, **killed}
    if killed:
        rank = min(killed)
        code = killed[rank]
        return (f"process {rank} of {nproc} was killed by {signal.Signals(-code).name} (by the system? out of memory?); "
                "the others were stopped.")
    if isinstance(error, mp.ProcessExitedException):
        return f"process {error.error_index} of {nproc} ended with exit code {error.exit_code}; the others were stopped."
    rank, message = _first_error(folder, error.error_index, _last_line(error))
    return f"process {rank} of {nproc} failed: {message}"


def _sigmask(how: int, signals) -> set:
    """``signal.pthread_sigmask``, where there is one (not on Windows: there nothing is blocked)."""
    return signal.pthread_sigmask(how, signals) if hasattr(signal, "pthread_sigmask") else set()


def _first_error(folder: str, rank: int, message: str) -> tuple[int, str]:
    """The process that failed first and its error: when one fails, the others' exchanges fail after it."""
    noted = []
    for path in Path(folder).glob("rank*.error"):
        when, text = path.read_text().split("\n", 1)
        noted.append((float(when), int(path.stem.removeprefix("rank")), " ".join(text.split())))
    return min(noted)[1:] if noted else (rank, message)


def launch(worker: Callable, nproc: int, args: tuple = (), *, backend: str = "gloo", timeout_s: float = 120.0,
           stoppable: bool = False, stop_requested: Callable[[], str | None] | None = None) -> list:
    """Run ``worker(*args)`` in ``nproc`` new processes of one process group; return their results by rank.

    ``worker`` must be a module-level function (the processes are *spawned*: each imports it
    afresh); it may call collectives. Each collective times out after ``timeout_s`` seconds, and
    the launch stops every process when it runs past ``3 * timeout_s`` in all. An error in any
    process ends them all and raises :class:`DistributedError` with that process's message.

    ``stoppable=True``: the workers look at :func:`stop_asked` and return early when asked. Ctrl-C here
    (``KeyboardInterrupt``), ``stop_requested()`` returning a reason (polled five times a second), or SIGTERM or SIGHUP
    to a process asks them, and the launch waits up to ``timeout_s`` more for their results. Otherwise Ctrl-C
    ends the processes at once.
    """
    check_backend(backend, nproc)
    stop_requested = stop_requested or (lambda: None)
    if stoppable and stop_requested():  # asked before any process started: nothing to wait for
        raise KeyboardInterrupt(stop_requested())
    port = free_port()
    with tempfile.TemporaryDirectory(prefix="alexnet-dist-") as folder:
        if hasattr(signal, "pthread_sigmask"):  # started inside start_processes, it would unblock Ctrl-C and SIGTERM
            resource_tracker.ensure_running()
        before = _sigmask(signal.SIG_BLOCK, _STOPPING)  # the processes start with these blocked: see _entry
        try:
            context = mp.start_processes(_entry, args=(worker, nproc, port, backend, folder, args, timeout_s, stoppable),
                                         nprocs=nproc, join=False, start_method="spawn")
        finally:
            _sigmask(signal.SIG_SETMASK, before)
        torch_log = logging.getLogger("torch.multiprocessing.spawn")  # its "Terminating process" repeats our sentence
        level = torch_log.level
        torch_log.setLevel(logging.ERROR)
        killed: dict[int, int] = {}
        try:
            _wait(context, nproc, timeout_s, folder if stoppable else None, stop_requested, killed)
        except (mp.ProcessRaisedException, mp.ProcessExitedException) as error:
            raise DistributedError(_failure(killed, folder, nproc, error)) from None
        finally:
            torch_log.setLevel(level)
            for process in context.processes:
                if process.is_alive():
                    process.kill()
                process.join(5)
        return [torch.load(Path(folder) / f"rank{r}.pt", weights_only=False) for r in range(nproc)]


def _wait(context, nproc: int, timeout_s: float, stop_folder: str | None, stop_requested: Callable[[], str | None],
          killed: dict[int, int]) -> None:
    """Wait for the processes to end; ask them to stop (``stop_folder``: a stoppable launch) on Ctrl-C or when
    ``stop_requested()`` gives a reason, and give up ``timeout_s`` after that, or ``3 * timeout_s`` after the start.

    Before each look it notes in ``killed`` the processes a signal has ended: once one process fails, torch's join
    ends the others with SIGTERM, and those must not be taken for the cause.
    """
    deadline, asked = time.monotonic() + 3 * timeout_s, None
    while True:
        try:
            killed.update({rank: p.exitcode for rank, p in enumerate(context.processes)
                           if not p.is_alive() and p.exitcode < 0})
            if context.join(timeout=0.2):
                return
            why = stop_requested() if stop_folder and not asked else None
        except KeyboardInterrupt as stop:
            if not stop_folder or asked:
                raise
            why = str(stop) or "Ctrl-C"
        if why:
            asked = why
            _ask_to_stop(stop_folder, why)
            deadline = min(deadline, time.monotonic() + timeout_s)
        if time.monotonic() > deadline:
            raise DistributedError(
                f"the {nproc} processes did not stop within {timeout_s:.0f} s of {asked} and were ended; nothing was saved."
                if asked else f"the {nproc} processes did not finish within {3 * timeout_s:.0f} s and were stopped: "
                "a process may be waiting for another that failed.")


def torchrun_ranks(environ: dict[str, str] | None = None) -> tuple[int, int, int] | None:
    """``(rank, world size, local rank)`` of this process when torchrun started it (its ``RANK``, ``WORLD_SIZE`` and
    ``LOCAL_RANK``), else None.

    >>> torchrun_ranks({"RANK": "3", "WORLD_SIZE": "4", "LOCAL_RANK": "1"}), torchrun_ranks({})
    ((3, 4, 1), None)
    """
    env = os.environ if environ is None else environ
    if "RANK" not in env or "WORLD_SIZE" not in env:
        return None
    try:
        return int(env["RANK"]), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", "0"))
    except ValueError:
        raise DistributedError(f"RANK={env['RANK']!r}, WORLD_SIZE={env['WORLD_SIZE']!r}, LOCAL_RANK={env.get('LOCAL_RANK')!r}: "
                               "torchrun sets these to whole numbers; unset them to train in one process.") from None


def group_timeout(default: float, environ: dict[str, str] | None = None) -> float:
    """How many seconds a collective may wait for the others: ``ALEXNET_DIST_TIMEOUT`` if set, else ``default``.

    >>> group_timeout(300.0, {}), group_timeout(300.0, {"ALEXNET_DIST_TIMEOUT": "20"})
    (300.0, 20.0)
    """
    text = (os.environ if environ is None else environ).get(ENV_TIMEOUT, "").strip()
    try:
        seconds = float(text) if text else default
    except ValueError:
        seconds = -1.0
    if not seconds > 0:
        raise DistributedError(f"{ENV_TIMEOUT}={text!r}: give the seconds a process may wait for the others, e.g. 300.")
    return seconds


def join(worker: Callable, args: tuple = (), *, backend: str = "gloo", timeout_s: float = 300.0,
         stop_requested: Callable[[], str | None] | None = None):
    """Run ``worker(*args)`` in this process, one of those torchrun started; return what it returns.

    The process meets the others through torchrun's environment (``env://``), with ``timeout_s`` for every collective,
    and leaves the group after. ``stop_requested`` answers :func:`stop_asked` (the command line's signals). An error in
    the worker becomes a :class:`DistributedError` that names this process (rank, host); one that comes from losing
    another process (its connection closed, or a collective timed out) names that one too.
    """
    global _STOP_REQUESTED
    rank, world, local_rank = torchrun_ranks()
    here = f"rank {rank} of {world} ({socket.gethostname()})"
    if backend == "nccl":
        torch.cuda.set_device(local_rank)
    try:
        dist.init_process_group(backend, init_method="env://", timeout=timedelta(seconds=timeout_s))
    except Exception as error:
        raise DistributedError(f"{here} could not meet the others at {os.environ.get('MASTER_ADDR')}:"
                               f"{os.environ.get('MASTER_PORT')} ({_last_line(error)}); check that every node was started "
                               "with the same --rdzv-endpoint and --nnodes.") from error
    _STOP_REQUESTED, hosts = stop_requested or (lambda: None), [None] * world
    try:
        dist.all_gather_object(hosts, socket.gethostname())  # to name a process that is lost
        return worker(*args)
    except DistributedError:
        raise
    except Exception as error:
        raise DistributedError(_lost(error, rank, hosts, timeout_s) or f"{here}: {_last_line(error)}") from error
    finally:
        _STOP_REQUESTED = None
        dist.destroy_process_group()


def _lost(error: BaseException, rank: int, hosts: list, timeout_s: float) -> str | None:
    """What a failed exchange says about the process that was lost, in one sentence; None for any other error.

    >>> _lost(RuntimeError("Read error [10.0.0.2]:1234: Connection reset by peer"), 0, ["a", "b"], 30)
    'rank 0 of 2 (a) lost rank 1 of 2 (b): its connection closed (Connection reset by peer); that node or its process ended: see its own message, then continue with --resume.'
    >>> _lost(RuntimeError("Socket Timeout"), 1, ["a", "b"], 300)
    'rank 1 of 2 (b) lost rank 0 of 2 (a): it sent nothing for 300 s (ALEXNET_DIST_TIMEOUT): it hangs or its node is unreachable; stop it if it runs, then continue with --resume.'
    """
    text = str(error)
    closed = re.search(r"Connection (closed|reset)[^.]*|Broken pipe", text)
    timed_out = re.search(r"[Tt]imed? ?out", text)
    if not (closed or timed_out) or None in hosts:
        return None
    others = [f"rank {r} of {len(hosts)} ({host})" for r, host in enumerate(hosts) if r != rank]
    who = others[0] if len(others) == 1 else "one of " + ", ".join(others)
    why = (f"its connection closed ({closed[0]}); that node or its process ended: see its own message" if closed else
           f"it sent nothing for {timeout_s:g} s ({ENV_TIMEOUT}): it hangs or its node is unreachable; stop it if it runs")
    return f"rank {rank} of {len(hosts)} ({hosts[rank]}) lost {who}: {why}, then continue with --resume."
