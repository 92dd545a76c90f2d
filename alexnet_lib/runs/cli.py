"""The command line: ``python -m alexnet_lib COMMAND``.

Each command is a small function that prints; ``main`` only parses arguments and turns the
errors a user can fix into one line, ``error: ...``. Run ``python -m alexnet_lib --help``
for the list.

Exit status: 0 done; 1 ``doctor --require-data`` found no usable Fashion-MNIST; 2 an error the user can
fix (settings, data missing or damaged, a device that is not there, a model whose classes do not fit the data,
an output folder that cannot take the run, a diverged training, not enough memory); 130, 143, 129 stopped by
Ctrl-C, SIGTERM, SIGHUP (128 + the signal's number), after saving what was trained (:mod:`.training_run`).
Errors that are the library's own (the classes it defines) and ``ValueError`` are shown as one line;
``--traceback`` or ``ALEXNET_TRACEBACK=1`` shows the full trace as well. Anything else is a bug and shows
its traceback.
"""

from __future__ import annotations

import argparse
import difflib
import math
import os
import sys
import textwrap
import traceback
import warnings

from ..config import is_true, shape_text
from ..course.explain import explain_conv_output
from .doctor import doctor_command
from .training_run import (Signals, checked_device, claim_and_plan, error_after, exit_status, is_out_of_memory, out_of_memory_text,
                           processes_and_rank, recipe_from_options, save_and_print, tell_torchrun, train_keeping_epochs)

ENV_TRACEBACK = "ALEXNET_TRACEBACK"

# The commands import torch, torchvision and the modules built on them inside their functions, on
# purpose (each such import says "deferred"): `python -m alexnet_lib --help` then answers at once,
# and a Ctrl-C during start-up gets its one-line answer instead of a traceback from `import torch`.


def _parse_input_size(text: str) -> tuple[int, ...]:
    """``'3,224,224'`` (or ``3x224x224``) as ``(3, 224, 224)``, for argparse."""
    try:
        size = tuple(int(v) for v in text.replace("x", ",").replace("×", ",").split(","))
    except ValueError:
        size = ()
    if not size or min(size) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a size: write channels,height,width such as 3,224,224")
    return size


def _at_least_one(text: str) -> int:
    """A whole number >= 1 (epochs, batch, processes, steps), for argparse."""
    value = int(text) if text.strip().isdigit() else 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number >= 1")
    return value


def _learning_rate(text: str) -> float:
    """A positive, finite learning rate, for argparse."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and value > 0):
        raise argparse.ArgumentTypeError(f"{text!r} is not a learning rate: give a positive number such as 0.01")
    return value


def _parse_padding(text: str) -> int | tuple[int, int] | str:
    """``'2'``, ``'1,2'`` (before, after), ``'same'`` or ``'valid'``, for argparse."""
    if text.strip().lower() in ("same", "valid"):
        return text.strip().lower()
    try:
        values = tuple(int(v) for v in text.split(","))
    except ValueError:
        values = ()
    if len(values) not in (1, 2):
        raise argparse.ArgumentTypeError(f"{text!r} is not a padding: write a number, before,after, same or valid")
    return values[0] if len(values) == 1 else values


def _torchvision_model(name: str, classes: int | None) -> tuple[object, tuple[int, ...]]:
    """A torchvision classification model (random weights) and the input size its weights were trained on."""

    import torchvision  # deferred: loads torch

    names = torchvision.models.list_models(module=torchvision.models)
    if name not in names:
        close = difflib.get_close_matches(name, names, n=4, cutoff=0.5)
        hint = f"; did you mean {', '.join('torchvision:' + c for c in close)}?" if close else ""
        raise ValueError(
            f"torchvision has no classification model named {name!r}{hint} "
            f"(`python -m alexnet_lib summary --list` lists all {len(names)})."
        )
    kwargs = {} if classes is None else {"num_classes": classes}
    with warnings.catch_warnings():  # googlenet and inception_v3 warn that their initialisation will change
        warnings.simplefilter("ignore", FutureWarning)
        model = torchvision.models.get_model(name, weights=None, **kwargs)
    side = 224
    try:  # the crop its published weights were evaluated at: 299 for inception_v3
        side = int(torchvision.models.get_model_weights(name).DEFAULT.transforms.keywords["crop_size"])
    except (AttributeError, KeyError, TypeError, ValueError):
        pass
    return model, (3, side, side)


def _registered_model(
    name: str, classes: int | None, input_size: tuple[int, ...] | None
) -> tuple[object, tuple[int, ...]]:
    """A model from :mod:`alexnet_lib.models`, built for ``input_size`` where its builder allows."""
    import torchvision  # deferred: loads torch

    from .. import models  # deferred: loads torch

    if name not in models.list_models():
        hint = f"; for torchvision's, write torchvision:{name}" if name in torchvision.models.list_models() else ""
        raise ValueError(
            f"no model named {name!r}{hint}. Registered models: {', '.join(models.list_models()) or 'none'}; "
            f"or any torchvision classification model as torchvision:NAME (e.g. torchvision:vgg11)."
        )
    kwargs = {} if classes is None else {"num_classes": classes}
    model = models.get(name, **kwargs)
    natural = getattr(model, "input_size", None)
    if input_size is None or natural is None or tuple(input_size) == tuple(natural):
        return model, tuple(input_size or natural or (3, 224, 224))
    extra = {}
    if len(input_size) == 3 and input_size[1] == input_size[2] and input_size[1:] != tuple(natural[1:]):
        extra["input_size"] = input_size[1]
    if input_size[0] != natural[0]:
        extra["in_channels"] = input_size[0]
    if extra:  # rebuild it for that input (its fully connected layers depend on the size)
        try:
            model = models.get(name, **kwargs, **extra)
        except ValueError as exc:
            raise ValueError(
                f"{name} is built for {shape_text(natural)} inputs and cannot be built for {shape_text(input_size)}: {exc}"
            ) from exc
    return model, tuple(input_size)


def _summary_model(model_name: str, input_size: tuple[int, ...] | None, classes: int | None) -> tuple[object, tuple[int, ...]]:
    """The model that ``summary`` shows (``torchvision:NAME`` or a registered one) and its input size."""
    if model_name.startswith("torchvision:"):
        model, natural = _torchvision_model(model_name.removeprefix("torchvision:"), classes)
        return model, tuple(input_size or natural)
    return _registered_model(model_name, classes, input_size)


def summary_report(
    model_name: str,
    input_size: tuple[int, ...] | None = None,
    classes: int | None = None,
    batch_size: int = 1,
    optimizer: str | None = None,
    width: int = 80,
) -> str:
    """The layer table of a model as text, and its training memory when ``optimizer`` is given.

    ``model_name`` is a name from :func:`alexnet_lib.models.list_models` or ``torchvision:NAME``.
    Without ``input_size`` the model's own ``input_size`` attribute is used (torchvision's:
    the image size its weights were trained on).

    >>> print(summary_report("torchvision:alexnet").splitlines()[-3])
    total                                       61,100,840  714,188,480
    """
    import torch  # deferred: loads torch

    from ..course.memory import check_fits, format_training_memory, memory_estimate, training_memory  # deferred: loads torch
    from ..course.tables import format_layer_table, layer_table  # deferred: loads torch

    try:
        with torch.device("meta"):  # shapes only, nothing allocated: first check that the model and its outputs fit
            model, size = _summary_model(model_name, input_size, classes)
        check_fits(memory_estimate(model, size, 4 if optimizer else 1), "cpu",  # training_memory measures batches of 4
                   f"{model_name} built for {shape_text(size)} inputs", "use a smaller --input")
    except NotImplementedError:  # a model that reads its weights while it is built (RegNet) cannot be built on meta
        pass
    model, size = _summary_model(model_name, input_size, classes)
    text = format_layer_table(layer_table(model, size, batch_size=batch_size), width=width)
    if optimizer is not None:
        memory = training_memory(model, size, batch_size=batch_size, optimizer=optimizer)
        text += "\n\n" + format_training_memory(memory, width=width)
    return text


def _model_list() -> str:
    import torchvision  # deferred: loads torch

    from .. import models  # deferred: loads torch

    names = torchvision.models.list_models(module=torchvision.models)
    def wrapped(items: list[str]) -> list[str]:
        return textwrap.wrap(", ".join(items), 78, initial_indent="  ", subsequent_indent="  ")

    lines = ["alexnet_lib models:", *wrapped(models.list_models())]
    lines += ["torchvision classification models (write torchvision:NAME):", *wrapped(names)]
    return "\n".join(lines)


def _summary(args: argparse.Namespace) -> int:
    if args.list:
        print(_model_list())
        return 0
    if args.model is None:
        raise ValueError("name a model, e.g. `python -m alexnet_lib summary alexnet_2012`, or list them with --list.")
    print(summary_report(args.model, args.input, args.classes, args.batch, args.optimizer, args.width))
    return 0


def _conv_out(args: argparse.Namespace) -> int:
    if args.ceil and not args.pool:
        raise ValueError("--ceil is a pooling option (PyTorch's Conv2d has no ceil_mode); add --pool.")
    s = args.s if args.s is not None else (None if args.pool else 1)
    print(explain_conv_output(args.n, args.k, s, args.p, args.d, ceil_mode=args.ceil, pool=args.pool))
    return 0


def _train(args: argparse.Namespace) -> int:
    """Train by the recipe (:func:`alexnet_lib.recipes.train_recipe`), save the history and weights, print them.

    In this order, so that nothing is loaded or trained in vain: the settings are checked and the recipe
    built, the output folder checked and claimed, the device, the processes and the memory checked; then the data
    are loaded and verified, the model's classes checked against the labels, and the model trained. A run that
    stops early (a signal, a diverging loss, out of memory) saves what was trained (:mod:`alexnet_lib.runs.training_run`),
    and each epoch's end to ``--resume`` from (:mod:`alexnet_lib.runs.resume`). Under torchrun rank 0 alone saves.
    """
    from .resume import ResumePlan  # deferred: loads torch

    r = recipe_from_options(args)
    nproc, rank = processes_and_rank(args.nproc)
    if args.data != "fashion-mnist":  # another data set: an image folder (issue 28)
        from ..datasets.imagefolder import recipe_on_folder  # deferred: loads torch

        r = recipe_on_folder(r, args.data)
    args.signals.hold()  # a signal while the folder is claimed is answered once the claim can be released
    run, line = claim_and_plan(args, r, rank, nproc)
    history = folder = stopped_by = None
    try:
        args.signals.resume()
        device = checked_device(r, args.device, nproc)
        if line:
            print(line, flush=True)
        plan = ResumePlan(str(run.path) if run else None, r, args.resume, args.stop_after)
        model, history, failure = train_keeping_epochs(r, device, nproc, args.signals, plan)
        if hasattr(r, "scores") and failure is None and history is not None and not history.attrs["interrupted"]:
            history.attrs.update(r.scores(model, device))  # an image folder's top-1 and top-5, saved with the history
        if history is not None:  # rank 0
            folder, stopped_by = save_and_print(run, r, args, model, history, nproc)
    finally:
        if run:
            run.release()
    if failure is not None:
        raise error_after(failure, r, history, folder)
    return exit_status(stopped_by) if stopped_by and not stopped_by.startswith("--stop-after") else 0


def _parallel(args: argparse.Namespace) -> int:
    """Run the model- or data-parallel check in new processes; print equality, bytes and time per step."""
    from ..parallel import two_gpu as parallel  # deferred: loads torch

    if args.mode == "model":
        if args.nproc != 2:
            raise ValueError(f"--nproc {args.nproc}: the 2012 split has two halves, so --mode model needs --nproc 2.")
        if args.device == "cuda":
            raise ValueError("--mode model runs on CPU processes (gloo) only: leave out --device.")
        batch = args.batch or 8
        text, passed = parallel.model_parallel_report(parallel.run_model_parallel(args.steps, batch, args.timeout), batch)
    else:
        batch = args.batch or 128
        results = parallel.run_data_parallel(args.nproc, args.steps, batch, args.model, args.timeout,
                                             backend="nccl" if args.device == "cuda" else "gloo")
        text, passed = parallel.data_parallel_report(results, args.model, batch)
    print(text)
    return 0 if passed else 1


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m alexnet_lib",
        description="Tools of the LeNet -> AlexNet course.",
    )
    trace_help = f"on an error, show the full Python traceback too (or set {ENV_TRACEBACK}=1)"
    parser.add_argument("--traceback", action="store_true", help=trace_help)
    common = argparse.ArgumentParser(add_help=False)  # --traceback after the command too, without resetting it
    common.add_argument("--traceback", action="store_true", default=argparse.SUPPRESS, help=trace_help)
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    for add in (_add_doctor, _add_summary, _add_conv_out, _add_train, _add_parallel):
        add(commands, common)
    return parser


def _command(commands: argparse._SubParsersAction, common: argparse.ArgumentParser, name: str, run, *,
             help: str, description: str) -> argparse.ArgumentParser:
    """A sub-command ``name`` that runs ``run(args)``, with the options every command has."""
    parser = commands.add_parser(name, parents=[common], help=help, description=description)
    parser.set_defaults(run=run)
    return parser


def _add_doctor(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The ``doctor`` command."""
    doctor = _command(
        commands, common, "doctor", doctor_command,
        help="print versions, device, profile, data root and whether Fashion-MNIST is there and whole",
        description="Print Python, torch, torchvision and d2l versions, the device, the run profile, "
        "the data root and the Fashion-MNIST image counts, after checking the files (headers, sizes, labels, "
        "and the md5 of torchvision's archives where they are there).",
    )
    doctor.add_argument("--download", action="store_true", help="download Fashion-MNIST if it is missing (needs internet)")
    doctor.add_argument("--require-data", action="store_true",
                        help="exit with status 1 when Fashion-MNIST is missing or fails a check")


def _add_summary(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The ``summary`` command."""
    summary = _command(
        commands, common, "summary", _summary,
        help="print a model's layer table: output shapes, parameters, MACs, receptive fields",
        description="Print one row per layer of MODEL (an alexnet_lib model or torchvision:NAME): output shape, "
        "parameters, multiply-accumulates, receptive field; with --optimizer also the memory one training step needs.",
    )
    summary.add_argument("model", nargs="?", metavar="MODEL", help="e.g. alexnet_2012, lenet5_1998, torchvision:vgg11")
    summary.add_argument("--input", type=_parse_input_size, metavar="C,H,W",
                         help="input size without the batch (default: the model's own, else 3,224,224)")
    summary.add_argument("--classes", type=int, metavar="N", help="number of output classes (default: the model's)")
    summary.add_argument("--batch", type=int, default=1, metavar="N",
                         help="batch size for the memory figures (default 1)")
    summary.add_argument("--optimizer", choices=["sgd", "momentum", "adam", "adamw"],
                         help="also print the training memory with this optimizer")
    summary.add_argument("--width", type=int, default=80, help="the widest line to print (default 80)")
    summary.add_argument("--list", action="store_true", help="list the model names and exit")


def _add_conv_out(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The ``conv-out`` command."""
    conv_out = _command(
        commands, common, "conv-out", _conv_out,
        help="work out a convolution's or pooling layer's output size step by step",
        description="Print the output-size computation floor((n + 2p - d(k-1) - 1) / s) + 1, worked step by step.",
    )
    conv_out.add_argument("--n", type=int, required=True, help="input size (pixels along one dimension)")
    conv_out.add_argument("--k", type=int, required=True, help="kernel size")
    conv_out.add_argument("--s", type=int, help="stride (default 1; for --pool the kernel size)")
    conv_out.add_argument("--p", type=_parse_padding, default=0, metavar="P",
                          help="padding: a number, BEFORE,AFTER, same or valid (default 0)")
    conv_out.add_argument("--d", type=int, default=1, help="dilation (default 1)")
    conv_out.add_argument("--pool", action="store_true", help="a pooling layer (PyTorch's padding limit applies)")
    conv_out.add_argument("--ceil", action="store_true", help="ceil_mode=True, as pooling layers allow")


def _add_train(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The ``train`` command."""
    train = _command(
        commands, common, "train", _train,
        help="train a model by its recipe, print the history and save it with a checkpoint",
        description="Train MODEL on Fashion-MNIST (or --data) with the recipe of the profile (alexnet_lib.recipes), show a "
        "progress bar, print the history table and save history.csv and checkpoint.pt in --out "
        "(a new folder by default; a folder that holds a run is refused unless --force).",
    )
    train.add_argument("model", metavar="MODEL", help="e.g. lenet, alexnet_cpu, alexnet_d2l")
    train.add_argument("--epochs", type=_at_least_one, metavar="N", help="number of epochs (default: the recipe's)")
    train.add_argument("--batch", type=_at_least_one, metavar="N", help="images per batch (default: the recipe's)")
    train.add_argument("--lr", type=_learning_rate, metavar="RATE",
                       help="the learning rate, the peak of a one-cycle schedule (default: the recipe's)")
    train.add_argument("--profile", choices=["ci", "cpu", "gpu"], help="run profile (default: the active one)")
    train.add_argument("--out", metavar="DIR", help="where to save (default: a new runs/MODEL-<date>-<time>-<suffix>)")
    train.add_argument("--force", action="store_true", help="save into --out even if it holds a run (replacing it)")
    train.add_argument("--device", help="cuda, cuda:N, mps or cpu (default: the best available)")
    train.add_argument("--seed", type=int, default=0, help="seed of the weights, shuffling and dropout (default 0)")
    train.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="a model argument, e.g. --set activation=sigmoid (repeatable)")
    train.add_argument("--data", default="fashion-mnist", metavar="DATA", help="fashion-mnist (the default), or "
                       "imagefolder:PATH, with images in PATH/train/CLASS/ and PATH/val/CLASS/ (Krizhevsky et al.'s pipeline)")
    train.add_argument("--nproc", type=_at_least_one, default=1, metavar="N", help="train on N processes of this machine with "
                       "DistributedDataParallel, gloo on CPU, one GPU each on CUDA (default 1; on many nodes: torchrun)")
    train.add_argument("--resume", metavar="RUN_DIR", help="continue the run in RUN_DIR after its last complete epoch "
                       "(give the options it was started with; it saves there unless --out)")
    train.add_argument("--stop-after", type=_at_least_one, metavar="N", help="stop after epoch N, to --resume later")


def _add_parallel(commands: argparse._SubParsersAction, common: argparse.ArgumentParser) -> None:
    """The ``parallel`` command."""
    parallel = _command(
        commands, common, "parallel", _parallel,
        help="AlexNet split over processes as in 2012 (model) or replicated as today (data): equality, bytes, time",
        description="Start NPROC processes (torch.distributed, gloo on CPU or nccl on CUDA), check that they compute "
        "what one process computes, and print the bytes they exchange and the time per step. Exit status 1 if the "
        "check fails.",
    )
    parallel.add_argument("--mode", choices=["model", "data"], required=True,
                          help="model: the 2012 two-GPU split; data: DistributedDataParallel replicas")
    parallel.add_argument("--nproc", type=_at_least_one, default=2, metavar="N", help="number of processes (default 2)")
    parallel.add_argument("--steps", type=_at_least_one, default=2, metavar="N", help="training steps to time (default 2)")
    parallel.add_argument("--batch", type=_at_least_one, metavar="N", help="images per step, all processes together "
                          "(default 8 for model, 128 for data)")
    parallel.add_argument("--model", default="alexnet_cpu", help="the replicated model for --mode data (default alexnet_cpu)")
    parallel.add_argument("--device", choices=["cpu", "cuda"], default="cpu", help="cpu (gloo) or cuda (nccl; data mode)")
    parallel.add_argument("--timeout", type=float, default=120.0, metavar="S",
                          help="seconds any exchange may wait before the run stops with an error (default 120)")


def _is_users_to_fix(exc: BaseException) -> bool:
    """ValueError (bad settings) and the library's own errors (data, device, run folder, divergence): no traceback.

    >>> _is_users_to_fix(ValueError("x")), _is_users_to_fix(KeyError("x"))
    (True, False)
    """
    return isinstance(exc, ValueError) or type(exc).__module__.split(".")[0] == "alexnet_lib"


def _error(message: object, status: int, show_traceback: bool) -> int:
    """Print ``error: message`` on one line (after the traceback if asked for); return the exit status."""
    if show_traceback:
        traceback.print_exc()
    print("error: " + tell_torchrun(" ".join(str(message).split())), file=sys.stderr)
    return status


def main(argv: list[str] | None = None, *, exits_next: bool = False) -> int:
    """Run the command ``argv`` (default: the program's arguments); return the exit status. ``exits_next``: the
    program ends when this returns, so later signals are ignored (``python -m alexnet_lib``)."""
    show_traceback = is_true(os.environ.get(ENV_TRACEBACK))
    with Signals(restore=not exits_next) as signals:  # Ctrl-C, SIGTERM and SIGHUP: see alexnet_lib.runs.training_run
        try:
            args = build_parser().parse_args(argv)
            show_traceback, args.signals = show_traceback or args.traceback, signals
            return args.run(args)
        except KeyboardInterrupt as stop:  # before training (training itself stops cleanly and returns)
            name = str(stop) or "Ctrl-C"
            what = ("before training started; nothing was trained or saved" if signals.phase in ("starting", "distributed")
                    else "before what was trained could be saved; nothing was saved")
            return _error(f"interrupted by {name} {what}.", exit_status(name), show_traceback)
        except Exception as exc:
            if is_out_of_memory(exc):
                return _error(f"{out_of_memory_text(exc)}; use a smaller batch, input or model.", 2, show_traceback)
            if not _is_users_to_fix(exc):
                raise
            return _error(exc, 2, show_traceback)


if __name__ == "__main__":
    sys.exit(main())
