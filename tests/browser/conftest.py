"""Browser tests: a real JupyterLab server on a scratch copy of the course, driven by Chromium.

One JupyterLab per test session, started the way `make lab` starts it (the repository's
jupyter_server_config.py), but in a temporary copy of the course so that nothing the tests
do (saving notebooks, grading, exporting) ever lands in the repository. Debian's Chromium
(/usr/bin/chromium, installed by tools/browser_setup.sh) runs headless through Playwright.
Every step leaves a screenshot in test-artifacts/browser/.
"""
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

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
ARTIFACTS = course.ROOT / "test-artifacts" / "browser"
SERVER_START_TIMEOUT = 90  # seconds
SERVER_STOP_TIMEOUT = 20
ACTION_TIMEOUT_MS = 30_000  # the default bound for any one Playwright wait


@pytest.fixture(scope="session")
def artifacts():
    """test-artifacts/browser/, emptied at the start of the session."""
    shutil.rmtree(ARTIFACTS, ignore_errors=True)
    ARTIFACTS.mkdir(parents=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def course_copy(tmp_path_factory, nbgrader_release):
    """A scratch copy of the course: source, config, gradebook from nbgrader, and the
    committed student release (what students actually get), in place of the regenerated one."""
    root = tmp_path_factory.mktemp("course") / "course"
    shutil.copytree(nbgrader_release, root)  # the session's generate_assignment: gradebook.db
    shutil.copy(course.ROOT / "jupyter_server_config.py", root)
    shutil.copy(course.RELEASE, root / "release" / course.ASSIGNMENT / course.RELEASE.name)
    return root


def _free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class LabServer:
    def __init__(self, root, port, token, process, log_path):
        self.root, self.port, self.token, self.process, self.log_path = root, port, token, process, log_path
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
    notification = dirs["settings"] / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    notification.parent.mkdir(parents=True)
    notification.write_text('{"fetchNews": "false", "checkForUpdates": false}\n')

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
    port, token = _free_port(), secrets.token_hex(16)
    command = [
        str(jupyter), "lab",
        f"--config={course_copy / 'jupyter_server_config.py'}",
        "--no-browser", f"--port={port}", "--port-retries=0",
        f"--IdentityProvider.token={token}",
        "--ServerApp.allow_root=True",  # CI containers run as root
        f"--LabApp.user_settings_dir={dirs['settings']}",
        f"--LabApp.workspaces_dir={dirs['workspaces']}",
        "--LabApp.extension_manager=readonly",  # no PyPI look-ups
        # window.jupyterapp, as JupyterLab's own Galata tests use it: the tests read the
        # notebook's state from it to know when a run has finished. Actions are real clicks.
        "--LabApp.expose_app_in_browser=True",
    ]
    log_path = artifacts / "jupyter-server.log"
    log = open(log_path, "w")
    process = subprocess.Popen(command, cwd=course_copy, env=env, stdout=log, stderr=subprocess.STDOUT,
                               stdin=subprocess.DEVNULL, start_new_session=True)
    server = LabServer(course_copy, port, token, process, log_path)
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
        print(f"jupyter server log (tail):\n{lab_server.log_tail()}")
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
