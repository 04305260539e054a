"""The grading service (`python -m autograder serve`) on a real exchange: real `nbgrader submit` and
`nbgrader fetch_feedback` (as command lines with a HOME of the student's own, or nbgrader's own
ExchangeSubmit/ExchangeFetchFeedback classes in this process where a test submits many), the service
as a real process (`--once`, or long-running and killed with SIGKILL).

One scratch course for the module: its exchange made by `python -m autograder.exchange` (make
exchange) and the assignment released into it by real `nbgrader release_assignment`. Each test uses
students of its own. Course time zone Asia/Seoul; feedback limit 2 per 24 hours.
"""
import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import nbformat
import pytest
from nbgrader.api import Gradebook

from autograder_fixtures import autograder_command, notebook_bytes, run_autograder, submission
from course import ASSIGNMENT, COURSE_ID, ROOT, bin_path, copy_course, nbgrader_command
from test_messages import english_sentences

SEOUL = ZoneInfo("Asia/Seoul")
LIMIT = 2
WRONG = {"to_numpy": "def to_numpy(tensor):\n    return None",
         "numpy_error": "def numpy_error(tensor):\n    return None"}
SCORE = re.compile(r"점수: ([\d.]+) / ([\d.]+)")
WAIT_S = 90
SERVE_OPTIONS = ("--cell-timeout", "6", "--workers", "1")  # one warm parent: the tests' submissions come few at a time


@pytest.fixture(scope="module")
def course(tmp_path_factory):
    root = copy_course(tmp_path_factory.mktemp("service-course"))
    shutil.copytree(ROOT / "release", root / "release")
    with open(root / "nbgrader_config.py", "a") as config:
        config.write(f'\nc.CourseService.feedback_limit = {LIMIT}\n')  # the course's zone: Asia/Seoul
    made = run_autograder_module("autograder.exchange", root)
    assert made.returncode == 0, made.stderr
    release(root)
    return root


def release(root):
    """nbgrader's own release_assignment (ExchangeReleaseAssignment), in this process."""
    from nbgrader.auth import Authenticator
    from nbgrader.exchange.default.release_assignment import ExchangeReleaseAssignment
    from autograder import course
    config = course.read_config(root)
    config.CourseDirectory.root = str(root)
    config.CourseDirectory.assignment_id = ASSIGNMENT
    coursedir = course.load(root)
    coursedir.assignment_id = ASSIGNMENT
    ExchangeReleaseAssignment(coursedir=coursedir, authenticator=Authenticator(config=config), config=config).start()


def run_autograder_module(module, root):
    import sys
    return subprocess.run([sys.executable, "-m", module, str(root)], capture_output=True, text=True)


def exchange(root) -> Path:
    return root / "exchange" / COURSE_ID


def student_config(root, student, home):
    from traitlets.config import Config
    config = Config()
    config.Exchange.root = str(root / "exchange")
    config.Exchange.cache = str(home / ".local/share/jupyter/nbgrader_cache")
    config.Exchange.assignment_dir = str(home)
    config.Exchange.timezone = "Asia/Seoul"
    config.CourseDirectory.course_id = COURSE_ID
    config.CourseDirectory.student_id = student
    config.CourseDirectory.assignment_id = ASSIGNMENT
    return config


def put_notebook(home: Path, data: bytes, name=f"{ASSIGNMENT}.ipynb"):
    folder = home / ASSIGNMENT
    if folder.exists():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    (folder / name).write_bytes(data)


def submit(root, student, data: bytes, name=f"{ASSIGNMENT}.ipynb") -> str:
    """nbgrader's own submit (ExchangeSubmit, as `nbgrader submit` runs it) in this process; the inbound folder."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.submit import ExchangeSubmit
    home = root.parent / f"home-{student}"
    put_notebook(home, data, name)
    config = student_config(root, student, home)
    submitter = ExchangeSubmit(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config),
                               config=config)
    submitter.start()
    return submitter.assignment_filename


def fetched_pages(root, student) -> dict:
    """{timestamp: page} nbgrader's own fetch_feedback (ExchangeFetchFeedback) finds for the student."""
    from nbgrader.auth import Authenticator
    from nbgrader.coursedir import CourseDirectory
    from nbgrader.exchange.default.fetch_feedback import ExchangeFetchFeedback
    home = root.parent / f"home-{student}"
    config = student_config(root, student, home)
    ExchangeFetchFeedback(coursedir=CourseDirectory(config=config), authenticator=Authenticator(config=config),
                          config=config).start()
    return {p.parent.name: p.read_text() for p in (home / ASSIGNMENT / "feedback").glob("*/*.html")}


def ledger(root) -> dict:
    with sqlite3.connect(root / ".autograder-service.sqlite") as db:
        rows = db.execute("SELECT folder, student, state, gradings, trusted_at, limited, released_as FROM submissions")
        return {r[0]: dict(zip(("student", "state", "gradings", "trusted_at", "limited", "released_as"), r[1:]))
                for r in rows}


def wait_released(root, folders, process=None, timeout=WAIT_S) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        rows = ledger(root) if (root / ".autograder-service.sqlite").exists() else {}
        if all(rows.get(f, {}).get("state") == "released" for f in folders):
            return rows
        assert process is None or process.poll() is None, "the service died"
        assert time.monotonic() < deadline, f"not released in {timeout} s: {[rows.get(f) for f in folders]}"
        time.sleep(0.1)


def auto_score(root, student) -> float:
    with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
        notebook = gb.find_submission_notebook(ASSIGNMENT, ASSIGNMENT, student)
        return sum(g.auto_score or 0 for g in notebook.grades)


def results(root, student) -> dict:
    return json.loads((root / "grading" / f"serve-{ASSIGNMENT}" / student / "results.json").read_text())


def page_score(page: str) -> float:
    return float(SCORE.search(page).group(1))


def serve_once(root):
    return run_autograder("serve", ASSIGNMENT, "--course-root", root, "--once", *SERVE_OPTIONS, cwd=root, timeout=300)


def start_service(root, log: Path):
    with open(log, "a") as out:
        return subprocess.Popen(autograder_command("serve", ASSIGNMENT, "--course-root", root, *SERVE_OPTIONS),
                                cwd=root, env={**os.environ, "PATH": bin_path()}, stdout=out,
                                stderr=subprocess.STDOUT, start_new_session=True)


def stop(process, sig=signal.SIGTERM) -> None:
    if process.poll() is None:
        os.killpg(process.pid, sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_for_line(log: Path, text: str, timeout=WAIT_S) -> None:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert time.monotonic() < deadline, f"no {text!r} in {log.read_text()[-2000:]}"
        time.sleep(0.1)


def hand_in(root, student, stamp: str, files: dict) -> str:
    """nbgrader's inbound layout written by hand (a forged or hostile folder), complete with its secret."""
    name = f"{student}+{ASSIGNMENT}+{stamp}+{os.urandom(6).hex()}"
    folder = exchange(root) / "inbound" / name
    folder.mkdir()
    for file, data in {**files, "timestamp.txt": stamp.encode()}.items():
        (folder / file).write_bytes(data)
    (folder / "submission_secret.txt").write_text(os.urandom(64).hex())
    return name


def test_make_exchange_gives_nbgrader_modes_and_can_run_again(course):
    import stat
    again = run_autograder_module("autograder.exchange", course)
    assert again.returncode == 0 and "in place" in again.stdout
    modes = {path: stat.S_IMODE((course / "exchange" / path).stat().st_mode)
             for path in ("", COURSE_ID, f"{COURSE_ID}/outbound", f"{COURSE_ID}/inbound", f"{COURSE_ID}/feedback")}
    assert modes == {"": 0o777, COURSE_ID: 0o755, f"{COURSE_ID}/outbound": 0o755, f"{COURSE_ID}/inbound": 0o2733,
                     f"{COURSE_ID}/feedback": 0o711}


# --once: malformed, forged --------------------------------------------------------------------

@pytest.fixture(scope="module")
def once_run(course):
    """Malformed submissions, a forged early timestamp and a good one after them, graded by one `serve --once`."""
    other = nbformat.v4.new_notebook()
    other.cells.append(nbformat.v4.new_code_cell("answer = 42", metadata={"nbgrader": {
        "grade_id": "other_answer", "solution": True, "grade": False, "locked": False, "schema_version": 3}}))
    folders = {
        "erin": submit(course, "erin", b"this is not a notebook"),
        "frank": submit(course, "frank", notebook_bytes(other)),
        "gina": submit(course, "gina", b""),
        "hana": submit(course, "hana", b"{" + b" " * (20 * 2**20 + 10) + b"}"),
        "ivan": submit(course, "ivan", b"print('hi')", name="answers.py"),
    }
    year_early = (datetime.now(SEOUL) - timedelta(days=365)).strftime("%Y-%m-%d %H:%M:%S.%f %Z")
    folders["dana"] = hand_in(course, "dana", year_early, {f"{ASSIGNMENT}.ipynb": submission()})
    folders["oscar"] = hand_in(course, "oscar", year_early, {})  # the instructor's source as the answer: a link
    (exchange(course) / "inbound" / folders["oscar"] / f"{ASSIGNMENT}.ipynb").symlink_to(
        course / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb")
    folders["pia"] = hand_in(course, "pia", year_early, {})  # a FIFO: reading it would block for ever
    os.mkfifo(exchange(course) / "inbound" / folders["pia"] / f"{ASSIGNMENT}.ipynb")
    folders["jack"] = submit(course, "jack", submission())
    started = time.time()
    done = serve_once(course)
    assert done.returncode == 0, done.stderr
    return folders, started, done.stderr


def test_malformed_submissions_get_their_reason_and_the_service_goes_on(course, once_run):
    folders, _, log = once_run
    reasons = {"erin": "JSON", "frank": "노트북이 아니야",  # not a notebook; another assignment's
               "gina": "파일이 비어 있어", "hana": "20 MiB보다 커"}
    for student, reason in reasons.items():
        pages = fetched_pages(course, student)
        assert len(pages) == 1, student
        page = next(iter(pages.values()))
        assert 'lang="ko"' in page and "채점 안 됨" in page and reason in page, (student, page[-1500:])
        assert not english_sentences(page), student
        assert results(course, student)["extra_data"]["status"] == "invalid"
        assert auto_score(course, student) == 0
    for student in ("oscar", "pia"):  # hostile files: never followed, never read
        assert results(course, student)["extra_data"]["status"] == "invalid" and auto_score(course, student) == 0
        assert not any(p.is_symlink() or not p.is_file() for p in (course / "submitted" / student).rglob("*.ipynb"))
    assert "ivan" in log and "no notebook in it, so Fetch Feedback can't show ivan its page" in log
    assert results(course, "ivan")["extra_data"]["status"] == "invalid"
    jack = results(course, "jack")
    assert jack["extra_data"]["status"] == "provisional" and jack["score"] > 0
    assert auto_score(course, "jack") == jack["score"]
    assert {row["state"] for row in ledger(course).values()} == {"released"}
    assert {oct(p.stat().st_mode & 0o777) for p in (exchange(course) / "feedback").iterdir()} == {oct(0o644)}


def test_a_forged_early_timestamp_does_not_make_a_submission_early(course, once_run):
    folders, started, _ = once_run
    trusted = ledger(course)[folders["dana"]]["trusted_at"]
    assert started - 60 < trusted <= time.time()  # the service's time, not the year-early claim
    written = (course / "submitted" / "dana" / ASSIGNMENT / "timestamp.txt").read_text()
    assert abs(datetime.fromisoformat(written).timestamp() - trusted) < 1e-3
    lateness = results(course, "dana")["extra_data"]["lateness"]  # what the page and the late policy use
    assert abs(datetime.fromisoformat(lateness["submitted"]).timestamp() - trusted) < 1e-3
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}", COURSE_ID) as gb:
        recorded = gb.find_submission(ASSIGNMENT, "dana").timestamp
    assert abs((recorded if recorded.tzinfo else recorded.replace(tzinfo=timezone.utc)).timestamp() - trusted) < 1


def test_a_long_notebook_holds_up_only_its_own_worker(course, once_run, tmp_path):
    """A submission that arrives while another one loops is graded by the free worker at once, not after
    the loop's time limit: graders take up new work as they free up, never in rounds."""
    loops = submission(to_numpy="while True:\n    pass")  # its answer cell runs into the cell limit
    slow = hand_in(course, "slowpoke", datetime.now(SEOUL).strftime("%Y-%m-%d %H:%M:%S.%f ROK"),
                   {f"{ASSIGNMENT}.ipynb": loops})
    log = tmp_path / "serve.log"
    with open(log, "w") as out:
        process = subprocess.Popen(
            autograder_command("serve", ASSIGNMENT, "--course-root", course, "--once", "--cell-timeout", "12",
                               "--workers", "2"),
            cwd=course, env={**os.environ, "PATH": bin_path()}, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        wait_for_line(log, f"grading slowpoke ({slow})")
        quick = submit(course, "quick", submission())  # arrives while the loop holds one worker
        assert process.wait(180) == 0, log.read_text()[-2000:]
    finally:
        stop(process)
    text = log.read_text()
    assert text.index(f"released feedback for quick ({quick})") < text.index(f"released feedback for slowpoke ({slow})")
    assert results(course, "quick")["score"] > results(course, "slowpoke")["score"]


# The long-running service -------------------------------------------------------------------

@pytest.fixture(scope="module")
def service(course, once_run, tmp_path_factory):
    log = tmp_path_factory.mktemp("service-log") / "serve.log"
    process = start_service(course, log)
    wait_for_line(log, "watching: inotify")
    yield process, log
    stop(process)


def as_students(root, verb, students):
    """`nbgrader VERB lesson08` as each student runs it, all at once: in their HOME, with HOME set to it."""
    runs = []
    for student in students:
        home = root.parent / f"home-{student}"
        env = {**os.environ, "HOME": str(home), "PATH": bin_path()}
        runs.append(subprocess.Popen(
            nbgrader_command(verb, ASSIGNMENT, f"--student={student}", f"--Exchange.root={root / 'exchange'}",
                             f"--CourseDirectory.course_id={COURSE_ID}", "--Exchange.timezone=Asia/Seoul",
                             "--log-level=WARN"), cwd=home, env=env, stderr=subprocess.PIPE, text=True))
    for run in runs:
        assert run.wait(120) == 0, run.stderr.read()
        run.stderr.close()


def test_a_submission_gets_its_korean_feedback_through_fetch_feedback(course, service):
    process, log = service
    for student, data in (("kim", submission()), ("lee", submission(**WRONG))):
        put_notebook(course.parent / f"home-{student}", data)
    as_students(course, "submit", ("kim", "lee"))
    folders = {p.name.split("+")[0]: p.name for p in (exchange(course) / "inbound").iterdir()
               if p.name.split("+")[0] in ("kim", "lee")}
    rows = wait_released(course, list(folders.values()), process)
    as_students(course, "fetch_feedback", ("kim", "lee"))
    scores = {}
    for student in ("kim", "lee"):
        pages = list((course.parent / f"home-{student}" / ASSIGNMENT / "feedback").glob(f"*/{ASSIGNMENT}.html"))
        assert len(pages) == 1
        page = pages[0].read_text()
        assert 'lang="ko"' in page and f"피드백: {student}" in page
        scores[student] = page_score(page)
        assert scores[student] == results(course, student)["score"] == auto_score(course, student)
        assert rows[folders[student]]["gradings"] == 1
        assert log.read_text().count(f"released feedback for {student} ") == 1
    outcomes = {t["extra_data"]["outcome"] for t in results(course, "kim")["tests"]
                if not t["name"].startswith("written_")}
    assert outcomes == {"passed", "needs_gpu"}  # the reference passes every code test this machine runs
    assert "임시 점수" in page  # provisional on a CPU machine, and the page says so
    assert scores["lee"] < scores["kim"]


def test_grade_record_refuses_while_the_service_runs(course, service, tmp_path):
    busy = run_autograder("grade", ASSIGNMENT, "--submissions", course / "submitted", "--out", tmp_path / "out",
                          "--course", course, "--record", cwd=course)
    assert busy.returncode == 1
    assert "another grading run is writing to the gradebook" in busy.stderr and "autograder serve" in busy.stderr


def test_over_the_feedback_limit_a_submission_is_recorded_and_told_when_feedback_comes(course, service):
    process, _ = service
    folders = []
    for data in (submission(**WRONG), submission(**WRONG), submission()):
        folders.append(submit(course, "moon", data))
        wait_released(course, folders[-1:], process)
    rows = ledger(course)
    assert [rows[f]["limited"] for f in folders] == [0, 0, 1]
    pages = fetched_pages(course, "moon")
    assert len(pages) == 3
    third = pages[folders[2].split("+")[2]]
    first_at = datetime.fromtimestamp(rows[folders[0]]["trusted_at"] + 24 * 3600, SEOUL)
    next_minute = (first_at + timedelta(seconds=59)).replace(second=0, microsecond=0)
    assert f"{next_minute:%Y-%m-%d %H:%M} (Asia/Seoul)" in third and "제출물 잘 받았고 기록했어" in third
    assert "<table" not in third and "점수" not in third  # no test results at all
    assert not english_sentences(third)
    assert auto_score(course, "moon") == results(course, "moon")["score"] > page_score(pages[folders[0].split("+")[2]])


def test_kill_9_mid_burst_then_restart_loses_nothing_and_repeats_nothing(course, service):
    process, log = service
    burst = [(f"r{n}", submission() if n % 2 else submission(**WRONG)) for n in range(7)] + [("r0", submission())]
    folders = [submit(course, student, data) for student, data in burst[:5]]
    wait_for_line(log, "released feedback for r1 ")
    os.killpg(process.pid, signal.SIGKILL)  # mid-burst: some graded and released, some not yet
    process.wait()
    before = {f: ledger(course).get(f, {}).get("state") for f in folders}
    assert "released" in before.values() and set(before.values()) != {"released"}, before
    released = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (exchange(course) / "feedback").glob("*.html")}
    folders += [submit(course, student, data) for student, data in burst[5:]]  # while the service is down
    restarted = start_service(course, log)
    try:
        rows = wait_released(course, folders, restarted)
    finally:
        stop(restarted)
    assert [rows[f]["gradings"] for f in folders] == [1] * len(folders)
    text = log.read_text()
    for folder in folders:
        releases = [line for line in text.splitlines() if "released feedback for" in line and f"({folder})" in line]
        assert len(releases) == 1, folder  # one release line each
    for path, identity in released.items():  # pages released before the kill are not written again
        assert (path.stat().st_ino, path.stat().st_mtime_ns) == identity
    for student in {s for s, _ in burst}:
        assert len(fetched_pages(course, student)) == sum(1 for s, _ in burst if s == student)
    assert auto_score(course, "r0") == results(course, "r1")["score"] > 0  # r0's latest: the correct one
    assert rows[folders[-1]]["trusted_at"] > rows[folders[0]]["trusted_at"]


# The rules, without processes ------------------------------------------------------------------

def test_the_limit_counts_full_feedbacks_in_the_last_24_hours():
    from autograder.ledger import DAY, next_feedback
    assert next_feedback([], 2, 100.0) is None and next_feedback([10.0], 2, 100.0) is None
    assert next_feedback([10.0, 50.0], 2, 100.0) == 10.0 + DAY  # the oldest leaves the window first
    assert next_feedback([10.0, 50.0, 60.0], 2, 100.0) == 50.0 + DAY
    assert next_feedback([10.0, 50.0], None, 100.0) is None  # no limit set


def test_a_claimed_time_is_clamped_between_what_the_service_knows():
    from autograder.trusted_time import clamped
    assert clamped(1000.0, 2000.0, 3000.0) == 2000.0  # claims to predate the service's last look
    assert clamped(9000.0, 2000.0, 3000.0) == 3000.0  # claims the future
    assert clamped(2500.0, 2000.0, 3000.0) == 2500.0 and clamped(None, 2000.0, 3000.0) == 3000.0


def test_inbound_names_are_split_as_nbgrader_collect_splits_them():
    from autograder.exchange import parse_name
    info = parse_name("kim+extra+lesson08+2026-12-01 22:30:54.295559 ROK+AbC-12_x")
    assert (info.student_id, info.assignment_id, info.claimed) == ("kim+extra", "lesson08",
                                                                   "2026-12-01 22:30:54.295559 ROK")
    assert parse_name(".hidden+lesson08+t+r") is None and parse_name("README") is None
