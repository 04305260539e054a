"""Grade a whole class: discover, grade each submission, record, write the outputs.

    DIR/<student>/results.json   written last, atomically: the mark that a student is done
    DIR/<student>/feedback.html
    DIR/grades.csv, DIR/report.html

A run that is interrupted (Ctrl-C, kill -9) and started again skips every student whose
results.json carries the fingerprint of the same notebook, assignment and settings, so it
neither loses nor duplicates anyone; running the same command twice changes nothing.
"""
import csv
import fcntl
import io
import json
import sys
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

from . import assignment as assignment_module, course, gradebook, results as R
from .feedback import render_feedback
from .files import remove_partials, write_atomic
from .grade import fingerprint, grade_submission, not_readable
from .load import InvalidSubmission
from .progress import Progress
from .report import render_report
from .session import Limits
from .submissions import SubmissionsError, discover

CSV_COLUMNS = ("student_id", "score", "max_score", "status", "flags")


class BatchError(Exception):
    """The run itself cannot go on (as opposed to one bad submission)."""


def grade_all(course_root, assignment_id: str, submissions_path, out_dir, limits: Limits | None = None,
              regrade: bool = False, notebook_id: str | None = None, stream=sys.stderr) -> dict:
    """Grade every submission under `submissions_path`; return {student_id: results dict}."""
    limits = limits or Limits()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    with open(out / ".autograder.lock", "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(f"another grading run is writing to {out}") from None
        remove_partials(out)
        coursedir = course.load(course_root)
        try:
            KernelSpecManager().get_kernel_spec(limits.kernel_name)
        except NoSuchKernel:
            raise BatchError(f"no Jupyter kernel named {limits.kernel_name!r} is installed") from None
        try:
            assignment = assignment_module.load(coursedir, assignment_id, notebook_id)
            subs = discover(submissions_path, assignment_id, assignment.notebook_id)
        except (assignment_module.AssignmentError, SubmissionsError) as error:
            raise BatchError(str(error)) from None
        if not subs:
            raise BatchError(f"no {assignment.notebook_id}.ipynb submissions found in {submissions_path}")
        everyone = {}
        progress = Progress(len(subs), stream)
        with gradebook.open_gradebook(coursedir) as gb:
            for sub in subs:
                progress.start(sub.student_id)
                results, reused = _grade_one(sub, assignment, coursedir, gb, out, limits, regrade)
                everyone[sub.student_id] = results
                progress.done(sub.student_id, results, reused)
        progress.finish()
        write_atomic(out / "grades.csv", grades_csv(everyone))
        write_atomic(out / "report.html", render_report(everyone))
    return everyone


def _grade_one(sub, assignment, coursedir, gb, out: Path, limits: Limits, regrade: bool):
    """(results, reused?) for one submission, with its files and gradebook entry written."""
    folder = out / sub.student_id
    try:
        data, reason = sub.read(), None
    except InvalidSubmission as problem:
        data, reason = None, str(problem)
    expected = fingerprint(data if data is not None else reason.encode(), assignment, limits)
    previous = _previous(folder / "results.json")
    if not regrade and previous and previous["extra_data"].get("fingerprint") == expected:
        gradebook.record(gb, coursedir, assignment, previous)
        if not (folder / "feedback.html").exists():
            write_atomic(folder / "feedback.html", render_feedback(previous))
        return previous, True
    if data is None:
        graded = not_readable(sub.student_id, assignment, reason, limits)
    else:
        graded = grade_submission(data, assignment, sub.student_id, limits)
    results = graded.results
    if sub.note:
        results["extra_data"]["flags"].append(sub.note)
    results["extra_data"]["origin"] = sub.origin
    gradebook.record(gb, coursedir, assignment, results, graded.notebook)
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "feedback.html", render_feedback(results))
    write_atomic(folder / "results.json", json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return results, False


def _previous(path: Path) -> dict | None:
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        return results if isinstance(results.get("extra_data"), dict) else None
    except (OSError, ValueError, AttributeError):
        return None


def grades_csv(everyone: dict) -> str:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for student in sorted(everyone):
        writer.writerow(R.grade_row(everyone[student]))
    return buffer.getvalue()
