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
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path

from collections.abc import Callable

from . import assignment as assignment_module, course, gradebook, lateness, results as R
from .files import GRADEBOOK_LOCK, append_log, gradebook_busy_message, remove_partials, write_atomic
from .engine import EngineError
from .engine.kernelspec import grader_kernel
from .executors.cluster import ClusterError, ClusterRunner, WorkerSetup
from .executors.gpus import visible_gpus
from .executors.local import LOCAL, LocalRunner
from .grade import Graded, fingerprint, not_readable
from .load import InvalidSubmission
from .merge import merge_gpu_tests
from .messages import Message
from .limits import Limits
from .submissions import SubmissionsError, survey

CSV_COLUMNS = ("student_id", "score", "max_score", "status", "flags")


@dataclass(frozen=True)
class Pages:
    """How a run shows its results: views/ makes them (views.PAGES) and whoever calls grade_all passes
    them in, so that the grading core imports no view."""
    feedback: Callable[..., str]  # (results dict, language, notebook_id) → feedback.html
    report: Callable[..., str]  # (results dicts by student, title, facts of the run, language) → report.html
    progress: Callable[..., object]  # (how many submissions, stream) → .start(student) .done(...) .finish()
    notice: Callable[..., str] | None = None  # (heading Message, [Message], language) → a short page (service.py)


class BatchError(Exception):
    """The run itself cannot go on (as opposed to one bad submission)."""


@dataclass
class Options:
    """How a batch runs. `only_gpu`: grade just the tests an earlier run left `needs_gpu`."""
    regrade: bool = False
    require_gpu: bool = False
    only_gpu: bool = False
    workers: int | None = None  # default: every GPU's kernels, or the cores that memory allows (local.py)
    engine: str = "warm"  # or "fresh": a new kernel process per submission, unsandboxed
    require_sandbox: bool = False
    kernels_per_gpu: int | None = None  # default: from the GPU's memory (gpus.py)
    scheduler: str | None = None  # a Dask scheduler's address: grade on that cluster
    record: bool = False  # write the results into the course's gradebook too (else: a trial run)


@dataclass
class Job:
    sub: object
    data: bytes | None
    reason: Message | None  # why it could not be read
    previous: R.Result | None  # a provisional result to merge GPU tests into
    gpu: bool = False  # on a cluster, only a GPU worker may grade it


def grade_all(course_root, assignment_id: str, submissions_path, out_dir, limits: Limits | None = None,
              options: Options | None = None, notebook_id: str | None = None, stream=sys.stderr,
              gpus: list[str] | None = None, stats: dict | None = None, only_gpu_command: str | None = None,
              engine=None, *, pages: Pages) -> dict:
    """Grade every submission under `submissions_path`; return {student_id: results dict}.
    `stats`, if given, receives figures about a local run: the engine and its peak kernel memory.
    `only_gpu_command`: what finishes provisional results, for the report. `engine`: for a local
    run, an engine the caller opened (for `gpus`, and closes) instead of one of the run's own."""
    limits, options = limits or Limits(), options or Options()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    coursedir = course.load(course_root)
    if not limits.kernel_name:
        limits = replace(limits, kernel_name=grader_kernel(coursedir.course_id))
    # One run at a time per output folder, and per course: the gradebook is shared.
    with _locked(out / ".autograder.lock", f"another grading run is writing to {out}"), gradebook_lock(coursedir):
        remove_partials(out)
        try:
            language = course.feedback_language(coursedir.root)
            lateness.check_course(coursedir.root)
        except ValueError as error:
            raise BatchError(str(error)) from None
        # The class is found before the workers' kernels start: a small class starts no more warm
        # parents than it has notebooks.
        try:
            assignment = assignment_module.load(coursedir, assignment_id, notebook_id)
            found = survey(submissions_path, assignment_id, assignment.notebook_id)
        except (assignment_module.AssignmentError, SubmissionsError) as error:
            raise BatchError(str(error)) from None
        if not found.submissions:
            raise BatchError(f"no {assignment.notebook_id}.ipynb submissions found in {submissions_path}"
                             + "".join(f"\n  not graded: {i.origin}: {i.reason.text()}" for i in found.ignored[:20]))
        if options.scheduler:
            runner = ClusterRunner(options.scheduler, WorkerSetup(options.engine, limits.kernel_name,
                                                                  options.require_sandbox))
        else:
            runner = LocalRunner(options, limits, visible_gpus() if gpus is None else gpus, stats, engine)
        try:
            runner.open(len(found.submissions))
        except (EngineError, ClusterError) as error:
            raise BatchError(str(error)) from None
        try:
            run = ClassRun(coursedir, assignment, out, limits, options, language, stream, pages)
            return _grade_all(run, found, runner, only_gpu_command)
        finally:
            runner.close()


@dataclass
class ClassRun:
    """What one run grades and where its results go: the class-level settings every step reads."""
    coursedir: object  # nbgrader's CourseDirectory
    assignment: object  # assignment.Assignment
    out: Path
    limits: Limits
    options: Options
    language: str  # of the feedback pages and the report
    stream: object  # the console
    pages: Pages

    @property
    def gradebook_path(self) -> str:
        return self.coursedir.db_url.removeprefix("sqlite:///")


class Recorder:
    """Writes each finished student (gradebook, feedback.html, results.json last) and keeps the
    class's results dicts for grades.csv and the report."""

    def __init__(self, run: ClassRun, gb, progress):
        self.run, self.gb, self.progress = run, gb, progress
        self.everyone: dict[str, dict] = {}
        self.lowered: list[tuple[str, float, float]] = []  # (student, gradebook's points before, now)

    def keep(self, sub, kept: R.Result) -> None:
        """A result an earlier run left up to date: recorded again, not rewritten."""
        self._write(sub, kept, None, reused=True)

    def record(self, job: Job, graded: Graded) -> None:
        result = graded.result
        if graded.log:  # a grader failure's traceback: for the instructor only
            append_log(self.run.out, job.sub.student_id, graded.log)
        if job.sub.note:
            result.flag(job.sub.note)
        result.extra["origin"] = job.sub.origin
        if job.previous is not None:
            result = merge_gpu_tests(job.previous, result)
        self._write(job.sub, result, graded.notebook)

    def _write(self, sub, result: R.Result, notebook, reused: bool = False) -> None:
        late = lateness.of_submission(self.run.coursedir, self.run.assignment.assignment_id, sub, result.score)
        if late is not None and result.extra.get("lateness") != late.to_dict():  # new, or a deadline changed
            result.extra["lateness"], reused = late.to_dict(), False
        student_id, results = sub.student_id, result.to_dict()
        before = _record(self.gb, self.run, sub, results, notebook, reused)
        if before is not None and results["score"] < before:
            self.lowered.append((student_id, before, results["score"]))
        self.everyone[student_id] = results
        self.progress.done(student_id, results, reused)


def _grade_all(run: ClassRun, found, runner, only_gpu_command=None) -> dict:
    """Plan each submission (keep, grade, or finish its GPU tests), run the jobs, record each result,
    then write the class's files."""
    options, stream = run.options, run.stream
    print(f"{_run_kind(options, run.gradebook_path, run.out)}; {runner.describe()}", file=stream)
    cuda = check_kernels(run.limits.kernel_name, runner, options, stream)
    progress = run.pages.progress(len(found.submissions), stream)
    with (gradebook.open_gradebook(run.coursedir) if options.record else nullcontext()) as gb:
        recorder, jobs = Recorder(run, gb, progress), []
        for sub in found.submissions:
            job, kept = _plan(sub, run.assignment, run.out, run.limits, options, cuda)
            if kept is not None:
                recorder.keep(sub, kept)
            elif job.data is None:  # unreadable: no kernel needed
                recorder.record(job, not_readable(sub.student_id, run.assignment, job.reason, run.limits))
            else:
                jobs.append(job)
        for job, graded in runner.run(jobs, run.assignment, run.limits, progress,
                                      needs_gpu=lambda job: cuda and job.gpu):
            recorder.record(job, graded)
    progress.finish()
    ignored = [(i.origin, i.reason) for i in found.ignored]
    renamed = [(sub.student_id, sub.origin) for sub in found.submissions if sub.raw_id and sub.raw_id != sub.student_id]
    _tell(stream, recorder.lowered, ignored, renamed)
    write_atomic(run.out / "grades.csv", grades_csv(recorder.everyone))
    facts = {"lowered": recorder.lowered, "ignored": ignored, "renamed": renamed, "only_gpu_command": only_gpu_command,
             "recorded": options.record, "gradebook": run.gradebook_path}
    title = f"{run.coursedir.course_id} · {run.assignment.assignment_id}"
    write_atomic(run.out / "report.html", run.pages.report(recorder.everyone, title, facts, run.language))
    return recorder.everyone


def _tell(stream, lowered: list, ignored: list, renamed: list) -> None:
    """The console's lines after the progress: what the instructor should know of this run."""
    for student, before, now in lowered:
        print(f"autograder: {student}: the gradebook held {before:g} automatic points; this run recorded {now:g}",
              file=stream)
    for origin, reason in ignored:
        print(f"not graded: {origin}: {reason.text()}", file=stream)
    for student, origin in renamed:
        print(f"student id {student!r} comes from {origin}", file=stream)


def gradebook_lock(coursedir):
    """The course's gradebook has one writer at a time: a grading run, or the grading service (service.py)
    for as long as it runs. BatchError when another holds it."""
    return _locked(Path(coursedir.root) / GRADEBOOK_LOCK, gradebook_busy_message(coursedir.root))


@contextmanager
def _locked(path: Path, busy: str):
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(busy) from None
        yield


def check_kernels(kernel_name: str, runner, options: Options, stream) -> bool:
    """Whether GPU tests can be graded; refuse to start when the run needs CUDA and has none."""
    try:
        kernels = runner.probe()
    except (EngineError, ClusterError, RuntimeError) as error:
        raise BatchError(f"the grading kernel {kernel_name!r} cannot run: {error}") from None
    broken = {where: info["error"] for where, info in kernels.items() if "error" in info}
    if broken:
        raise BatchError(f"the grading kernel {kernel_name!r} cannot run on "
                         + "; ".join(f"{where}: {why}" for where, why in broken.items()))
    unsandboxed = {where: info["sandbox_detail"] for where, info in kernels.items() if info.get("sandbox") != "bwrap"}
    for where, why in unsandboxed.items():
        place = "" if where == LOCAL else f" on {where}"
        print(f"autograder: warning: student code runs unsandboxed{place} ({why.removeprefix('none: ')}); "
              "--require-sandbox refuses such runs", file=stream)
    cuda = any(info["cuda_available"] and info.get("gpu_worker", True) for info in kernels.values())
    if (options.require_gpu or options.only_gpu) and not cuda:
        wanted = "--only-gpu" if options.only_gpu else "--require-gpu"
        if options.scheduler:
            raise BatchError(f"{wanted}: no worker of the Dask cluster at {options.scheduler} has a CUDA GPU and "
                             f"advertises it (start GPU workers with `dask worker ... --resources GPU=1`)")
        raise BatchError(f"{wanted}: the grading kernel {kernel_name!r} has no CUDA GPU "
                         f"(torch {kernels[LOCAL]['torch']}); see `.venv/bin/python -m autograder doctor`")
    return cuda


def _plan(sub, assignment, out: Path, limits: Limits, options: Options, cuda: bool):
    """(job to grade, None) or (None, results kept from an earlier run)."""
    try:
        data, reason = sub.read(), None
    except InvalidSubmission as problem:
        data, reason = None, problem.reason
    previous = _previous(out / sub.student_id / "results.json")
    provisional = previous is not None and previous.status == R.PROVISIONAL
    expected = fingerprint(data if data is not None else reason.text().encode(), assignment, limits)
    up_to_date = previous is not None and previous.fingerprint == expected
    gpu = options.require_gpu or options.only_gpu or provisional
    if options.regrade or not up_to_date:
        return Job(sub, data, reason, None, gpu), None  # new, changed, or asked for: grade it all
    if options.only_gpu and provisional:
        return Job(sub, data, reason, previous, True), None  # grade the GPU tests and merge them in
    if provisional and cuda:
        return Job(sub, data, reason, None, True), None
    return None, previous


def _run_kind(options: Options, gradebook_path: str, out: Path) -> str:
    """The console's first line, before how many kernels grade at once and any warning about the
    kernels: whether this run changes the course's gradebook."""
    if options.record:
        return (f"recording: results go to {out} and to the gradebook ({gradebook_path}), "
                "where formgrader and nbgrader export read them")
    return (f"trial run: results go to {out} only; the gradebook is not changed "
            "(run again with --record to record them)")


def _record(gb, run: ClassRun, sub, results: dict, notebook, reused: bool = False) -> float | None:
    """The gradebook entry (a recording run: `gb`), then feedback.html, then results.json last: the
    mark of a finished student. Returns the automatic points the gradebook held before, if any."""
    student_id, assignment = sub.student_id, run.assignment
    folder = run.out / student_id
    before = None
    if gb is not None:
        before = gradebook.recorded_auto_score(gb, assignment, student_id)
        gradebook.record(gb, run.coursedir, assignment, results, notebook, handed_in=sub)
    feedback = folder / "feedback.html"
    if reused:
        if not feedback.exists():
            write_atomic(feedback, run.pages.feedback(results, run.language, assignment.notebook_id))
        return before
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(feedback, run.pages.feedback(results, run.language, assignment.notebook_id))
    write_atomic(folder / "results.json", json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return before


def provisional_count(everyone: dict) -> int:
    return sum(1 for results in everyone.values() if results["extra_data"]["status"] == R.PROVISIONAL)


def _previous(path: Path) -> R.Result | None:
    """The result an earlier run left, or None (none, unreadable, or not of this grader: grade again)."""
    try:
        return R.Result.from_dict(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def grades_csv(everyone: dict) -> str:
    """With a byte order mark, so that Excel reads UTF-8 (Hangul names); score and max_score written
    alike: up to 4 decimals, no trailing zeros (28, 27.5, 0.3333; never 28.0)."""
    def points(value) -> str:
        return f"{round(float(value), 4) + 0.0:.4f}".rstrip("0").rstrip(".")  # + 0.0: never -0

    buffer = io.StringIO()
    buffer.write("\ufeff")
    writer = csv.DictWriter(buffer, fieldnames=CSV_COLUMNS, lineterminator="\n")
    writer.writeheader()
    for student in sorted(everyone):
        row = R.grade_row(everyone[student])
        writer.writerow({**row, "score": points(row["score"]), "max_score": points(row["max_score"])})
    return buffer.getvalue()
