"""The grading service's durable memory: one row per inbound submission folder (sqlite in the course root).

    seen      the service saw the folder; `trusted_at` is the submission's time from then on
    graded    its result is in the gradebook and the page to release is here (`page`)
    released  the page is in the exchange (an atomic rename, marked here after)
    failed    the service failed on it again and again (a bug, a full disk): tried again at the next start

Each step is committed before the next begins, so a service killed at any instant and started
again grades what was never recorded, releases what was graded and never released (without
grading it again), and does nothing twice. `gradings` counts recorded gradings: one per folder.
`alive_at` is the last moment the service is known to have been running (submissions found at
start-up are placed between it and now).
"""
import sqlite3
import time
from dataclasses import dataclass
from pathlib import Path

LEDGER_FILE = ".autograder-service.sqlite"
SEEN, GRADED, RELEASED = "seen", "graded", "released"
FAILED = "failed"  # the service itself failed on it (its traceback is in the log): tried again at the next start
DAY = 24 * 3600.0

SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    folder TEXT PRIMARY KEY,      -- the inbound folder's name
    assignment TEXT NOT NULL,
    student TEXT NOT NULL,
    seen_at REAL NOT NULL,        -- when the service first saw it
    trusted_at REAL NOT NULL,     -- the submission's time, as the service decided it
    state TEXT NOT NULL,
    gradings INTEGER NOT NULL DEFAULT 0,
    graded_at REAL,
    limited INTEGER NOT NULL DEFAULT 0,  -- over the feedback limit: the page says when the next comes
    page BLOB,                    -- the page to release
    released_at REAL,
    released_as TEXT              -- the notebook names it was released under, comma-separated
);
CREATE TABLE IF NOT EXISTS service (key TEXT PRIMARY KEY, value REAL);
"""


@dataclass(frozen=True)
class Row:
    folder: str
    assignment: str
    student: str
    seen_at: float
    trusted_at: float
    state: str
    gradings: int
    limited: bool
    page: bytes | None


class Ledger:
    def __init__(self, course_root: str | Path):
        self.path = Path(course_root) / LEDGER_FILE
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=30)
        self.db.execute("PRAGMA synchronous=FULL")
        self.db.executescript(SCHEMA)

    def close(self) -> None:
        self.db.close()

    def alive_at(self) -> float | None:
        row = self.db.execute("SELECT value FROM service WHERE key='alive_at'").fetchone()
        return row[0] if row else None

    def alive(self, now: float | None = None) -> None:
        self.db.execute("INSERT OR REPLACE INTO service VALUES ('alive_at', ?)", (now or time.time(),))

    def known(self, assignment: str) -> set[str]:
        return {r[0] for r in self.db.execute("SELECT folder FROM submissions WHERE assignment=?", (assignment,))}

    def seen(self, folder: str, assignment: str, student: str, seen_at: float, trusted_at: float) -> None:
        self.db.execute("INSERT OR IGNORE INTO submissions (folder, assignment, student, seen_at, trusted_at, state) "
                        "VALUES (?, ?, ?, ?, ?, ?)", (folder, assignment, student, seen_at, trusted_at, SEEN))

    def in_state(self, assignment: str, state: str) -> list[Row]:
        """The folders in `state`, oldest trusted time first (the order a student's submissions happened)."""
        rows = self.db.execute(
            "SELECT folder, assignment, student, seen_at, trusted_at, state, gradings, limited, page "
            "FROM submissions WHERE assignment=? AND state=? ORDER BY trusted_at, folder", (assignment, state))
        return [Row(*r[:7], bool(r[7]), r[8]) for r in rows]

    def graded(self, folder: str, limited: bool, page: bytes) -> None:
        self.db.execute("UPDATE submissions SET state=?, gradings=gradings+1, graded_at=?, limited=?, page=? "
                        "WHERE folder=? AND state=?", (GRADED, time.time(), int(limited), page, folder, SEEN))

    def released(self, folder: str, names: list[str]) -> None:
        self.db.execute("UPDATE submissions SET state=?, released_at=?, released_as=? WHERE folder=? AND state=?",
                        (RELEASED, time.time(), ",".join(names), folder, GRADED))

    def changed(self, folder: str, page: bytes) -> None:
        """A released page replaced (a GPU run changed the result): released again, as GRADED is."""
        self.db.execute("UPDATE submissions SET state=?, page=? WHERE folder=? AND state=?",
                        (GRADED, page, folder, RELEASED))

    def failed(self, folder: str) -> None:
        self.db.execute("UPDATE submissions SET state=? WHERE folder=? AND state=?", (FAILED, folder, SEEN))

    def retry_failed(self, assignment: str) -> int:
        return self.db.execute("UPDATE submissions SET state=? WHERE assignment=? AND state=?",
                               (SEEN, assignment, FAILED)).rowcount

    def latest_recorded(self, assignment: str, student: str) -> float | None:
        """The trusted time of the student's latest submission whose result the gradebook holds."""
        row = self.db.execute("SELECT MAX(trusted_at) FROM submissions WHERE assignment=? AND student=? "
                              "AND state IN (?, ?)", (assignment, student, GRADED, RELEASED)).fetchone()
        return row[0]

    def feedback_times(self, assignment: str, student: str, at: float) -> list[float]:
        """The trusted times of the student's submissions that got full feedback in the 24 hours up to `at`."""
        rows = self.db.execute("SELECT trusted_at FROM submissions WHERE assignment=? AND student=? "
                               "AND state IN (?, ?) AND limited=0 AND trusted_at>? AND trusted_at<=? "
                               "ORDER BY trusted_at",
                               (assignment, student, GRADED, RELEASED, at - DAY, at))
        return [r[0] for r in rows]


def next_feedback(times: list[float], limit: int | None, at: float) -> float | None:
    """None when a submission at `at` gets full feedback; else when the student's next full feedback
    can come (the oldest of the last 24 hours' full feedbacks leaves the window)."""
    if limit is None or len(times) < limit:
        return None
    return sorted(times)[-limit] + DAY
