"""A submission's time, decided on the trusted side (service.py), and how it is written and shown.

The claimed time (the student's timestamp.txt, else the inbound folder's name) comes from the student's
process: it is only ever used clamped between moments the service itself knows (`clamped`).
"""
import math
import warnings
from datetime import datetime, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from . import exchange as X


def time_zone(config) -> ZoneInfo:
    """The course's time zone: nbgrader's own c.Exchange.timezone (UTC when unset); ValueError for no zone."""
    name = config.Exchange.get("timezone") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"c.Exchange.timezone = {name!r} is no time zone (e.g. \"Asia/Seoul\")") from None


def claimed(folder: Path, zone: ZoneInfo) -> float | None:
    """The time the student's timestamp.txt (or else the folder's name) claims, or None. A time without a
    zone, or with one dateutil can't place ("KST"), is read in the course's zone."""
    from dateutil import parser
    texts = []
    try:
        texts.append(X.read_capped(folder / X.TIMESTAMP_FILE, 1024).decode("utf-8", "replace").strip())
    except (OSError, ValueError):
        pass
    info = X.parse_name(folder.name)
    texts += [info.claimed] if info else []
    for text in texts:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                moment = parser.parse(text, tzinfos=lambda name, offset: timezone.utc
                                      if name in ("UTC", "GMT", "Z") else zone)
        except (ValueError, OverflowError):
            continue
        return (moment if moment.tzinfo else moment.replace(tzinfo=zone)).timestamp()
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
