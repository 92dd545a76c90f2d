"""Claims, the checks that test them, and the verdict that follows: the machinery of a fact check.

A :class:`Claim` is one statement of a source (a blog post, a tutorial), paraphrased, with a
function that gathers its evidence: a list of :class:`Check` (what was claimed, what was
found) and a note. A check's ``found`` is one of three kinds, and the table says which:

- **computed**: read off the models, torchvision, PyTorch or the shape arithmetic;
- **published**: a figure, name or date a paper prints, taken from :data:`PUBLISHED` with its
  source (a date, a competition result: code cannot compute those);
- **judgement**: our reading of a paper or a post, written by hand with its citation
  (:meth:`Check.judged`, or a :class:`Published` of kind ``"judgement"``). Such a check is
  only as good as the reading; the table marks it so that nobody takes it for a computation.

:func:`verdict` derives the verdict from the checks, so different evidence gives a different
verdict; where the evidence includes a judgement, so does the verdict.

>>> checks = [Check("conv1 outputs", 55, 55), Check("(224 - 11) / 4 + 1", 55, 54.25)]
>>> verdict(checks), verdict(checks[:1]), verdict(checks[1:]), verdict([])
('half right', 'right', 'wrong', 'unverifiable')
"""

from __future__ import annotations

import textwrap
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import pandas as pd

from . import paper
from ..config import shape_text

__all__ = ["KINDS", "PUBLISHED", "Check", "Claim", "ClaimList", "Published", "check_text", "claims_table", "format_claims", "published", "value_text", "verdict"]


@dataclass(frozen=True)
class Published:
    """A figure a paper or an official page states, with where it says so.

    ``kind`` is ``"published"`` for what the source prints (a number, a name, a date) and
    ``"judgement"`` for our reading of it (why the authors did something, what is new in it).
    """

    value: object
    source: str
    kind: str = "published"


def _reading(value: object, source: str) -> Published:
    return Published(value, source, "judgement")


# What the papers say, where code cannot compute it. Section numbers are those of each paper. The 2012
# AlexNet paper's own figures come from alexnet_lib.facts.paper, their one place.
PUBLISHED: dict[str, Published] = {
    "alexnet_authors": Published("Krizhevsky, Sutskever, Hinton (University of Toronto)", "Krizhevsky et al. 2012, title page"),
    "alexnet_title": Published("ImageNet Classification with Deep Convolutional Neural Networks", "Krizhevsky et al. 2012, title page"),
    "alexnet_venue": Published("NIPS 2012", "Krizhevsky et al. 2012, Advances in Neural Information Processing Systems 25"),
    "alexnet_top5_2012": Published(paper.result("7 CNNs* (5 CNNs + 2 pre-trained)", "ILSVRC-2012", "test").top5,
                                   "Krizhevsky et al. 2012, Section 6 and Table 2 (ILSVRC-2012 test set, 7 CNNs)"),
    "runner_up_top5_2012": Published(paper.result("SIFT + FVs (second-best ILSVRC-2012 entry)", "ILSVRC-2012", "test").top5,
                                     "Krizhevsky et al. 2012, Section 6 (the second-best ILSVRC-2012 entry)"),
    "winner_top5_2011": Published(25.8, "Russakovsky et al. 2015, IJCV, the ILSVRC-2011 winner (XRCE)"),
    "paper_neurons": Published(650_000, "Krizhevsky et al. 2012, Abstract"),
    "relu_speedup": Published(paper.PAPER.relu_speedup.value, f"Krizhevsky et al. 2012, {paper.PAPER.relu_speedup.source}: "
                              "faster to 25% training error than tanh"),
    "relu_origin": Published("Nair and Hinton 2010", "Krizhevsky et al. 2012, Section 3.1"),
    "dropout_origin": Published("Hinton et al. 2012", "Krizhevsky et al. 2012, Section 4.2"),
    "two_gpu_reason": _reading("memory: 3 GB on one GTX 580", "Krizhevsky et al. 2012, Section 3.2: one GTX 580's 3 GB "
                               "'limits the maximum size of the networks that can be trained on it'"),
    "two_gpus": _reading("two graphics cards, each with its own 3 GB", "Krizhevsky et al. 2012, Section 3.2: two GTX 580 "
                         "GPUs that read and write one another's memory directly"),
    "two_gpu_faster": Published(True, "Krizhevsky et al. 2012, Section 3.2 and footnote 2: slightly faster than the one-GPU net with half the kernels"),
    "lrn_name": Published("Local Response Normalization", "Krizhevsky et al. 2012, Section 3.3"),
    "overlap_gain": Published(list(paper.PAPER.overlap_pool_gain.value),
                              f"Krizhevsky et al. 2012, {paper.PAPER.overlap_pool_gain.source}: top-1, top-5 error, 3/2 against 2/2"),
    "pooling_novelty": _reading("overlapping windows", "Krizhevsky et al. 2012, Section 3.4"),
    "pooling_prevents_overfitting": _reading(False, "notebook 06: networks with pooling overfit their training images "
                                             "unless augmentation or dropout is added; Krizhevsky et al. 2012, Section 4"),
    "gpus": Published("two GTX 580", "Krizhevsky et al. 2012, Section 3.2"),
    "augmentation": _reading("224×224 crops of 256×256 images, horizontal reflections, PCA colour shifts",
                              "Krizhevsky et al. 2012, Section 4.1"),
    "tf_slim_alexnet": Published("LRN removed, Xavier initialisation", "tensorflow/models, research/slim/nets/alexnet.py, "
                                 "the docstring of alexnet_v2"),
    "lrn_no_gain": Published(True, "Simonyan and Zisserman 2015, Section 4.1: LRN did not improve network A"),
    "caffenet_pool_first": Published(True, "BVLC Caffe, models/bvlc_reference_caffenet/readme.md"),
    "batchnorm": Published(2015, "Ioffe and Szegedy 2015, Batch Normalization"),
    "zfnet_wide_variant": Published([512, 1024, 512], "Zeiler and Fergus 2014, Table 3 (a variant, not Fig. 3's model)"),
    "vgg_copied_layers_frozen": Published(False, "Simonyan and Zisserman 2015, Section 3.1: they kept learning"),
    "googlenet_fewer_params": Published(12, "Szegedy et al. 2015, Section 1"),
    "googlenet_blocks": Published(100, "Szegedy et al. 2015, Section 5: about 100 building blocks"),
    "googlenet_reductions": _reading("1×1 convolutions before the 3×3 and 5×5 ones", "Szegedy et al. 2015, Section 4"),
    "bn_inception_params": _reading(11_000_000, "about 11 million, the figure commonly reported for BN-Inception "
                                    "(Ioffe and Szegedy 2015); not counted here: torchvision has no BN-Inception"),
    "inception_v3_grows_v2": _reading(False, "Szegedy et al. 2016, Rethinking the Inception Architecture, Table 3: "
                                      "Inception-v3 is their Inception-v2 plus a factorised 7×7 and a batch-normalised "
                                      "auxiliary classifier, which add parameters"),
    "zfnet_conv1": Published([7, 2], "Zeiler and Fergus 2014, Fig. 3: 7×7 kernels, stride 2"),
    "zfnet_conv3_5": Published([384, 384, 256], "Zeiler and Fergus 2014, Fig. 3"),
    "vgg_weight_layers": Published([11, 16, 19], "Simonyan and Zisserman 2015, Table 1: configurations A, D, E"),
    "googlenet_layers": Published([22, 27], "Szegedy et al. 2015, Section 5: with parameters, and with pooling"),
    "imagenet_photo_side": _reading(True, "Krizhevsky et al. 2012, Section 2: variable-resolution photos, down-sampled to "
                                    "256×256; ILSVRC photos are typically several hundred pixels a side (Russakovsky et "
                                    "al. 2015, IJCV)"),
    "fashion_mnist": Published([60_000, 10_000, 28, 10], "Xiao, Rasul and Vollgraf 2017: training, test images, side, classes"),
    "flowers102_classes": Published(102, "Nilsback and Zisserman 2008"),
    "lenet_sigmoid": _reading("a sigmoid squashing function", "LeCun et al. 1998, Section II.B, and Appendix A: "
                              "f(a) = A tanh(S a), 'a sigmoid squashing function'"),
    "lenet_1989": _reading("LeCun et al. 1989: a smaller network on 16×16 digits",
                            "LeCun et al. 1989, Backpropagation Applied to Handwritten Zip Code Recognition"),
}


def published(key: str) -> Published:
    """The published figure ``key`` of :data:`PUBLISHED`; an unknown key names the known ones.

    >>> published("alexnet_top5_2012").value
    15.3
    """
    if key not in PUBLISHED:
        raise KeyError(f"no published figure {key!r}; the known ones are {', '.join(PUBLISHED)}.")
    return PUBLISHED[key]


@dataclass(frozen=True)
class Check:
    """One testable part of a claim: what the source says (``claimed``) and what we found (``found``).

    ``source`` is empty when ``found`` was computed by code, else where it was published or,
    for a ``judgement``, where the reading comes from. Numbers agree within ``tolerance``;
    anything else must be equal.

    >>> Check("top-5 error", 15.3, 15.3).holds, Check("points gained", 10, 10.5, tolerance=1).holds
    (True, True)
    """

    what: str
    claimed: object
    found: object
    source: str = ""
    tolerance: float = 0.0
    judgement: bool = False

    @property
    def holds(self) -> bool:
        numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (self.claimed, self.found))
        if numbers:
            return abs(self.claimed - self.found) <= self.tolerance  # type: ignore[operator]
        if isinstance(self.claimed, (list, tuple)) and isinstance(self.found, (list, tuple)):
            return tuple(self.claimed) == tuple(self.found)  # a list of values equals the same values as a tuple
        return self.claimed == self.found

    @classmethod
    def against(cls, what: str, claimed: object, key: str, tolerance: float = 0.0) -> Check:
        """A check against the published figure ``key``: its value is ``found``, its source and kind the check's."""
        figure = published(key)
        return cls(what, claimed, figure.value, figure.source, tolerance, figure.kind == "judgement")

    @classmethod
    def judged(cls, what: str, claimed: object, found: object, citation: str) -> Check:
        """A judgement: ``found`` is our reading of a paper or a post, by hand, and ``citation`` says where to read it.

        >>> Check.judged("what the post's code draws weights from", "N(0, 1)", "N(0, 1)", "post 000, init_param").kind
        'judgement'
        """
        return cls(what, claimed, found, citation, judgement=True)

    @property
    def kind(self) -> str:
        """'computed', 'published' or 'judgement': where ``found`` comes from."""
        return "judgement" if self.judgement else "published" if self.source else "computed"


def verdict(checks: Sequence[Check]) -> str:
    """'right' if every check holds, 'wrong' if none does, 'half right' in between; 'unverifiable' without checks."""
    if not checks:
        return "unverifiable"
    held = sum(check.holds for check in checks)
    return "right" if held == len(checks) else "wrong" if held == 0 else "half right"


@dataclass(frozen=True)
class Claim:
    """A source's claim, paraphrased (``text``), from ``posts``, and ``evidence()``: its checks and a note."""

    key: str
    posts: tuple[str, ...]
    text: str
    evidence: Callable[[], tuple[list[Check], str]] = field(repr=False)


class ClaimList(list):
    """Claims in the order registered. ``claim(key, posts, text)`` decorates the function that gathers a claim's evidence.

    >>> claims = ClaimList()
    >>> @claims.claim("x-1", "000 003", "conv1 has 96 kernels")
    ... def _x() -> tuple[list[Check], str]:
    ...     return [Check("kernels", 96, 96)], ""
    >>> claims[0].posts, verdict(claims[0].evidence()[0])
    (('000', '003'), 'right')
    """

    def claim(self, key: str, posts: str, text: str) -> Callable[[Callable], Callable]:
        if any(c.key == key for c in self):
            raise ValueError(f"a claim with key {key!r} is already registered; keys are unique.")

        def register(evidence: Callable[[], tuple[list[Check], str]]) -> Callable[[], tuple[list[Check], str]]:
            self.append(Claim(key, tuple(posts.split()), text, evidence))
            return evidence

        return register


def value_text(value: object) -> str:
    """A value as a reader wants it: thousands separators, a tuple of whole numbers as a shape, a list with commas.

    >>> value_text(60965224), value_text((96, 55, 55)), value_text([384, 384, 256]), value_text(54.25), value_text(True)
    ('60,965,224', '96×55×55', '384, 384, 256', '54.25', 'yes')
    >>> value_text(()), value_text("tanh")
    ('none', 'tanh')
    """
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (tuple, list)) and not value:
        return "none"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.2f}".rstrip("0").rstrip(".")
    if isinstance(value, tuple) and value and all(isinstance(v, int) and not isinstance(v, bool) for v in value):
        return shape_text(value)
    if isinstance(value, (tuple, list)):
        return ", ".join(value_text(v) for v in value)
    return str(value)


def check_text(check: Check) -> str:
    """One check in one line: ✓ or ✗, what was checked, what was claimed and found, and its source."""
    mark = "✓" if check.holds else "✗"
    listed = isinstance(check.claimed, list) and isinstance(check.found, tuple)
    found = value_text(list(check.found) if listed else check.found)  # shown as the claim is written
    if check.holds:
        text = f"{mark} {check.what}: {found}"
    else:
        text = f"{mark} {check.what}: claimed {value_text(check.claimed)}, found {found}"
    if check.judgement:
        return text + f" [judgement: {check.source}]"
    return text + (f" [{check.source}]" if check.source else "")


KINDS = ("computed", "published", "judgement")


def _how(checks: Sequence[Check]) -> str:
    return " + ".join(k for k in KINDS if any(check.kind == k for check in checks)) or "-"


def claims_table(claims: Sequence[Claim]) -> pd.DataFrame:
    """One row per claim: its key, posts, text, verdict, how it was checked, the evidence and a note.

    Every claim's ``evidence()`` runs here; ``checks`` keeps the :class:`Check` objects.

    >>> claims = ClaimList()
    >>> @claims.claim("k", "003", "conv1 has 96 kernels of 11×11")
    ... def _k() -> tuple[list[Check], str]:
    ...     return [Check("kernels", 96, 96), Check("kernel side", 11, 11)], "Section 3.5"
    >>> claims_table(claims)[["posts", "verdict", "how", "evidence"]].values.tolist()
    [['003', 'right', 'computed', '✓ kernels: 96; ✓ kernel side: 11']]
    """
    rows = []
    for claim in claims:
        checks, note = claim.evidence()
        rows.append({
            "key": claim.key, "posts": ", ".join(claim.posts), "claim": claim.text, "verdict": verdict(checks),
            "how": _how(checks), "evidence": "; ".join(check_text(c) for c in checks), "note": note,
            "checks": list(checks),
        })
    return pd.DataFrame(rows)


def format_claims(table: pd.DataFrame, width: int = 100) -> str:
    """The table as text to read: one block per claim, ``claim  VERDICT`` then its evidence and note, wrapped.

    >>> claims = ClaimList()
    >>> @claims.claim("k", "003", "conv1 has 96 kernels")
    ... def _k() -> tuple[list[Check], str]:
    ...     return [Check.against("LRN's name", "Local Responsible Normalization", "lrn_name")], ""
    >>> print(format_claims(claims_table(claims), width=72))
     1. [003] conv1 has 96 kernels                                     WRONG
        evidence (published): ✗ LRN's name: claimed Local Responsible
          Normalization, found Local Response Normalization [Krizhevsky et al.
          2012, Section 3.3]
    """
    lines = []
    for number, row in enumerate(table.itertuples(), 1):
        head = f"{number:2d}. [{row.posts}] {row.claim}"
        tag = row.verdict.upper()
        wrapped = textwrap.wrap(head, width - len(tag) - 2, subsequent_indent="    ")
        lines.append(f"{wrapped[0]:{width - len(tag)}s}{tag}")
        lines += wrapped[1:]
        for label, text in (("evidence", row.evidence), ("note", row.note)):
            if text:
                lines += textwrap.wrap(f"{label} ({row.how}): {text}" if label == "evidence" else f"{label}: {text}",
                                       width, initial_indent="    ", subsequent_indent="      ")
    return "\n".join(lines)
