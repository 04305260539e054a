"""A submission's time, decided on the trusted side (service.py), and how it is written and shown.

The claimed time (the student's timestamp.txt, else the inbound folder's name) comes from the student's
process: it is only ever used clamped between moments the service itself knows (`clamped`).
"""
import math
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from . import exchange as X
from .lateness import parse_timestamp


def claimed(folder: Path, zone: ZoneInfo) -> float | None:
    """The time the student's timestamp.txt (or else the folder's name) claims, in any form nbgrader writes
    (lateness.parse_timestamp), or None."""
    texts = []
    try:
        texts.append(X.read_capped(folder / X.TIMESTAMP_FILE, 1024).decode("utf-8", "replace").strip())
    except (OSError, ValueError):
        pass
    info = X.parse_name(folder.name)
    texts += [info.claimed] if info else []
    for text in texts:
        try:
            return parse_timestamp(text, zone).timestamp()
        except (ValueError, OverflowError):
            continue
    return None


def clamped(claim: float | None, lower: float, now: float) -> float:
    """The claim, but never earlier than `lower` (a moment the folder was known not to be there yet, or its
    ctime, which its writer can't set back) and never later than now."""
    return min(max(claim if claim is not None else now, lower), now)


def stamp(moment: float, zone: ZoneInfo) -> str:
    """timestamp.txt with its offset written out, no zone abbreviation to guess: "2026-12-01 22:30:54.295559+09:00"
    (nbgrader's parse_utc reads a third space-separated part as seconds of offset: no space before it)."""
    return datetime.fromtimestamp(moment, zone).isoformat(sep=" ", timespec="microseconds")


def shown(moment: float, zone: ZoneInfo, later: bool = False) -> str:
    """To the minute, in the course's zone; `later`: rounded up (the moment from which something holds)."""
    return datetime.fromtimestamp(math.ceil(moment / 60) * 60 if later else moment, zone).strftime("%Y-%m-%d %H:%M")
