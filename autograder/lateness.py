"""How late a submission is and what it costs, in the course's time zone.

    nbgrader_config.py   c.Exchange.timezone (nbgrader's own: the course's zone),
                         c.CourseSchedule.deadlines = {assignment: "YYYY-MM-DD HH:MM"} (read in that zone),
                         c.AssignLatePenalties.plugin_class / c.LateSubmissionPlugin.penalty_method (nbgrader's)
    extensions.csv       student_id,assignment,extension: a new deadline (course zone) or extra hours ("48h")
    timestamp.txt        beside a collected notebook (nbgrader collect, or the grading service): when it came

`assess` is what the batch and the service call; the gradebook (gradebook.record) writes its verdict
as nbgrader does: Assignment.duedate, SubmittedAssignment.extension and .timestamp,
SubmittedNotebook.late_submission_penalty. A malformed line of extensions.csv is skipped with a
warning naming the file and the line (the others still apply: one typo never stops the class's
grading); a bad zone or deadline in nbgrader_config.py refuses the run at its start (check_course).
"""
import csv
import io
import re
import sys
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from .course import CONFIG_FILE, read_config

EXTENSIONS_FILE = "extensions.csv"
TIMESTAMP_FILE = "timestamp.txt"  # nbgrader collect's, beside the notebook
MAX_TIMESTAMP_CHARS = 200  # more is not a timestamp
_OFFSET = re.compile(r"^(?:UTC|GMT)?([+-])(\d{2}):?(\d{2})$")
_HOURS = re.compile(r"^\+?(\d+(?:\.\d+)?)\s*h$", re.IGNORECASE)
_UTC_NAMES = {"UTC", "GMT", "Z"}


class LatenessError(ValueError):
    """The course's zone or a deadline cannot be read: the message names the file and the setting."""


@dataclass(frozen=True)
class Lateness:
    submitted: datetime  # aware, in the course zone
    deadline: datetime | None  # the student's own (extension included), aware, course zone
    extended: bool
    seconds_late: float  # 0 when on time
    penalty: float  # points off (0 when on time or no policy)
    course_deadline: datetime | None = None  # the class's, without the extension

    @property
    def late(self) -> bool:
        return self.seconds_late > 0

    def to_dict(self) -> dict:
        """ISO strings with offsets (results.json's extra_data["lateness"]); `zone` names the course's zone."""
        def iso(moment):
            return None if moment is None else moment.isoformat()
        zone = getattr(self.submitted.tzinfo, "key", None)
        return {"submitted": iso(self.submitted), "deadline": iso(self.deadline), "extended": self.extended,
                "seconds_late": self.seconds_late, "penalty": self.penalty,
                "course_deadline": iso(self.course_deadline), "zone": zone}

    @classmethod
    def from_dict(cls, d) -> "Lateness":
        """ValueError when `d` is not what to_dict writes."""
        try:
            zone = ZoneInfo(d["zone"]) if d.get("zone") else None

            def moment(text):
                if text is None:
                    return None
                value = datetime.fromisoformat(text)
                if value.tzinfo is None:
                    raise ValueError(f"{text!r} has no offset")
                return value.astimezone(zone) if zone else value
            return cls(moment(d["submitted"]), moment(d.get("deadline")), bool(d["extended"]),
                       float(d["seconds_late"]), float(d["penalty"]), moment(d.get("course_deadline")))
        except (KeyError, TypeError, AttributeError, ZoneInfoNotFoundError) as error:
            raise ValueError(f"not a lateness record: {error!r}") from None


def course_timezone(root) -> ZoneInfo:
    """nbgrader's `c.Exchange.timezone` in the course's config (nbgrader's default: UTC)."""
    name = read_config(root).Exchange.get("timezone") or "UTC"
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise LatenessError(f"{CONFIG_FILE}: c.Exchange.timezone = {name!r} is not a time zone "
                            "(an IANA name such as 'Asia/Seoul')") from None


def parse_timestamp(text: str, zone) -> datetime:
    """A timestamp as nbgrader writes it (timestamp.txt, exchange folder names), aware, in `zone`.

    Forms: ISO with an offset ('2026-12-14T23:59:00+09:00', '...23:59:00.5+0900'); a time and a zone
    name ('... ROK', '... UTC', '... Asia/Seoul'); a time and an abbreviation of `zone` ('... KST',
    nbgrader's default '%Z', which dateutil and nbgrader's parse_utc read as UTC); a time and a
    separate offset ('... +0900', which parse_utc reads as 900 s); a naive time (read in `zone`).
    ValueError for anything else, e.g. an abbreviation that is not `zone`'s."""
    text = text.strip()
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        stamp, _, name = text.rpartition(" ")
        try:
            moment = datetime.fromisoformat(stamp.strip())
        except ValueError:
            raise ValueError(f"not a timestamp: {text!r}") from None
        if moment.tzinfo is not None:
            raise ValueError(f"not a timestamp: {text!r} (two time zones)")
        moment = _in_zone(moment, name, zone, text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=zone)
    return moment.astimezone(zone)


def _in_zone(naive: datetime, name: str, zone, text: str) -> datetime:
    offset = _OFFSET.match(name)
    if offset:
        sign, hours, minutes = offset.groups()
        delta = timedelta(hours=int(hours), minutes=int(minutes))
        return naive.replace(tzinfo=timezone(delta if sign == "+" else -delta))
    if name.upper() in _UTC_NAMES:
        return naive.replace(tzinfo=timezone.utc)
    for fold in (0, 1):  # the course zone's abbreviation at that time (KST; CET or CEST where clocks change)
        candidate = naive.replace(tzinfo=zone, fold=fold)
        if candidate.tzname() == name:
            return candidate
    try:
        return naive.replace(tzinfo=ZoneInfo(name))  # an IANA name: ROK, Asia/Seoul, Etc/UTC
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} in timestamp {text!r} "
                         f"(the course's zone is {getattr(zone, 'key', zone)})") from None


def deadlines(root, zone) -> dict:
    """{assignment: deadline} from `c.CourseSchedule.deadlines` (a section nbgrader ignores), in `zone`."""
    configured = read_config(root).CourseSchedule.get("deadlines") or {}
    if not isinstance(configured, dict):
        raise LatenessError(f"{CONFIG_FILE}: c.CourseSchedule.deadlines must be a dict "
                            "such as {'lesson08': '2026-12-14 23:59'}")
    found = {}
    for assignment, text in configured.items():
        try:
            found[assignment] = parse_timestamp(str(text), zone)
        except ValueError as error:
            raise LatenessError(f"{CONFIG_FILE}: c.CourseSchedule.deadlines[{assignment!r}]: {error}") from None
    return found


def check_course(root) -> None:
    """LatenessError when the course's zone or a deadline cannot be read (a run refuses to start)."""
    deadlines(root, course_timezone(root))


@dataclass(frozen=True)
class Extension:
    line: int
    until: datetime | None = None  # a new deadline
    hours: float | None = None  # or hours added to the class's

    def deadline(self, course_deadline: datetime | None) -> datetime | None:
        if self.until is not None:
            return self.until
        return None if course_deadline is None else course_deadline + timedelta(hours=self.hours)


def read_extensions(path, zone) -> tuple[dict, list]:
    """({(student_id, assignment): Extension}, [problem, ...]) from the instructor's extensions.csv
    ('#' lines are comments; a header row `student_id,assignment,extension` is optional). A malformed
    line is left out and named among the problems; a later line for the same student replaces an earlier."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        return {}, []
    except (OSError, UnicodeDecodeError) as error:
        return {}, [f"{path}: cannot be read ({error}): no extension applies"]
    found, problems = {}, []
    for number, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [cell.strip() for cell in row]
        if not any(cells) or cells[0].startswith("#") or cells[:2] == ["student_id", "assignment"]:
            continue
        try:
            found[(cells[0], cells[1])] = _extension(cells, number, zone)
        except ValueError as error:
            problems.append(f"{path}: line {number}: {error}; this line is skipped")
    return found, problems


def _extension(cells: list, number: int, zone) -> Extension:
    if len(cells) != 3 or not all(cells):
        raise ValueError(f"expected 3 values (student_id,assignment,extension), found {len(cells)}: {cells}")
    value = cells[2]
    hours = _HOURS.match(value)
    if hours:
        if float(hours.group(1)) <= 0:
            raise ValueError(f"an extension of {value!r} adds no time")
        return Extension(number, hours=float(hours.group(1)))
    try:
        return Extension(number, until=parse_timestamp(value, zone))
    except ValueError:
        raise ValueError(f"{value!r} is neither a new deadline (2026-12-16 23:59) nor extra hours (48h)") from None


_warned: set = set()


def _extensions(root, zone) -> dict:
    """The course's extensions; each problem is told once per process on stderr (the console, the service's log)."""
    found, problems = read_extensions(Path(root) / EXTENSIONS_FILE, zone)
    for problem in problems:
        if problem not in _warned:
            _warned.add(problem)
            print(f"autograder: warning: {problem}", file=sys.stderr)
    return found


def late_penalty(root, student_id: str, score: float, seconds_late: float) -> float:
    """Points off, as nbgrader's AssignLatePenalties asks the configured plugin (c.AssignLatePenalties.plugin_class,
    default LateSubmissionPlugin with c.LateSubmissionPlugin.penalty_method), between 0 and the score."""
    if seconds_late <= 0:
        return 0.0
    from nbgrader.preprocessors import AssignLatePenalties
    root = str(Path(root).resolve())
    added = root not in sys.path
    if added:  # nbgrader imports an instructor's plugin from the course folder, its working directory
        sys.path.insert(0, root)
    try:
        preprocessor = AssignLatePenalties(config=read_config(root))
        preprocessor.init_plugin()
    finally:
        if added:
            sys.path.remove(root)
    penalty = preprocessor.plugin_inst.late_submission_penalty(student_id, score, seconds_late)
    return 0.0 if penalty is None else float(min(max(penalty, 0.0), max(score, 0.0)))


def assess(coursedir, assignment_id, student_id, submitted: datetime, score: float) -> Lateness:
    """The lateness of a submission made at `submitted` (aware) that scored `score` points."""
    root = coursedir.root
    zone = course_timezone(root)
    submitted = submitted.astimezone(zone)
    course_deadline = deadlines(root, zone).get(assignment_id)
    extension = _extensions(root, zone).get((student_id, assignment_id))
    deadline = course_deadline if extension is None else extension.deadline(course_deadline)
    extended = extension is not None and deadline is not None
    seconds_late = 0.0 if deadline is None else max(0.0, (submitted - deadline).total_seconds())
    penalty = late_penalty(root, student_id, score, seconds_late)
    return Lateness(submitted, deadline, extended, seconds_late, penalty, course_deadline)


def submission_time(folder, zone) -> datetime | None:
    """The time in `folder`/timestamp.txt, or None without one; ValueError naming the file when unreadable."""
    path = Path(folder) / TIMESTAMP_FILE
    try:
        with open(path, encoding="utf-8") as handle:
            text = handle.read(MAX_TIMESTAMP_CHARS).strip()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be read: {error}") from None
    if not text:
        return None  # nbgrader's get_existing_timestamp: an empty file is no timestamp
    try:
        return parse_timestamp(text, zone)
    except ValueError as error:
        raise ValueError(f"{path}: {error}") from None


def of_submission(coursedir, assignment_id: str, sub, score: float) -> Lateness | None:
    """The lateness of a batch's submission (submissions.Submission) whose folder in nbgrader's layout
    (<student>/<assignment>/) holds a timestamp.txt; None for any other (as before deadlines existed).
    An unreadable timestamp.txt is told on stderr and counts as none: it never stops the run."""
    folder = Path(sub.path).parent
    if sub.member is not None or folder.name != assignment_id or not (folder / TIMESTAMP_FILE).exists():
        return None
    try:
        submitted = submission_time(folder, course_timezone(coursedir.root))
    except ValueError as error:
        print(f"autograder: warning: {error}: no lateness assessed for {sub.student_id}", file=sys.stderr)
        return None
    if submitted is None:
        return None
    return assess(coursedir, assignment_id, sub.student_id, submitted, score)
