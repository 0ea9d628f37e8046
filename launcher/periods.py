"""Billing periods as the command line takes them."""

from __future__ import annotations

import argparse
import datetime as dt
import re

PERIOD = re.compile(r"^\d{4}-(0[1-9]|1[0-2])$")


def last_month(today: dt.date | None = None) -> str:
    """The period the demo bills and the simulator is built around."""
    previous = (today or dt.date.today()).replace(day=1) - dt.timedelta(days=1)
    return f"{previous.year:04d}-{previous.month:02d}"


def period(text: str) -> str:
    """An argparse type: a month as ``YYYY-MM``."""
    if not PERIOD.match(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a month as YYYY-MM")
    return text
