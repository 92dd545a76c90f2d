"""Every checkable claim of the five blog posts in ``shared/seeds/``, with computed evidence and a verdict.

The posts (000 to 004, numbered as in ``seeds/README.md``) are what many students read about
LeNet and AlexNet. :data:`CLAIMS` holds each of their checkable claims, paraphrased in a few
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

from collections.abc import Sequence

import pandas as pd

from . import factcheck_alexnet, factcheck_context
from .evidence import Claim, claims_table, format_claims
from .factcheck_alexnet import doubled_parameter_table

__all__ = ["CLAIMS", "POSTS", "doubled_parameter_table", "fact_table", "format_claims"]

# What each post is (seeds/README.md), in our words.
POSTS = {
    "000": "an AlexNet article: the two-GPU network layer by layer, then torchvision's AlexNet on Flowers102",
    "001": "lecture notes on classic CNNs: LeNet, AlexNet's parameter table, ZFNet, VGG, GoogLeNet, ResNet",
    "002": "AlexNet on Fashion-MNIST in the style of Dive into Deep Learning",
    "003": "a short AlexNet page with a parameter table and LRN",
    "004": "a Keras AlexNet with BatchNormalization and its model.summary()",
}
CLAIMS: list[Claim] = sorted([*factcheck_alexnet.CLAIMS, *factcheck_context.CLAIMS], key=lambda c: c.posts[0])


def fact_table(keys: Sequence[str] | None = None) -> pd.DataFrame:
    """:func:`alexnet_lib.facts.evidence.claims_table` of :data:`CLAIMS`, or of those whose key is in ``keys``."""
    known = [c.key for c in CLAIMS]
    unknown = [k for k in keys or () if k not in known]
    if unknown:
        raise KeyError(f"no claim {', '.join(unknown)}; the claims are {', '.join(known)}.")
    return claims_table([c for c in CLAIMS if keys is None or c.key in keys])


