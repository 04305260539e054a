"""`python -m autograder serve ASSIGNMENT`: grade each submission as it arrives in nbgrader's exchange.

    watch.py     inotify wakes the service when inbound/ changes (a slow rescan besides)
    exchange.py  a folder is complete once nbgrader submit wrote its secret; collected safely into
                 submitted/<student>/<assignment>/ with the trusted timestamp.txt
    batch.py     graded on the warm engine (LocalRunner, open for the service's whole life) and
                 recorded by the batch's Recorder: gradebook, feedback.html, results.json
    exchange.py  the page released where `nbgrader fetch_feedback` finds it (atomic rename)
    ledger.py    each step committed, so kill -9 at any instant loses and repeats nothing

The service is the gradebook's single writer: it holds the course's gradebook lock while it runs.
The time of a submission is the service's, never the student's timestamp.txt: when the service
first saw the folder, or, for folders found at start-up, the claimed time clamped between the
service's last known-alive moment and now. Over the course's feedback limit
(`c.CourseService.feedback_limit` per rolling 24 hours) a submission is still graded and recorded,
but its page only says it was received and when the next feedback comes.
"""
import os
import pwd
import queue
import signal
import sys
import threading
import time
import traceback
from dataclasses import dataclass, replace
from pathlib import Path
from zoneinfo import ZoneInfo

from . import assignment as assignment_module, course, exchange as X, trusted_time as T
from .batch import ClassRun, Job, Options, Recorder, check_kernels, gradebook_lock
from .engine import EngineError
from .engine.kernelspec import grader_kernel
from .executors.gpus import visible_gpus
from .executors.local import LocalRunner
from .files import LOG_FILE, append_log, write_atomic
from .gradebook import open_gradebook
from .grade import not_readable
from .lateness import LatenessError, check_course, course_timezone
from .ledger import GRADED, RELEASED, SEEN, Ledger, next_feedback
from .limits import Limits
from .messages import say
from .submissions import MAX_NOTEBOOK_BYTES, Submission, safe_id
from .watch import Watcher


ALIVE_EVERY_S = 30.0  # how often an idle service records that it is alive (watch.py rescans every 45 s)
MAX_TRIES = 3  # a submission the service itself fails on (not a bad notebook: that is graded `invalid`)


class ServiceError(Exception):
    """The service cannot start (its setting or its exchange is wrong): one line with the fix."""


@dataclass
class ServiceJob(Job):
    row: object = None  # ledger.Row
    current: bool = True  # the student's latest submission: collected and recorded (else feedback only)


def serve(course_root, assignment_id: str, *, pages, limits: Limits | None = None, options: Options | None = None,
          once: bool = False, stream=sys.stderr, gpus: list[str] | None = None, engine=None) -> None:
    """Run until SIGTERM or SIGINT (or, `once`, until every complete submission is released). `gpus`, `engine`:
    as for batch.grade_all (an engine the caller opened, and closes)."""
    options = replace(options or Options(), record=True)
    coursedir = course.load(course_root)
    limits = limits or Limits()
    if not limits.kernel_name:
        limits = replace(limits, kernel_name=grader_kernel(coursedir.course_id))
    config = course.read_config(coursedir.root)
    exchange = X.of_course(config, coursedir.course_id)
    if not exchange.inbound.is_dir():
        raise ServiceError(f"no inbound folder {exchange.inbound} in nbgrader's exchange (c.Exchange.root in "
                           f"{course.CONFIG_FILE}): create the exchange with `make exchange`")
    try:
        check_course(coursedir.root)  # the zone and the deadlines, as a grading run checks them
        zone = course_timezone(coursedir.root)
    except LatenessError as error:
        raise ServiceError(str(error)) from None
    feedback_limit = _feedback_limit(config)
    if feedback_limit and pages.notice is None:
        raise ServiceError("a feedback limit needs the pages' `notice` (views.PAGES has it)")
    with gradebook_lock(coursedir):
        try:
            language = course.feedback_language(coursedir.root)
            assignment = assignment_module.load(coursedir, assignment_id)
        except (ValueError, assignment_module.AssignmentError) as error:
            raise ServiceError(str(error)) from None
        if not exchange.feedback.is_dir():
            exchange.feedback.mkdir()
            os.chmod(exchange.feedback, X.FEEDBACK_MODE)
        out = Path(coursedir.root) / "grading" / f"serve-{assignment_id}"
        out.mkdir(parents=True, exist_ok=True)
        runner = LocalRunner(options, limits, visible_gpus() if gpus is None else gpus, None, engine)
        try:
            runner.open()
        except EngineError as error:
            raise ServiceError(str(error)) from None
        ledger = Ledger(coursedir.root)
        try:
            cuda = check_kernels(limits.kernel_name, runner, options, stream)
            run = ClassRun(coursedir, assignment, out, limits, options, language, stream, pages)
            with open_gradebook(coursedir) as gb:
                service = Service(run, Recorder(run, gb, Log(stream)), runner, exchange, ledger, cuda,
                                  feedback_limit, zone)
                service.log(f"serving {coursedir.course_id}/{assignment_id} from {exchange.inbound}; "
                            f"{runner.describe()}; feedback limit: "
                            + (f"{feedback_limit} per 24 h" if feedback_limit else "none"))
                service.run(once)
        finally:
            ledger.close()
            runner.close()


class Log:
    """The Recorder's progress: a line per graded submission in the service's log."""

    def __init__(self, stream):
        self.stream = stream

    def start(self, student_id: str) -> None:
        pass

    def done(self, student_id: str, results: dict, reused: bool) -> None:
        extra = results["extra_data"]
        _log(self.stream, f"graded {student_id}: {results['score']:g}/{extra['max_score']:g} {extra['status']}")

    def finish(self) -> None:
        pass


def _log(stream, text: str) -> None:
    print(f"{time.strftime('%Y-%m-%d %H:%M:%S')} autograder serve: {text}", file=stream, flush=True)


class Service:
    def __init__(self, run: ClassRun, recorder: Recorder, runner, exchange: X.Exchange, ledger: Ledger, cuda: bool,
                 feedback_limit: int | None, zone: ZoneInfo):
        self.class_run, self.recorder, self.runner, self.exchange, self.ledger = run, recorder, runner, exchange, ledger
        self.cuda, self.limit, self.zone = cuda, feedback_limit, zone
        self.assignment = run.assignment
        self.notebook = f"{self.assignment.notebook_id}.ipynb"
        self.watcher: Watcher | None = None
        self.stopping = False
        self.ignored: set[str] = set()  # folders logged once as not gradable
        self.failures: dict[str, int] = {}  # folder → how often the service itself failed on it
        self.last_scan = ledger.alive_at()  # folders found later than this arrived after it
        self.alive_written = 0.0
        # Grading runs on `runner.workers` threads at once; recording and releasing stay on this one.
        self.in_flight: dict[str, ServiceJob] = {}  # folder → the job a grader thread holds
        self.done: queue.Queue = queue.Queue()  # (job, Graded or None, traceback or None)
        self.woken = threading.Event()  # a grader finished (without a watcher: --once)

    def log(self, text: str) -> None:
        _log(self.class_run.stream, text)

    def run(self, once: bool) -> None:
        handlers = {number: signal.signal(number, self._stop) for number in (signal.SIGTERM, signal.SIGINT)}
        try:
            if not once:
                self.watcher = Watcher(self.exchange.inbound)
                self.log(f"watching: {self.watcher.kind}")
            self.ledger.retry_failed(self.assignment.assignment_id)
            self.release_changed()
            for row in self.ledger.in_state(self.assignment.assignment_id, GRADED):  # killed before releasing
                self._guarded(row, self.release, row.folder, row.student, row.page)
            while not self.stopping:
                self.scan()
                moved = self.start_ready() + self.finish_done()
                if moved or time.time() - self.alive_written >= ALIVE_EVERY_S:
                    self.ledger.alive()
                    self.alive_written = time.time()
                if moved or self.stopping:
                    continue
                if once and not self.in_flight:
                    break
                if self.watcher is not None:
                    self.watcher.wait(self.watcher.interval)
                else:
                    self.woken.wait(1.0)
                    self.woken.clear()
            self.log("stopped" if self.stopping else "done: every complete submission is released")
        finally:
            if self.watcher is not None:
                self.watcher.close()
            for number, handler in handlers.items():
                signal.signal(number, handler)

    def release_changed(self) -> None:
        """Each student's latest page again where its result changed while the service was stopped: a
        `grade --only-gpu --record --out grading/serve-ASSIGNMENT` run on a CUDA machine graded the GPU tests
        and rewrote feedback.html there. (An over-the-limit page stays as it is.)"""
        latest = {row.student: row for row in self.ledger.in_state(self.assignment.assignment_id, RELEASED)}
        for student, row in latest.items():  # in_state: oldest first, so the latest stays
            try:
                page = (self.class_run.out / student / "feedback.html").read_bytes()
            except OSError:
                continue
            if not row.limited and page != row.page:
                self.log(f"{student}'s result changed since its feedback was released (a GPU run): releasing it again")
                self.ledger.changed(row.folder, page)

    def _stop(self, number, frame) -> None:
        self.stopping = True
        self._wake()

    def _wake(self) -> None:
        (self.watcher.changed if self.watcher is not None else self.woken).set()

    def scan(self) -> None:
        """Every new folder of this assignment in inbound/ into the ledger, with its trusted time."""
        now, a_id = time.time(), self.assignment.assignment_id
        try:
            entries = list(os.scandir(self.exchange.inbound))
        except OSError as error:
            self.log(f"cannot read {self.exchange.inbound}: {error}")
            return
        known = self.ledger.known(a_id)
        for entry in entries:
            name = entry.name
            info = X.parse_name(name)
            if info is None or info.assignment_id != a_id or name in known or name in self.ignored:
                continue
            if not entry.is_dir(follow_symlinks=False) or safe_id(info.student_id) != info.student_id:
                self.ignored.add(name)
                self.log(f"not a submission: {entry.path}: not a folder, or the student id {info.student_id!r} "
                         "can't name a folder")
                continue
            stamped = self.watcher.first_seen(name) if self.watcher else None
            trusted = stamped if stamped is not None else self._clamped(entry, now)
            self._check_owner(entry, info.student_id)
            self.ledger.seen(name, a_id, info.student_id, stamped or now, trusted)
            if self.watcher:
                self.watcher.watch_folder(name)
        self.last_scan = now

    def _clamped(self, entry, now: float) -> float:
        """A folder that arrived unseen (the service was down): its claimed time, clamped between the last
        moment the service is known to have looked (or, never having run, the folder's ctime) and now."""
        lower = self.last_scan if self.last_scan is not None else entry.stat(follow_symlinks=False).st_ctime
        return T.clamped(T.claimed(Path(entry.path), self.zone), lower, now)

    def _check_owner(self, entry, student_id: str) -> None:
        """nbgrader collect's check_owner: a folder another user wrote claims a student's name."""
        try:
            owner = pwd.getpwuid(entry.stat(follow_symlinks=False).st_uid).pw_name
        except (KeyError, OSError):
            owner = "an unknown user"
        if owner != student_id and owner != pwd.getpwuid(os.getuid()).pw_name:
            self.log(f"{entry.path} claims to be submitted by {student_id} but is owned by {owner}")

    def start_ready(self) -> int:
        """Hand each complete folder to a free grader (a student's oldest first, never two of one student at
        once): a long notebook holds up its own worker only, never the submissions that arrive meanwhile.
        An unreadable one is finished here (no kernel needed). How many were taken up."""
        workers, taken = max(1, self.runner.workers), 0
        busy = {job.row.student for job in self.in_flight.values()}
        for row in self.ledger.in_state(self.assignment.assignment_id, SEEN):
            if self.stopping or len(self.in_flight) >= workers:
                break
            if row.student in busy or X.secret_of(self.exchange.inbound / row.folder) is None:
                continue
            busy.add(row.student)
            taken += 1
            job = self._guarded(row, self.plan, row)
            if job is None:
                continue
            if job.data is None:
                graded = not_readable(job.sub.student_id, self.assignment, job.reason, self.class_run.limits)
                self._guarded(row, self.finish, job, graded)
                continue
            self.in_flight[row.folder] = job
            self.log(f"grading {row.student} ({row.folder})")
            threading.Thread(target=self._grade, args=(job,), name=f"grader {row.student}", daemon=True).start()
        return taken

    def _grade(self, job: ServiceJob) -> None:
        """A grader thread: grade one job on the runner and hand the outcome back to the service's thread."""
        try:
            [(_, graded)] = self.runner.run([job], self.assignment, self.class_run.limits, self.recorder.progress,
                                            needs_gpu=lambda job: self.cuda and job.gpu)
            self.done.put((job, graded, None))
        except Exception:  # the runner itself (a worker, the engine): tried again
            self.done.put((job, None, traceback.format_exc()))
        self._wake()

    def finish_done(self) -> int:
        """Record and release what the graders finished. How many."""
        finished = 0
        while True:
            try:
                job, graded, trace = self.done.get_nowait()
            except queue.Empty:
                return finished
            finished += 1
            del self.in_flight[job.row.folder]
            if trace is not None:
                self._failed(job.row, trace)
            else:
                self._guarded(job.row, self.finish, job, graded)

    def _guarded(self, row, step, *args):
        """step(*args), or None when the service itself fails on this submission: never the others' loss."""
        try:
            return step(*args)
        except Exception:
            self._failed(row, traceback.format_exc())
            return None

    def _failed(self, row, trace: str) -> None:
        self.failures[row.folder] = self.failures.get(row.folder, 0) + 1
        append_log(self.class_run.out, row.student, f"{row.folder}\n{trace}")
        self.log(f"{row.folder}: the service failed on it ({trace.strip().splitlines()[-1]}; traceback in "
                 f"{self.class_run.out / LOG_FILE})")
        if self.failures[row.folder] >= MAX_TRIES:
            self.ledger.failed(row.folder)
            self.log(f"{row.folder}: left after {MAX_TRIES} tries; the service tries it again when it next starts")

    def plan(self, row) -> ServiceJob:
        """Collect the folder (if it is the student's latest) and read its notebook."""
        coursedir, a_id = self.class_run.coursedir, self.assignment.assignment_id
        folder = self.exchange.inbound / row.folder
        latest = self.ledger.latest_recorded(a_id, row.student)
        current = latest is None or row.trusted_at >= latest
        data, reason = None, None
        try:
            data = X.read_capped(folder / self.notebook, MAX_NOTEBOOK_BYTES)
        except FileNotFoundError:
            reason = say("no_notebook_in", notebook=self.notebook, folder=f"{row.student}/{a_id}/")
        except X.TooLarge:
            reason = say("too_large", mib=MAX_NOTEBOOK_BYTES // 2**20)
        except (OSError, ValueError) as error:
            reason = say("unreadable", origin=self.notebook, error=str(error).replace(str(folder), row.student))
        path = folder / self.notebook
        if current:
            target = Path(coursedir.format_path(coursedir.submitted_directory, row.student, a_id))
            target.parent.mkdir(parents=True, exist_ok=True)
            skipped = []
            X.collect(folder, target, skipped)
            for line in skipped:
                self.log(f"{row.folder}: not collected: {line}")
            write_atomic(target / X.TIMESTAMP_FILE, T.stamp(row.trusted_at, self.zone))
            path = target / self.notebook
            if data is not None:
                write_atomic(path, data)  # the very bytes graded
        sub = Submission(row.student, str(folder / self.notebook), str(path), problem=reason)
        return ServiceJob(sub, data, reason, None, row=row, current=current)

    def finish(self, job: ServiceJob, graded) -> None:
        """Record (the student's latest only), decide the page, mark it graded, release it."""
        row, student = job.row, job.sub.student_id
        run = self.class_run
        if job.current:
            self.recorder.record(job, graded)
            page = (run.out / student / "feedback.html").read_bytes()
        else:
            self.log(f"{row.folder}: older than {student}'s latest recorded submission: its feedback is released, "
                     "the gradebook keeps the latest")
            page = run.pages.feedback(graded.result.to_dict(), run.language, self.assignment.notebook_id).encode()
        a_id = self.assignment.assignment_id
        next_at = next_feedback(self.ledger.feedback_times(a_id, student, row.trusted_at), self.limit, row.trusted_at)
        if next_at is not None:
            page = self._limited_page(row.trusted_at, next_at)
            self.log(f"{row.folder}: over the feedback limit ({self.limit} per 24 h): next feedback from "
                     f"{T.shown(next_at, self.zone, later=True)}")
        self.ledger.graded(row.folder, next_at is not None, page)
        self.release(row.folder, student, page)

    def _limited_page(self, submitted: float, next_at: float) -> bytes:
        lines = [say("service_limit_received", assignment=self.assignment.assignment_id,
                     submitted=T.shown(submitted, self.zone)),
                 say("service_limit_next", limit=self.limit, next=T.shown(next_at, self.zone, later=True),
                     zone=self.zone.key)]
        return self.class_run.pages.notice(say("service_limit_title"), lines, self.class_run.language).encode()

    def release(self, name: str, student: str, page: bytes) -> None:
        """The page where `nbgrader fetch_feedback` looks, under each name the student's cached notebooks
        have (the assignment's notebook if it is there), then marked released in the ledger."""
        folder = self.exchange.inbound / name
        secret = X.secret_of(folder)
        if secret is None:
            self.log(f"cannot release {name}: its {X.SECRET_FILE} is gone")
            return
        names = X.notebook_names(folder)
        names = [self.assignment.notebook_id] if self.assignment.notebook_id in names else names
        if not names:
            self.log(f"{name}: no notebook in it, so Fetch Feedback can't show {student} its page "
                     "(nbgrader looks feedback up by the submitted notebooks' names); its result is in the gradebook")
        wrote = [X.release(X.feedback_path(self.exchange, secret, notebook), page) for notebook in names]
        if any(wrote):
            self.log(f"released feedback for {student} ({name})")
        self.ledger.released(name, names)
        if self.watcher is not None:
            self.watcher.unwatch(name)


def _feedback_limit(config) -> int | None:
    limit = config.CourseService.get("feedback_limit")
    if limit is None:
        return None
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ServiceError(f"{course.CONFIG_FILE}: c.CourseService.feedback_limit = {limit!r}: give a whole number "
                           "of feedbacks per student per 24 hours, at least 1 (or leave it unset: no limit)")
    return limit
