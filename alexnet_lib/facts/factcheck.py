"""Every checkable claim of the five blog posts in ``shared/seeds/``, with computed evidence and a verdict.

The posts (numbered 000 to 004 as in ``seeds/README.md``; :data:`POSTS` names each by its title
and site, as readers meet them) are what many students read about LeNet and AlexNet. :data:`CLAIMS` holds each of their checkable claims, paraphrased in a few
words (their sentences are not copied), in the order of the posts: those about AlexNet's own
layers (:mod:`alexnet_lib.facts.factcheck_alexnet`) and those about everything around it
(:mod:`alexnet_lib.facts.factcheck_context`). Each claim's evidence is computed from the library's
models, torchvision and PyTorch, or, where code cannot decide (a date, a result), taken with
its source from :data:`alexnet_lib.facts.evidence.PUBLISHED`; its verdict follows from the checks.

>>> table = fact_table(["003-order", "004-dropout"])
>>> table[["posts", "verdict", "how"]].values.tolist()
[['003', 'wrong', 'computed'], ['004', 'wrong', 'computed']]
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from . import factcheck_alexnet, factcheck_context
from .evidence import Claim, check_text, claims_table, format_claims
from .factcheck_alexnet import doubled_parameter_table

__all__ = ["CLAIMS", "POSTS", "Post", "doubled_parameter_table", "fact_html", "fact_table", "format_claims"]


@dataclass(frozen=True)
class Post:
    """One of the posts: the short name the course calls it by, its title and site as published, what it is."""

    name: str
    title: str
    site: str
    what: str


# By the number of seeds/README.md; title and site as the copies show them ("not named": the copy omits it).
# The titles and sites are the only Chinese in the library: names, not text (a test holds this).
POSTS = {
    "000": Post("bbbdata", "AlexNet (an original article of the site)", "老饼讲解-深度学习, bbbdata.com",
                "the two-GPU network layer by layer, then torchvision's AlexNet on Flowers102"),
    "001": Post("YuRDnKa", "【第二周】卷积神经网络, by YuRDnKa, 2022-08-03", "a reposting site, not named",
                "lecture notes on classic CNNs: LeNet, AlexNet's parameter table, ZFNet, VGG, GoogLeNet, ResNet"),
    "002": Post("D2L-style", "【动手学深度学习】现代卷积神经网络:ALexNet", "not named",
                "AlexNet on Fashion-MNIST in the style of Dive into Deep Learning"),
    "003": Post("100-days", "100天深度学习--PartA:Week1-day2 AlexNet", "not named",
                "a short AlexNet page with a parameter table and LRN"),
    "004": Post("dzjqx", "CNN常用模型0 AlexNet", "dzjqx.cn (its source: \"the internet\")",
                "a Keras AlexNet with BatchNormalization and its model.summary()"),
}
CLAIMS: list[Claim] = sorted([*factcheck_alexnet.CLAIMS, *factcheck_context.CLAIMS], key=lambda c: c.posts[0])


def fact_table(keys: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`alexnet_lib.facts.evidence.claims_table` of :data:`CLAIMS`, or of those whose key is in ``keys``."""
    known = [c.key for c in CLAIMS]
    unknown = [k for k in keys or () if k not in known]
    if unknown:
        raise KeyError(f"no claim {', '.join(unknown)}; the claims are {', '.join(known)}.")
    return claims_table([c for c in CLAIMS if keys is None or c.key in keys])


VERDICT_MARKS = {"right": ("✓", "#1a7f37"), "half right": ("◐", "#9a6700"), "wrong": ("✗", "#cf222e"),
                 "unverifiable": ("?", "#57606a")}


def fact_html(table: pd.DataFrame) -> str:
    """Rows of :func:`fact_table` as an HTML table: one row per claim, the posts by name, the verdict marked,
    each check on its line, the note below.

    >>> page = fact_html(fact_table(["003-order"]))
    >>> "100-days</td>" in page and "✗ wrong" in page
    True
    """
    top, small = 'style="vertical-align:top;text-align:left', 'style="font-size:0.85em;color:#57606a"'
    rows = []
    for number, row in enumerate(table.itertuples(), 1):
        mark, colour = VERDICT_MARKS[row.verdict]
        posts = ", ".join(POSTS[p].name for p in row.posts.split(", "))
        checks = "".join(f"<br>{html.escape(check_text(check))}" for check in row.checks)
        note = f"<br><span {small}>{html.escape(row.note)}</span>" if row.note else ""
        rows.append(f'<tr style="border-top:1px solid #d0d7de"><td {top}">{number}</td>'
                    f'<td {top};white-space:nowrap">{html.escape(posts).replace(", ", "<br>")}</td>'
                    f'<td {top};width:28%">{html.escape(row.claim)}</td>'
                    f'<td {top};color:{colour};white-space:nowrap"><b>{mark} {row.verdict}</b></td>'
                    f"<td {top}\"><i {small}>{html.escape(row.how)}</i>{checks}{note}</td></tr>")
    head = "".join(f'<th style="text-align:left">{h}</th>' for h in ("", "post", "claim", "verdict", "evidence"))
    return f'<table style="font-size:0.9em"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


