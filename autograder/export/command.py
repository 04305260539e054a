"""The `export` verb: check the arguments, read the gradebook, write DIR/ASSIGNMENT-FORMAT.csv, tell the instructor.

Arguments that cannot work are refused at once, in one line, before anything is written (exit 2),
as `grade` refuses its own. The files go into --out only, never the course root, whose git
repository should not collect students' grades.
"""
import sys
from pathlib import Path

from . import LMS_FORMATS, canvas_csv, moodle_csv, nbgrader_csv
from .classlist import ClassList, match
from .csvtext import csv_text, points
from .roster import RosterProblem, read_roster
from ..course import CONFIG_FILE
from ..files import write_atomic

WRITERS = {"nbgrader": nbgrader_csv, "moodle": moodle_csv, "canvas": canvas_csv}
NOT_IN_ROSTER_COLUMNS = ("student_id", "name", "email", "score", "max_score", "timestamp")


class ExportProblem(Exception):
    """An argument of `export` that cannot work: refused before any file is written."""


def export(args) -> int:
    try:
        roster = check_arguments(args)
        from .totals import UnknownAssignment, read_totals  # nbgrader: seconds to import
        from .. import course, gradebook
        coursedir = course.load(args.course)
        _check_gradebook(coursedir.db_url)
        with gradebook.open_gradebook(coursedir) as gb:
            try:
                totals = read_totals(gb, args.assignment)
            except UnknownAssignment as unknown:
                raise ExportProblem(str(unknown)) from None
    except (ExportProblem, RosterProblem) as problem:
        print(f"autograder: {problem}", file=sys.stderr)
        return 2
    classlist = match(totals, roster)
    item = args.item or args.assignment
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    target = out / f"{args.assignment}-{args.format}.csv"
    write_atomic(target, WRITERS[args.format].render(totals, classlist, item))
    aside = None
    if roster is not None:  # written even when empty, so that an earlier run's list never lingers
        aside = out / f"{args.assignment}-not-in-roster.csv"
        write_atomic(aside, not_in_roster_csv(classlist, totals.max_score))
    tell(args.format, target, aside, classlist, totals.max_score, item)
    return 0


def check_arguments(args):
    """The roster (None without one), or ExportProblem/RosterProblem for an argument that cannot work."""
    root = Path(args.course)
    if not (root / CONFIG_FILE).is_file():
        above = next((str(folder) for folder in root.resolve().parents if (folder / CONFIG_FILE).is_file()), "ROOT")
        raise ExportProblem(f"no {CONFIG_FILE} in {root.resolve()}: not a course root; "
                            f"pass --course {above}, the folder that holds it")
    out = Path(args.out)
    existing = next(folder for folder in (out.absolute(), *out.absolute().parents) if folder.exists())
    if not existing.is_dir():
        raise ExportProblem(f"--out {args.out}: {existing} is a file; give a folder for the export")
    if out.resolve() == root.resolve():
        raise ExportProblem(f"--out {args.out}: the course root; give a folder of its own (exports/, say), "
                            "so that grades stay out of the course's repository")
    if args.item is not None and not args.item.strip():
        raise ExportProblem("--item: empty; give the grade column's name in the LMS")
    if args.format in LMS_FORMATS and not args.roster:
        raise ExportProblem(f"--format {args.format} needs --roster FILE: the LMS knows students by its own ids "
                            "(columns student_id,lms_id,name,email,section; see README, Exporting grades)")
    return read_roster(args.roster) if args.roster else None


def _check_gradebook(db_url: str) -> None:
    """Refuse a missing sqlite gradebook: opening it would create an empty one."""
    prefix = "sqlite:///"
    if db_url.startswith(prefix) and not Path(db_url[len(prefix):]).is_file():
        raise ExportProblem(f"no gradebook at {db_url[len(prefix):]}: record grades first "
                            "(`python -m autograder grade ASSIGNMENT ... --record`)")


def not_in_roster_csv(classlist: ClassList, max_score: float) -> str:
    lines = [NOT_IN_ROSTER_COLUMNS]
    for row in classlist.not_in_roster:
        lines.append((row.student_id, row.name, row.email, points(row.score), points(max_score),
                      "" if row.total.timestamp is None else str(row.total.timestamp)))
    return csv_text(lines)


def tell(format_: str, target: Path, aside: Path | None, classlist: ClassList, max_score: float, item: str) -> None:
    """The console's account of the export: counts, then every student who needs a look."""
    written = classlist.rows + (classlist.not_in_roster if format_ == "nbgrader" else [])
    missing = classlist.without_submission
    print(f"wrote {target}: {len(written)} student(s), {len(written) - len(missing)} with a grade, "
          f"{len(missing)} without a submission (grade left empty)")
    if missing:
        print("no submission, grade left empty (not 0): " + ", ".join(_who(row) for row in missing))
    sys.stdout.flush()  # the warnings below go to stderr: keep them after these lines in a log
    if classlist.not_in_roster:
        where = "listed in" if format_ == "nbgrader" else f"left out of {target.name}, listed in"
        print(f"autograder: warning: {len(classlist.not_in_roster)} submission(s) not in the roster, {where} {aside}; "
              "add them to the roster and export again: "
              + ", ".join(f"{row.student_id} ({points(row.score)} of {points(max_score)})"
                          for row in classlist.not_in_roster), file=sys.stderr)
    waiting = classlist.awaiting_hand_grading
    if waiting:
        print(f"autograder: warning: {len(waiting)} submission(s) still wait for hand grading (formgrader); their "
              "ungraded answers count 0 in these totals: " + ", ".join(_who(row) for row in waiting), file=sys.stderr)
    if format_ == "moodle":
        email = (" (or \"Email address\" to useremail)" if moodle_csv.has_every_email(classlist)
                 else "; no \"Email address\" column: not every student in the roster has one")
        print(f"import: Grades > Import > CSV file; map from \"ID number\" to useridnumber{email}, and the column "
              f"\"{item}\" to the grade item")
    elif format_ == "canvas" and not canvas_csv.names_an_existing_assignment(item):
        print(f"import: Grades > Import; Canvas creates a new assignment \"{item}\": to fill an existing one, pass "
              "--item as Canvas's gradebook export heads its column, e.g. --item \"Lesson 08 (12345)\"")


def _who(row) -> str:
    return f"{row.student_id} {row.name}".strip() if row.name and row.name != row.student_id else row.student_id
