"""Browser tests: a real JupyterLab server on a scratch copy of the course, driven by Chromium.

One instructor's JupyterLab per test session (lab_server, with `page`), started the way `make lab`
starts it (the repository's jupyter_server_config.py), but in a temporary copy of the course so that
nothing the tests do (saving notebooks, grading, exporting) ever lands in the repository; and, for
the tests that need one, one student's (student_lab, with `student_page`): the student setup of
tools/student_setup.py with its own HOME, on the same course copy and its exchange. Debian's Chromium
(/usr/bin/chromium, installed by tools/browser_setup.sh) runs headless through Playwright.
Every step leaves a screenshot in test-artifacts/browser/.
"""
import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

import course  # tests/course.py (tests/conftest.py puts tests/ on sys.path)

sys.path.insert(0, str(course.ROOT / "tools"))
import student_setup  # noqa: E402  (tools/student_setup.py: the student's folder and JupyterLab)

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = course.ARTIFACTS / "browser"
SERVER_START_TIMEOUT = 90  # seconds
SERVER_STOP_TIMEOUT = 20
ACTION_TIMEOUT_MS = 30_000  # the default bound for any one Playwright wait
STUDENT_FACING = ("SUPPORT.md", "requirements.txt", f"notebooks/{course.ASSIGNMENT}.ipynb",
                  f"notebooks/{course.ASSIGNMENT}_more.ipynb")
STUDENT_ID = "student1"  # the trial student of student_lab (nbgrader's id in its submissions)
NO_NEWS = '{"fetchNews": "false", "checkForUpdates": false}\n'  # no toast over the screenshots (no network)


@pytest.fixture(scope="session")
def artifacts():
    """test-artifacts/browser/ (test-artifacts/ is emptied once a run: tests/conftest.py)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory, nbgrader_release):
    """A scratch copy of the course: source, config, gradebook from nbgrader, the committed student
    release (what students actually get) in place of the regenerated one, and the student-facing files
    a student's folder is made of (STUDENT_FACING)."""
    root = tmp_path_factory.mktemp("course") / "course"
    shutil.copytree(nbgrader_release, root)  # the session's generate_assignment: gradebook.db
    shutil.copy(course.ROOT / "jupyter_server_config.py", root)
    shutil.copy(course.RELEASE, root / "release" / course.ASSIGNMENT / course.RELEASE.name)
    for name in STUDENT_FACING:  # what the student setup (tools/student_setup.py) copies into a student's folder
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(course.ROOT / name, root / name)
    return root


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    """A running JupyterLab: `root` is its root folder (the course copy, or the student's course folder);
    `home` is the student's HOME for student_lab."""
    def __init__(self, root, port, token, process, log_path, home=None):
        self.root, self.port, self.token, self.process, self.log_path = root, port, token, process, log_path
        self.home = home
        self.url = f"http://127.0.0.1:{port}"

    def api(self, path, method="GET", timeout=10):
        request = urllib.request.Request(f"{self.url}{path}", method=method,
                                         headers={"Authorization": f"token {self.token}"})
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, response.read()

    def lab_url(self, workspace, path=None):
        """A fresh JupyterLab workspace per test, so one test's open tabs never leak into another."""
        tail = f"/tree/{path}" if path else ""
        return f"{self.url}/lab/workspaces/{workspace}{tail}?token={self.token}"

    def log_tail(self, chars=4000):
        try:
            return self.log_path.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no server log)"


@pytest.fixture(scope="session")
def lab_server(course_copy, artifacts, tmp_path_factory):
    """`jupyter lab` with the course's jupyter_server_config.py, on 127.0.0.1, a free port and a token."""
    jupyter = Path(sys.executable).parent / "jupyter"
    if not jupyter.exists():
        pytest.fail(f"no `jupyter` next to {sys.executable}: run the tests with the course's venv (make test)")
    home = tmp_path_factory.mktemp("jupyter-home")
    dirs = {name: home / name for name in ("config", "data", "runtime", "settings", "workspaces", "ipython")}
    for d in dirs.values():
        d.mkdir()
    # No "would you like news?" toast or update check over the screenshots (the network is closed).
    _no_news(dirs["settings"])

    env = {
        **os.environ,
        "PATH": course.bin_path(),  # nbgrader calls `alembic` by name
        # Nothing from the user's own Jupyter set-up (~/.jupyter, ~/.local/share/jupyter):
        # the course's venv and its config only.
        "JUPYTER_CONFIG_DIR": str(dirs["config"]),
        "JUPYTER_DATA_DIR": str(dirs["data"]),
        "JUPYTER_RUNTIME_DIR": str(dirs["runtime"]),
        "IPYTHONDIR": str(dirs["ipython"]),
    }
    command = [
        str(jupyter), "lab",
        f"--config={course_copy / 'jupyter_server_config.py'}",
        f"--LabApp.user_settings_dir={dirs['settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
    ]
    yield from _serve(command, course_copy, env, artifacts / "jupyter-server.log")


@pytest.fixture(scope="session")
def student_lab(course_copy, artifacts, tmp_path_factory):
    """A student's JupyterLab on the course machine, as the student starts it: tools/student_setup.py makes
    their course folder in their own HOME (config from the course copy's nbgrader_config.py; no assignment
    yet: they fetch it), and the README's command (`jupyter lab --config=jupyter_server_config.py`, the
    student config: no formgrader, no Create Assignment) runs in it with HOME and nothing of Jupyter's
    locations from outside. lesson08 is released into the course copy's exchange first, as `make release`
    does. The server's `root` is the student's folder, `home` their HOME; their nbgrader id is STUDENT_ID."""
    course.nbgrader(course_copy, "release_assignment", course.ASSIGNMENT, "--force")
    with student_server(course_copy, tmp_path_factory.mktemp("student-home"), artifacts / "student-server.log") as lab:
        yield lab


@pytest.fixture(scope="session")
def start_student_lab():
    """student_server, for a test that starts a student's JupyterLab of its own (`with start_student_lab(...)`)."""
    return student_server


@contextlib.contextmanager
def student_server(course_root, home, log_path, student_id=STUDENT_ID):
    """A student's JupyterLab as student_lab starts it, for the course at `course_root`, in `home`; stopped on exit."""
    folder = student_setup.make_folder(home, course_root, course.ASSIGNMENT, student_id=student_id)
    _no_news(home / ".jupyter" / "lab" / "user-settings")  # where JupyterLab keeps settings, under HOME
    env = student_setup.student_env(home, student_id, {**os.environ, "PATH": course.bin_path()})
    command = student_setup.lab_command(folder, Path(sys.executable).parent / "jupyter")
    yield from _serve(command, folder, env, log_path, home=home)


def _no_news(settings_dir):
    notification = Path(settings_dir) / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True, exist_ok=True)
    notification.write_text(NO_NEWS)


def _serve(command, root, env, log_path, home=None):
    """Start `command` (a `jupyter lab` with its config) in `root` on a free port with a token, wait until
    it answers, yield its LabServer, and stop it."""
    port, token = _free_port(), secrets.token_hex(16)
    command = command + [
        "--no-browser", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_root=True",  # CI containers run as root
        "--LabApp.extension_manager=readonly",  # no PyPI look-ups
        # window.jupyterapp, as JupyterLab's own Galata tests use it: the tests read the
        # notebook's state from it to know when a run has finished. Actions are real clicks.
        "--LabApp.expose_app_in_browser=True",
    ]
    log = open(log_path, "w")
    process = subprocess.Popen(command, cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    server = LabServer(root, port, token, process, log_path, home=home)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"jupyter lab exited with {process.returncode}:\n{server.log_tail()}")
            try:
                if server.api("/api/status", timeout=2)[0] == 200:
                    break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"jupyter lab did not answer within {SERVER_START_TIMEOUT}s:\n{server.log_tail()}")
            time.sleep(0.3)
        yield server
    finally:
        _stop(server)
        log.close()


def _stop(server):
    """Ask the server to shut down (it stops its kernels), then make sure its process group is gone."""
    process = server.process
    if process.poll() is None:
        try:
            server.api("/api/shutdown", method="POST", timeout=5)
        except (urllib.error.URLError, OSError):
            pass
        try:
            process.wait(timeout=SERVER_STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            pass
    for sig in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, sig)  # the group this fixture started (start_new_session)
        except ProcessLookupError:
            break
        try:
            process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: run tools/browser_setup.sh (make test runs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, lab_server, artifacts, request):
    """A fresh browser context per test; on failure, a screenshot of where it stopped."""
    yield from _page(browser, lab_server, artifacts, request)


@pytest.fixture
def student_page(browser, student_lab, artifacts, request):
    """`page` for student_lab's server (the instructor's server is not started for it)."""
    yield from _page(browser, student_lab, artifacts, request)


def _page(browser, server, artifacts, request):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, locale="en-US")
    context.set_default_timeout(ACTION_TIMEOUT_MS)
    page = context.new_page()
    errors = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    yield page
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        try:
            page.screenshot(path=str(artifacts / f"FAILED-{request.node.name}.png"))
        except Exception:  # noqa: BLE001  (the browser may be what failed)
            pass
        if errors:
            print("page errors:\n" + "\n".join(errors))
        print(f"jupyter server log (tail):\n{server.log_tail()}")
    context.close()


@pytest.hookimpl(hookwrapper=True, tryfirst=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.rep_call = report


@pytest.fixture
def shot(artifacts):
    """shot(page, "student-01-lesson-opened"): test-artifacts/browser/<step>.png."""
    def take(page, step):
        path = artifacts / f"{step}.png"
        page.screenshot(path=str(path))
        return path
    return take
