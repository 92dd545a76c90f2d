"""The README's time-per-epoch claims follow from its own speeds: minutes = 60,000 images / speed / 60."""

from __future__ import annotations

import re

from conftest import ROOT


def test_minutes_per_epoch_follow_from_the_speeds():
    text = " ".join((ROOT / "README.md").read_text().split())
    claims = re.findall(r"about (\d+) images/s.{0,120}?about (\d+)\s+minutes", text)
    assert len(claims) >= 2, "the README no longer states its speeds and minutes per epoch as this test reads them"
    assert "60,000" in text
    for speed, minutes in claims:
        assert round(60_000 / int(speed) / 60) == int(minutes), f"{speed} images/s is not {minutes} minutes per epoch"
