"""How fast the grading service answers a class, and what it costs idle (figures, not a test).

Usage: python tools/bench_service.py [--students N] [--window S] [--idle S] [--verify K] [--endless N]
                                     [--seed X] [--log FILE]
       (defaults: 200 students over 300 s, 30 s of idle sampling, 3 checked with `nbgrader fetch_feedback`)

A scratch copy of the course, released by real nbgrader into an exchange made as `make exchange`
makes it; the service (`python -m autograder serve lesson08 --course-root SCRATCH`) runs as a
process of its own. Each simulated student has a HOME and an nbgrader student id of their own and
submits once, at a random moment within the window, one of the samples in samples/lesson08/ (mostly
correct, the rest half right, cheating or corrupted; --endless of them, 1 by default, carol's endless
loop). The submit is nbgrader's own ExchangeSubmit, run in this process with the student's own config
(what `nbgrader submit` runs, without a Python start-up per student: 200 of those would take the
service's 2 cores). For each submission: seconds from the submit's completion to its page being
fetchable, i.e. present in the exchange's feedback folder under the hash `nbgrader fetch_feedback`
computes from the student's cached secret. A few students then run the real `nbgrader fetch_feedback`
to show it finds the page.

Prints p50, p95 and max of those seconds, the service's CPU while idle (its process tree's
/proc/<pid>/stat over --idle seconds with nothing submitted, as a percentage of one core) and its
CPU per submission during the burst. Targets on the 2-core machine: p95 <= 30 s, idle < 1 %.
Exit status 1 when a submission never got its page.
"""
import argparse
import os
import random
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from course import ASSIGNMENT, bin_path, nbgrader, nbgrader_command, process_tree, scratch_course  # noqa: E402

from autograder import course as course_config  # noqa: E402

SAMPLES = ROOT / "samples" / ASSIGNMENT
# Correct, half right, cheating, corrupted; carol's endless loop (each test cell runs into the cell timeout:
# about 3 min of a core) is handed in by --endless students only: a class of them would need more CPU than
# 2 cores have, whatever the service does.
MIX = {"alice": 0.75, "bob": 0.12, "dave": 0.08, "erin": 0.05}
ENDLESS = "carol"
POLL_S = 0.2  # how often this process looks for released pages (one listing of the feedback folder)
START_TIMEOUT_S = 180
DRAIN_TIMEOUT_S = 300  # after the window, how long the last submissions may take
TICKS = os.sysconf("SC_CLK_TCK")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--students", type=int, default=200)
    parser.add_argument("--window", type=float, default=300, metavar="S", help="submissions spread over S seconds")
    parser.add_argument("--idle", type=float, default=30, metavar="S", help="idle CPU sampled over S seconds")
    parser.add_argument("--verify", type=int, default=3, metavar="K", help="students who run nbgrader fetch_feedback")
    parser.add_argument("--endless", type=int, default=1, metavar="N",
                        help=f"students who hand in {ENDLESS}'s endless loop (default 1)")
    parser.add_argument("--seed", type=int, default=8)
    parser.add_argument("--log", type=Path, metavar="FILE", help="keep the service's log there")
    args = parser.parse_args(argv)
    rng = random.Random(args.seed)
    with tempfile.TemporaryDirectory(prefix="bench-service-") as scratch:
        scratch = Path(scratch)
        root = prepare_course(scratch / "course")
        log = scratch / "serve.log"
        service = start_service(root, log)
        try:
            print(f"service started (pid {service.pid}); log {log}", flush=True)
            idle = idle_cpu(service.pid, args.idle) if args.idle > 0 else None
            config = course_config.read_config(root)
            students = [Student(f"s{n:03d}", scratch / "homes" / f"s{n:03d}", config) for n in range(args.students)]
            endless = set(rng.sample(range(len(students)), min(args.endless, len(students))))
            for n, student in enumerate(students):
                student.hand_in(ENDLESS if n in endless else rng.choices(list(MIX), weights=list(MIX.values()))[0])
            schedule = sorted((rng.uniform(0, args.window), student) for student in students)
            busy_before = tree_cpu(service.pid)
            burst_started = time.monotonic()
            run_burst(schedule, root, service)
            burst_cpu = tree_cpu(service.pid) - busy_before
            burst_s = time.monotonic() - burst_started
            verified = verify(students[:args.verify])
        finally:
            leftovers = stop(service)
            if args.log:
                shutil.copy(log, args.log)
        return report(args, students, idle, burst_cpu, burst_s, verified, leftovers, log)


def prepare_course(root: Path) -> Path:
    """A scratch course: generated and released by nbgrader into an exchange of nbgrader's modes."""
    scratch_course(root)
    made = subprocess.run([sys.executable, "-m", "autograder.exchange", str(root)], capture_output=True, text=True)
    if made.returncode:
        sys.exit(f"bench_service: the exchange could not be made:\n{made.stderr}")
    nbgrader(root, "release_assignment", ASSIGNMENT, "--force")
    return root


def start_service(root: Path, log: Path) -> subprocess.Popen:
    with open(log, "w") as out:
        command = [sys.executable, "-m", "autograder", "serve", ASSIGNMENT, "--course-root", str(root)]
        process = subprocess.Popen(command, cwd=root, env={**os.environ, "PATH": bin_path()}, stdout=out,
                                   stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + START_TIMEOUT_S
    while "watching:" not in log.read_text():
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            sys.exit(f"bench_service: the service did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return process


class Student:
    """A student of the simulated class: their HOME, their notebook, their submission and its answer."""

    def __init__(self, student_id: str, home: Path, course):
        self.id, self.home, self.course = student_id, home, course  # course: its nbgrader config
        self.sample = None
        self.submitted_at = self.fetchable_at = None
        self.feedback_name = None  # the page's name in the exchange's feedback folder

    def hand_in(self, sample: str) -> None:
        self.sample = sample
        folder = self.home / ASSIGNMENT
        folder.mkdir(parents=True)
        shutil.copy(SAMPLES / f"{sample}.ipynb", folder / f"{ASSIGNMENT}.ipynb")

    def config(self):
        """The student's nbgrader config: the course's exchange, zone and timestamp format; their own id,
        cache and folder (what a student's nbgrader_config.py and HOME give `nbgrader submit`)."""
        from traitlets.config import Config
        course, config = self.course, Config()
        config.Exchange.root = str(course.Exchange.root)
        config.Exchange.timezone = course.Exchange.get("timezone", "UTC")
        if course.Exchange.get("timestamp_format"):
            config.Exchange.timestamp_format = course.Exchange.timestamp_format
        config.Exchange.cache = str(self.home / ".local/share/jupyter/nbgrader_cache")
        config.Exchange.assignment_dir = str(self.home)
        config.CourseDirectory.course_id = course.CourseDirectory.course_id
        config.CourseDirectory.student_id = self.id
        config.CourseDirectory.assignment_id = ASSIGNMENT
        return config

    def submit(self) -> None:
        """nbgrader's ExchangeSubmit, as `nbgrader submit` runs it; then the page's name, as fetch_feedback
        computes it from the secret in the student's cache."""
        from nbgrader.auth import Authenticator
        from nbgrader.coursedir import CourseDirectory
        from nbgrader.exchange.default.submit import ExchangeSubmit
        from nbgrader.utils import notebook_hash
        config = self.config()
        submitter = ExchangeSubmit(coursedir=CourseDirectory(config=config),
                                   authenticator=Authenticator(config=config), config=config)
        submitter.log.setLevel("WARNING")
        submitter.start()
        self.submitted_at = time.monotonic()
        cached = Path(submitter.cache_path) / submitter.assignment_filename.rsplit("+", 1)[0]
        secret = (cached / "submission_secret.txt").read_text()
        self.feedback_name = f"{notebook_hash(secret=secret, notebook_id=ASSIGNMENT)}.html"

    @property
    def seconds(self):
        return None if self.fetchable_at is None else self.fetchable_at - self.submitted_at


def run_burst(schedule, root: Path, service: subprocess.Popen) -> None:
    """Submit each student at their moment; note when each page appears; until all have or time is up."""
    course = course_config.read_config(root)
    feedback = Path(course.Exchange.root) / course.CourseDirectory.course_id / "feedback"
    start = time.monotonic()
    pending, queue = {}, list(schedule)
    deadline = start + (schedule[-1][0] if schedule else 0) + DRAIN_TIMEOUT_S
    while (queue or pending) and time.monotonic() < deadline:
        while queue and time.monotonic() - start >= queue[0][0]:
            student = queue.pop(0)[1]
            student.submit()
            pending[student.feedback_name] = student
        released = set(os.listdir(feedback)) if feedback.is_dir() else set()
        now = time.monotonic()
        for name in [n for n in pending if n in released]:
            pending.pop(name).fetchable_at = now
        if service.poll() is not None:
            print(f"bench_service: the service exited with {service.returncode}", file=sys.stderr)
            return
        time.sleep(POLL_S)


def verify(students) -> dict:
    """The real `nbgrader fetch_feedback` as each of these students (their HOME): {id: page found}."""
    found = {}
    for student in students:
        env = {**os.environ, "HOME": str(student.home), "PATH": bin_path()}
        config = student.config()
        subprocess.run(nbgrader_command(
            "fetch_feedback", ASSIGNMENT, f"--student={student.id}", f"--Exchange.root={config.Exchange.root}",
            f"--Exchange.cache={config.Exchange.cache}",
            f"--CourseDirectory.course_id={config.CourseDirectory.course_id}",
            f"--Exchange.timezone={config.Exchange.timezone}", "--log-level=WARN"),
            cwd=student.home, env=env, capture_output=True, text=True)
        pages = list((student.home / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
        found[student.id] = len(pages) == 1 and 'lang="ko"' in pages[0].read_text(errors="replace")
    return found


def tree_cpu(pid: int) -> float:
    """CPU seconds of the process tree: each live process's user and system time, and its reaped children's."""
    total = 0
    for member in process_tree(pid):
        try:
            fields = Path(f"/proc/{member}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += sum(int(fields[i]) for i in (11, 12, 13, 14))  # utime stime cutime cstime
    return total / TICKS


def idle_cpu(pid: int, seconds: float) -> float:
    """The service tree's CPU over `seconds` with nothing submitted, as a percentage of one core."""
    time.sleep(2)  # the start's last prints settle
    before, started = tree_cpu(pid), time.monotonic()
    time.sleep(seconds)
    return 100 * (tree_cpu(pid) - before) / (time.monotonic() - started)


def stop(process: subprocess.Popen) -> list[int]:
    """SIGTERM (the service stops cleanly), SIGKILL after 30 s; the tree's processes still alive after."""
    members = process_tree(process.pid) if process.poll() is None else []
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
    time.sleep(0.5)
    return [pid for pid in members if Path(f"/proc/{pid}").exists()
            and Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"]


def report(args, students, idle, burst_cpu, burst_s, verified, leftovers, log) -> int:
    seconds = sorted(s.seconds for s in students if s.seconds is not None)
    missing = [s.id for s in students if s.seconds is None]
    print(f"\n{len(students)} students, one submission each within {args.window:g} s "
          f"({', '.join(f'{k} {sum(s.sample == k for s in students)}' for k in (*MIX, ENDLESS))}; seed {args.seed})")
    if seconds:
        p95 = seconds[min(len(seconds) - 1, max(0, round(0.95 * len(seconds)) - 1))]
        print(f"submit -> feedback fetchable: p50 {statistics.median(seconds):.2f} s, p95 {p95:.2f} s, "
              f"max {seconds[-1]:.2f} s   (target p95 <= 30 s: {'met' if p95 <= 30 else 'MISSED'}; "
              f"{sum(s > 30 for s in seconds)} over 30 s)")
        slowest = {k: max((s.seconds for s in students if s.sample == k and s.seconds is not None), default=None)
                   for k in (*MIX, ENDLESS)}
        print("slowest per sample: " + ", ".join(f"{k} {v:.1f} s" for k, v in slowest.items() if v is not None))
    if missing:
        print(f"no page within the wait for {len(missing)}: {', '.join(missing[:10])}")
    if idle is not None:
        print(f"service idle CPU: {idle:.2f} % of one core over {args.idle:g} s   "
              f"(target < 1 %: {'met' if idle < 1 else 'MISSED'})")
    if students:
        print(f"service CPU during the burst: {burst_cpu:.1f} s over {burst_s:.0f} s, "
              f"{burst_cpu / len(students):.2f} s per submission")
    print(f"nbgrader fetch_feedback found the page for {sum(verified.values())} of {len(verified)} students checked"
          + (f" (not: {', '.join(k for k, v in verified.items() if not v)})" if not all(verified.values()) else ""))
    if leftovers:
        print(f"bench_service: processes of the service left after it stopped: {leftovers}", file=sys.stderr)
    errors = log.read_text().count("the service failed on it")
    if errors or missing:
        print(f"the service's log ({errors} failure(s) of its own), its end:\n{log.read_text()[-3000:]}",
              file=sys.stderr)
    return 1 if missing or leftovers or not all(verified.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
