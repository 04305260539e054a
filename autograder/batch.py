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

from . import assignment as assignment_module, course, gradebook, results as R
from .views.feedback import render_feedback
from .files import append_log, remove_partials, write_atomic
from .engine import EngineError
from .engine.kernelspec import grader_kernel
from .executors.cluster import ClusterError, ClusterRunner, WorkerSetup
from .executors.gpus import visible_gpus
from .executors.local import LOCAL, LocalRunner
from .grade import Graded, fingerprint, not_readable
from .load import InvalidSubmission
from .merge import merge_gpu_tests
from .views.progress import Progress
from .views.report import render_report
from .engine.session import Limits
from .submissions import SubmissionsError, survey

CSV_COLUMNS = ("student_id", "score", "max_score", "status", "flags")


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
    reason: str | None
    previous: dict | None  # a provisional result to merge GPU tests into
    gpu: bool = False  # on a cluster, only a GPU worker may grade it


def grade_all(course_root, assignment_id: str, submissions_path, out_dir, limits: Limits | None = None,
              options: Options | None = None, notebook_id: str | None = None, stream=sys.stderr,
              gpus: list[str] | None = None, stats: dict | None = None, only_gpu_command: str | None = None,
              engine=None) -> dict:
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
    with _locked(out / ".autograder.lock", f"another grading run is writing to {out}"), \
            _locked(Path(coursedir.root) / ".autograder-gradebook.lock",
                    f"another grading run is writing to the gradebook of {coursedir.root}"):
        remove_partials(out)
        # The class is found before the workers' kernels start: a small class starts no more warm
        # parents than it has notebooks.
        try:
            assignment = assignment_module.load(coursedir, assignment_id, notebook_id)
            found = survey(submissions_path, assignment_id, assignment.notebook_id)
        except (assignment_module.AssignmentError, SubmissionsError) as error:
            raise BatchError(str(error)) from None
        if not found.submissions:
            raise BatchError(f"no {assignment.notebook_id}.ipynb submissions found in {submissions_path}"
                             + "".join(f"\n  not graded: {i.origin}: {i.reason}" for i in found.ignored[:20]))
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
            return _grade_all(coursedir, assignment, found, out, limits, options, stream, runner,
                              only_gpu_command)
        finally:
            runner.close()


def _grade_all(coursedir, assignment, found, out: Path, limits: Limits, options: Options, stream, runner,
               only_gpu_command=None) -> dict:
    subs = found.submissions
    ignored = [(i.origin, i.reason) for i in found.ignored]
    renamed = [(sub.student_id, sub.origin) for sub in subs if sub.raw_id and sub.raw_id != sub.student_id]
    everyone, jobs, lowered = {}, [], []
    try:
        language = course.feedback_language(coursedir.root)
    except ValueError as error:
        raise BatchError(str(error)) from None
    gradebook_path = coursedir.db_url.removeprefix("sqlite:///")
    print(f"{_run_kind(options, gradebook_path, out)}; {runner.describe()}", file=stream)
    cuda = _check_kernels(limits.kernel_name, runner, options, stream)
    progress = Progress(len(subs), stream)
    with (gradebook.open_gradebook(coursedir) if options.record else nullcontext()) as gb:
        def record(job, graded, reused=False):
            results = graded.results
            if graded.log:  # a grader failure's traceback: for the instructor only
                append_log(out, job.sub.student_id, graded.log)
            if not reused:
                if job.sub.note:
                    results["extra_data"]["flags"].append(job.sub.note)
                results["extra_data"]["origin"] = job.sub.origin
                if job.previous is not None:
                    results = merge_gpu_tests(job.previous, results)
            before = _record(gb, coursedir, assignment, out, job.sub.student_id, results, graded.notebook, reused,
                             language)
            if before is not None and results["score"] < before:
                lowered.append((job.sub.student_id, before, results["score"]))
            everyone[job.sub.student_id] = results
            progress.done(job.sub.student_id, results, reused)

        for sub in subs:
            job, kept = _plan(sub, assignment, out, limits, options, cuda)
            if kept is not None:
                record(Job(sub, None, None, None), Graded(kept, None), reused=True)
            elif job.data is None:  # unreadable: no kernel needed
                record(job, not_readable(sub.student_id, assignment, job.reason, limits))
            else:
                jobs.append(job)
        for job, graded in runner.run(jobs, assignment, limits, progress, needs_gpu=lambda job: cuda and job.gpu):
            record(job, graded)
    progress.finish()
    for student, before, now in lowered:
        print(f"autograder: {student}: the gradebook held {before:g} automatic points; this run recorded {now:g}",
              file=stream)
    for origin, reason in ignored:
        print(f"not graded: {origin}: {reason}", file=stream)
    for student, origin in renamed:
        print(f"student id {student!r} comes from {origin}", file=stream)
    write_atomic(out / "grades.csv", grades_csv(everyone))
    run = {"lowered": lowered, "ignored": ignored, "renamed": renamed, "only_gpu_command": only_gpu_command,
           "recorded": options.record, "gradebook": gradebook_path}
    write_atomic(out / "report.html", render_report(everyone, f"{coursedir.course_id} · {assignment.assignment_id}",
                                                    run))
    return everyone


@contextmanager
def _locked(path: Path, busy: str):
    with open(path, "w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise BatchError(busy) from None
        yield


def _check_kernels(kernel_name: str, runner, options: Options, stream) -> bool:
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
        data, reason = None, str(problem)
    previous = _previous(out / sub.student_id / "results.json")
    provisional = previous is not None and previous["extra_data"]["status"] == R.PROVISIONAL
    expected = fingerprint(data if data is not None else reason.encode(), assignment, limits)
    up_to_date = previous is not None and previous["extra_data"].get("fingerprint") == expected
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


def _record(gb, coursedir, assignment, out: Path, student_id: str, results: dict, notebook,
            reused: bool = False, language: str = "en") -> float | None:
    """The gradebook entry (a recording run: `gb`), then feedback.html, then results.json last: the
    mark of a finished student. Returns the automatic points the gradebook held before, if any."""
    folder = out / student_id
    before = None
    if gb is not None:
        before = gradebook.recorded_auto_score(gb, assignment, student_id)
        gradebook.record(gb, coursedir, assignment, results, notebook)
    if reused:
        if not (folder / "feedback.html").exists():
            write_atomic(folder / "feedback.html", render_feedback(results, language, assignment.notebook_id))
        return before
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(folder / "feedback.html", render_feedback(results, language, assignment.notebook_id))
    write_atomic(folder / "results.json", json.dumps(results, indent=1, ensure_ascii=False) + "\n")
    return before


def provisional_count(everyone: dict) -> int:
    return sum(1 for results in everyone.values() if results["extra_data"]["status"] == R.PROVISIONAL)


def _previous(path: Path) -> dict | None:
    try:
        results = json.loads(path.read_text(encoding="utf-8"))
        return results if isinstance(results.get("extra_data"), dict) else None
    except (OSError, ValueError, AttributeError):
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
