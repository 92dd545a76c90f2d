"""Dropout measured: what ``nn.Dropout`` does in training and in evaluation, and why it scales.

Srivastava et al. (2014) and AlexNet (Krizhevsky et al. 2012, Section 4.2) set each hidden
unit's output to zero with probability ``p`` during training. The 2012 paper multiplies the
outputs by ``1 - p`` at test time; PyTorch's "inverted" dropout multiplies the survivors by
``1 / (1 - p)`` during training instead and does nothing at test time. Either way a unit's
expected output is the same in training and at test time.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import torch
from torch import nn

from ..config import seeded


def measure_dropout(x: torch.Tensor, ps: Sequence[float] = (0.1, 0.5, 0.8), seed: int = 0) -> pd.DataFrame:
    """Pass ``x`` through ``nn.Dropout(p)`` in evaluation and in training mode; one row per ``p``.

    Columns: ``p``; ``zeroed`` (fraction of the non-zero values of ``x`` that training mode
    set to zero: about ``p``); ``eval_mean`` (mean output in evaluation mode: ``x``'s mean);
    ``train_mean`` (mean output in training mode, survivors scaled by ``1/(1-p)``);
    ``unscaled_mean`` (the same mask without the scaling: about ``(1-p)`` times smaller);
    ``train_over_eval`` (``train_mean / eval_mean``, close to 1). Randomness comes from ``seed``.

    >>> table = measure_dropout(torch.ones(100_000), ps=[0.5])
    >>> table.round(2).to_dict("records")
    [{'p': 0.5, 'zeroed': 0.5, 'eval_mean': 1.0, 'train_mean': 1.0, 'unscaled_mean': 0.5, 'train_over_eval': 1.0}]
    """
    rows = []
    with seeded(seed):  # the caller's generator is left as it was
        for p in ps:
            layer = nn.Dropout(p)
            layer.eval()
            eval_out = layer(x)
            layer.train()
            train_out = layer(x)
            kept, nonzero = train_out != 0, x != 0
            unscaled = x * kept
            rows.append(
                {
                    "p": float(p),
                    "zeroed": float((~kept & nonzero).sum() / nonzero.sum()),
                    "eval_mean": float(eval_out.mean()),
                    "train_mean": float(train_out.mean()),
                    "unscaled_mean": float(unscaled.mean()),
                    "train_over_eval": float(train_out.mean() / eval_out.mean()),
                }
            )
    return pd.DataFrame(rows)
