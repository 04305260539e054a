"""The grading sandbox under attack: real hostile code in real kernels of the warm engine.

Each test runs what a malicious submission would run, in a kernel forked from a sandboxed warm
parent (Session + open_engine("warm")), or a whole `grade` run, and checks what it achieved,
inside the sandbox and on the host. Nothing here reads the sandbox's configuration: a test fails
when the property it names stops holding.

A broken sandbox must fail these tests without harming the machine: a hostile write that lands
outside the sandbox is removed at once by the code that made it (and reported), the fork bomb
stops by itself at 1024 processes, and every process a test starts is killed at its end.
"""
import json
import os
import shutil
import socket
import sys
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path

import psutil
import pytest

from autograder import sandbox as sandboxing
from autograder.engine import open_engine
from autograder.engine.session import Limits, Session
from autograder_fixtures import grade_args, run_autograder, submission
from course import ROOT

SANDBOX = sandboxing.detect()
pytestmark = pytest.mark.skipif(not SANDBOX.enabled,
                                reason=f"no bubblewrap sandbox on this machine ({SANDBOX.reason}): nothing to attack")

KERNEL = "pytorch-course-grader"
SECRET_NAME = "AG_SANDBOX_TEST_SECRET"
SECRET = f"secret-{uuid.uuid4().hex}"
RESULT = "@@result@@"
VENV = Path(sys.prefix)


@pytest.fixture(scope="module")
def engine():
    """One warm engine for the module; the grader's environment holds a secret while it runs."""
    os.environ[SECRET_NAME] = SECRET
    engine = open_engine("warm", KERNEL)
    try:
        yield engine
    finally:
        engine.close()
        os.environ.pop(SECRET_NAME, None)


@contextmanager
def kernel(engine, **limits):
    with Session(Limits(**{"cell_timeout": 30.0, **limits}), engine) as session:
        yield session


def probe(session, code: str, timeout: float = 30.0) -> dict:
    """Run `code` (which fills a dict named `result`) in the kernel; the dict, back through JSON."""
    wrapped = f"import json as _json\nresult = {{}}\n{code}\nprint({RESULT!r} + _json.dumps(result))\n"
    reply = session.execute(wrapped, timeout)
    assert reply.status == "ok", (reply.status, reply.note, session.death, reply.outputs)
    text = "".join(o.get("text", "") for o in reply.outputs if o.get("output_type") == "stream")
    lines = [line for line in text.splitlines() if line.startswith(RESULT)]
    assert lines, text
    return json.JSONDecoder().raw_decode(lines[-1][len(RESULT):])[0]  # (a thread's output may follow on its line)


def works(engine) -> None:
    """A new kernel on the same engine starts and computes."""
    with kernel(engine) as session:
        assert probe(session, "result['two'] = 1 + 1") == {"two": 2}


def host_processes_with(marker: str) -> list:
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if any(marker in part for part in process.info["cmdline"] or ()):
                found.append(process.info["pid"])
        except psutil.Error:
            continue
    return found


def eventually(condition, seconds: float = 3.0):
    deadline = time.monotonic() + seconds
    while True:
        value = condition()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.1)


def kill_marked(marker: str) -> None:
    """Host-side cleanup: whatever a test started must not outlive it, even when the sandbox failed."""
    for pid in host_processes_with(marker):
        try:
            psutil.Process(pid).kill()
        except psutil.Error:
            pass


def engine_processes(engine) -> list:
    """Every process of this engine's warm parents: bubblewrap, the forkservers and what they forked."""
    found = []
    for parent in list(engine._parents):  # (WarmEngine's own list: the test needs the host pids)
        try:
            top = psutil.Process(parent.process.pid)
            found += [top, *top.children(recursive=True)]
        except psutil.NoSuchProcess:
            continue
    return found


def sandboxed_processes(engine) -> list:
    """This engine's processes other than bubblewrap itself."""
    found = []
    for process in engine_processes(engine):
        try:
            if process.name() != "bwrap":
                found.append(process)
        except psutil.NoSuchProcess:
            pass
    return found


# 1. No network ------------------------------------------------------------------------------------

def test_the_kernel_reaches_no_network_not_even_the_hosts_loopback(engine):
    listener = socket.create_server(("127.0.0.1", 0))
    listener.setblocking(False)
    port = listener.getsockname()[1]
    abstract = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)  # abstract unix sockets belong to the netns
    abstract_name = f"\0ag-sandbox-test-{uuid.uuid4().hex}"
    abstract.bind(abstract_name)
    abstract.listen()
    abstract.setblocking(False)
    try:
        with kernel(engine) as session:
            result = probe(session, f"""
import socket, time
def attempt(family, address, timeout):
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(timeout)
    started = time.monotonic()
    try:
        s.connect(address)
        outcome = "connected"
    except socket.timeout:
        outcome = "timeout"
    except OSError as e:
        outcome = f"{{type(e).__name__}} {{e.errno}}"
    finally:
        s.close()
    return [outcome, time.monotonic() - started]
result["loopback"] = attempt(socket.AF_INET, ("127.0.0.1", {port}), 5)
result["public"] = attempt(socket.AF_INET, ("1.1.1.1", 53), 2)
result["abstract"] = attempt(socket.AF_UNIX, {abstract_name!r}, 5)
result["interfaces"] = [name for _, name in socket.if_nameindex()]
""")
        for name in ("loopback", "public", "abstract"):
            outcome, seconds = result[name]
            assert outcome != "connected", f"{name}: the kernel connected out of its sandbox"
            assert outcome != "timeout" and seconds < 1.5, f"{name}: packets left the sandbox ({outcome}, {seconds:.1f} s)"
        assert result["interfaces"] in (["lo"], []), result["interfaces"]
        for server in (listener, abstract):
            with pytest.raises(BlockingIOError):
                server.accept()  # nobody ever knocked
    finally:
        listener.close()
        abstract.close()


# 2. Nothing outlives a submission ---------------------------------------------------------------------

def test_no_process_a_submission_starts_outlives_it(engine):
    marker = f"ag-outlive-{uuid.uuid4().hex}"
    with kernel(engine) as session:
        result = probe(session, f"""
import os, signal, subprocess, sys
stubborn = ("import signal, time\\n"
            "for s in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT): signal.signal(s, signal.SIG_IGN)\\n"
            "time.sleep(300)")
child = subprocess.Popen([sys.executable, "-c", stubborn, {marker!r} + "-session"], start_new_session=True,
                         stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
pid = os.fork()
if pid == 0:  # double fork: the grandchild is orphaned, in a session of its own
    try:
        os.setsid()
        if os.fork() == 0:
            os.execv(sys.executable, [sys.executable, "-c", stubborn, {marker!r} + "-daemon"])
    finally:
        os._exit(0)
os.waitpid(pid, 0)
result["child"] = child.pid
""")
        assert result["child"]
        running = eventually(lambda: len(host_processes_with(marker)) >= 2, 10)
        assert running, "the test cannot see the submission's processes from the host"
    try:
        left = eventually(lambda: not host_processes_with(marker), 3.0)
        assert left, f"still running after the submission ended: {host_processes_with(marker)}"
    finally:
        kill_marked(marker)


def test_a_submission_cannot_stop_its_warm_parent_to_outlive_itself():
    marker = f"ag-stop-{uuid.uuid4().hex}"
    engine = open_engine("warm", KERNEL)  # its own engine: the attack may leave its parent stopped
    try:
        session = Session(Limits(cell_timeout=30.0), engine)
        session.start()
        ender = threading.Thread(target=session.shutdown, daemon=True)
        try:
            probe(session, f"""
import os, signal, subprocess, sys
subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)", {marker!r}], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    os.kill(os.getppid(), signal.SIGSTOP)  # as root, the kernel's uid is not its parent's: refused
except PermissionError:
    pass
""")
            assert eventually(lambda: host_processes_with(marker), 10), "the test cannot see the submission's process"
            ender.start()
            # A parent that was stopped stops answering: the driver kills its whole sandbox.
            gone = eventually(lambda: not host_processes_with(marker), 45.0)
        finally:
            for process in engine_processes(engine):  # undo the attack, so the engine can close
                try:
                    if process.status() == psutil.STATUS_STOPPED:
                        process.resume()
                except psutil.Error:
                    pass
            if ender.ident is not None:
                ender.join(90)
        assert gone, "the submission's process outlived it: its warm parent was stopped and never reaped it"
        with kernel(engine) as after:  # and the engine grades on, with a new parent where needed
            assert after.execute("1 + 1", 30).status == "ok"
    finally:
        kill_marked(marker)
        engine.close()


# 3. Secrets are out of sight -----------------------------------------------------------------------------

def test_the_course_gradebook_outputs_and_the_graders_home_are_out_of_sight(engine, ag_course, tmp_path):
    root, coursedir = ag_course[0], ag_course[1]
    gradebook_path = Path(root) / "gradebook.db"
    if not gradebook_path.exists():
        from autograder.gradebook import open_gradebook
        open_gradebook(coursedir).close()
    out = tmp_path / "out"
    out.mkdir()
    (out / "results.json").write_text(SECRET)
    home = Path.home()
    home_entries = [str(p) for p in home.iterdir() if p.name != ".pyenv"]  # .pyenv holds the kernel's Python
    secret_paths = [str(root), str(gradebook_path), str(ROOT), str(ROOT / "source"), str(ROOT / "autograder"),
                    str(out), str(out / "results.json"), str(tmp_path), *home_entries]
    for path in secret_paths:
        assert os.path.exists(path), path  # on the host they are there
    with kernel(engine) as session:
        result = probe(session, f"""
import os, sys
pythons = {{os.path.realpath(p) for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)}}
def on_the_way(path, found):
    # a folder shown only because the kernel's Python lies below it, holding nothing else
    below = [p[len(path):].lstrip("/").split("/")[0] for p in pythons if p.startswith(path.rstrip("/") + "/")]
    return isinstance(found, list) and below and set(found) <= set(below)
result["visible"] = {{}}
for path in {secret_paths!r}:
    try:
        found = sorted(os.listdir(path))[:20] if os.path.isdir(path) else f"{{len(open(path, 'rb').read())}} bytes read"
    except OSError as e:
        found = None
    if (os.path.exists(path) or found is not None) and not on_the_way(path, found):
        result["visible"][path] = found
result["files_outside_python"] = []
for top in ({str(home)!r}, {str(ROOT)!r}, {str(tmp_path)!r}, {str(root)!r}):
    for folder, folders, files in os.walk(top):
        folders[:] = [f for f in folders if os.path.realpath(os.path.join(folder, f)) not in pythons]
        result["files_outside_python"] += [os.path.join(folder, f) for f in files]
        if len(result["files_outside_python"]) > 20:
            break
result["secret_in_env"] = any({SECRET!r} in v for v in os.environ.values()) or {SECRET_NAME!r} in os.environ
result["pids"], result["secret_in_proc"] = {{}}, []
for pid in [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        result["pids"][pid] = open(f"/proc/{{pid}}/cmdline", "rb").read().replace(b"\\0", b" ").decode()[:300]
    except OSError:
        continue
    for part in ("environ", "cmdline"):
        try:
            if {SECRET!r}.encode() in open(f"/proc/{{pid}}/{{part}}", "rb").read():
                result["secret_in_proc"].append(f"{{pid}}/{{part}}")
        except OSError:
            pass
try:
    os.kill({os.getpid()}, 0)
    result["test_pid"] = "exists"
except ProcessLookupError:
    result["test_pid"] = "no such process"
except PermissionError:
    result["test_pid"] = "exists (not ours)"
try:
    with open("/proc/{os.getpid()}/environ", "rb") as f:
        result["test_environ"] = {SECRET!r}.encode() in f.read()
except OSError:
    result["test_environ"] = None
try:
    with open("/proc/{os.getpid()}/mem", "rb") as f:
        f.read(1)
    result["test_mem"] = "readable"
except OSError as e:
    result["test_mem"] = repr(e)
""")
    assert result["visible"] == {}, f"the kernel sees: {result['visible']}"
    assert result["files_outside_python"] == [], \
        f"files of the grader's home or the course, besides the kernel's Python: {result['files_outside_python'][:20]}"
    assert not result["secret_in_env"] and not result["secret_in_proc"], result["secret_in_proc"]
    assert not any("pytest" in cmdline for cmdline in result["pids"].values()), result["pids"]
    assert len(result["pids"]) < 10, result["pids"]  # the sandbox's own processes only
    test_pid = str(os.getpid())
    if result["test_pid"] != "no such process":  # the same number can name a process of the sandbox
        assert "pytest" not in result["pids"].get(test_pid, ""), result["pids"]
    assert result["test_environ"] is not True
    assert result["test_mem"] != "readable" or test_pid in result["pids"]


# 4. Writes land in scratch only, and are wiped ---------------------------------------------------------

def test_writes_stay_in_scratch_and_the_next_submission_never_sees_them(engine):
    marker = f"ag-write-{uuid.uuid4().hex}"
    host_startup = Path.home() / ".ipython" / "profile_default" / "startup"
    startup_before = set(os.listdir(host_startup)) if host_startup.is_dir() else set()
    tmp_before = set(os.listdir("/tmp"))
    try:
        check_writes(engine, marker, host_startup, startup_before, tmp_before)
    finally:  # if the sandbox failed, leave nothing of the attack on the host
        for path in (Path("/tmp/x"), Path("/tmp", marker)):
            if path.is_file() and marker in path.read_text(errors="replace"):
                path.unlink()


def check_writes(engine, marker, host_startup, startup_before, tmp_before):
    with kernel(engine) as session:
        written = probe(session, f"""
import os, sys, site
def write(path, text={marker!r}):
    try:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(text)
        return "written"
    except OSError as e:
        return type(e).__name__
def write_outside(path):
    # must fail; if it does not, the file (harmless content) is removed at once, and the test reports it
    try:
        with open(path, "x") as f:
            f.write("# " + {marker!r} + "\\n")
    except OSError as e:
        return type(e).__name__
    os.unlink(path)
    return "written"
startup = os.path.join(os.path.expanduser("~"), ".ipython", "profile_default", "startup", "evil.py")
result["cwd"] = write(os.path.join(os.getcwd(), "scratch-" + {marker!r}))
result["startup"] = write(startup, "PWNED = 1\\n")
result["tmp"] = write("/tmp/x")
result["tmp_marker"] = write("/tmp/" + {marker!r})
result["ipc"] = write("/ipc/" + {marker!r}) if os.path.isdir("/ipc") else "no /ipc"
result["root_dir"] = write_outside("/" + {marker!r})
result["root_home"] = write_outside({str(host_startup)!r} + "/" + {marker!r} + ".py")
result["prefix"] = {{}}
for folder in {{*site.getsitepackages(), sys.prefix, sys.base_prefix, os.path.dirname(sys.executable)}}:
    result["prefix"][folder] = write_outside(os.path.join(folder, "evil-" + {marker!r} + ".pth"))
result["home"] = os.path.expanduser("~")
""")
    assert written["cwd"] == written["startup"] == written["tmp"] == written["tmp_marker"] == "written", written
    assert written["root_dir"] in ("PermissionError", "OSError"), written
    assert written["root_home"] != "written", written
    assert set(written["prefix"].values()) <= {"PermissionError", "OSError"}, written
    with kernel(engine) as session:
        after = probe(session, f"""
import os
result["pwned"] = "PWNED" in globals() or "PWNED" in os.environ
result["left"] = [p for p in ("scratch-" + {marker!r}, "/tmp/x", "/tmp/" + {marker!r}, "/ipc/" + {marker!r},
                              {written['home']!r} + "/.ipython/profile_default/startup/evil.py")
                  if os.path.exists(p)]
result["cwd"] = sorted(os.listdir("."))
result["tmp"] = sorted(os.listdir("/tmp"))
""")
    assert not after["pwned"], "the previous submission's startup file ran in this kernel"
    assert after["left"] == [], after
    # /tmp holds nothing but the way to the kernel's Python, when that lives below /tmp (a clone in /tmp)
    python_below_tmp = {Path(f).relative_to("/tmp").parts[0] for f in sandboxing.python_folders(sys.executable)
                        if f.startswith("/tmp/")}
    assert set(after["tmp"]) == python_below_tmp, after
    assert len(after["cwd"]) == 1 and after["cwd"][0].startswith("home-"), after  # only its own, new home
    # the host never saw any of it
    startup_after = set(os.listdir(host_startup)) if host_startup.is_dir() else set()
    assert startup_after == startup_before
    tmp_new = set(os.listdir("/tmp")) - tmp_before
    assert "x" not in tmp_new and marker not in tmp_new, tmp_new
    for name in tmp_new:
        path = Path("/tmp", name)
        if path.is_file() and not path.is_symlink():
            try:
                assert marker not in path.read_text(errors="replace")[:100_000], path
            except OSError:
                pass
    assert not [f for d, _, fs in os.walk(VENV) for f in fs if marker in f]
    for parent in engine._parents:
        assert marker not in os.listdir(parent.ipc_dir)


def test_a_submission_cannot_lock_files_into_the_next_one(engine):
    marker = f"ag-lock-{uuid.uuid4().hex}"
    with kernel(engine) as session:
        probe(session, f"""
import os
home = os.path.expanduser("~")
startup = os.path.join(home, ".ipython", "profile_default", "startup")
os.makedirs(startup, exist_ok=True)
with open(os.path.join(startup, "00-evil.py"), "w") as f:
    f.write("PWNED = 1\\n")
import tempfile
for base in (os.getcwd(), tempfile.gettempdir(), "/ipc"):
    if not os.path.isdir(base):
        continue
    folder = os.path.join(base, {marker!r})
    os.makedirs(folder + "/inner")
    with open(folder + "/inner/left", "w") as f:
        f.write({marker!r})
    os.chmod(folder + "/inner", 0)
    os.chmod(folder, 0o500)
for folder in (startup, os.path.dirname(startup)):  # .ipython stays writable, so IPython keeps using it
    os.chmod(folder, 0o555)
""")
    with kernel(engine) as session:
        after = probe(session, f"""
import os
result["pwned"] = "PWNED" in globals()
import tempfile
result["left"] = [os.path.join(base, {marker!r}) for base in (os.getcwd(), tempfile.gettempdir(), "/ipc")
                  if os.path.exists(os.path.join(base, {marker!r}))]
""")
    assert not after["pwned"], "a startup file of the previous submission ran in this kernel"
    assert after["left"] == [], f"left over from the previous submission: {after['left']}"


# 5. Limits ------------------------------------------------------------------------------------------------

HOGS = {
    "torch": "import torch\nx = torch.ones(6 * 2**30, dtype=torch.uint8)\nprint(int(x[-1]))",
    "numpy": "import numpy as np\nx = np.ones(6 * 2**30, dtype=np.uint8)\nprint(int(x[-1]))",
    # shared memory is not data (RLIMIT_DATA): the grader's memory watch must stop it
    "shared mmap": ("import mmap, numpy as np\nm = mmap.mmap(-1, 6 * 2**30)\nv = np.frombuffer(m, dtype=np.uint8)\n"
                    "for i in range(0, len(v), 2**28):\n    v[i:i + 2**28] = 1\nprint(int(v[-1]))"),
}


@pytest.mark.slow
@pytest.mark.parametrize("hog", list(HOGS))
def test_six_gib_is_refused_or_the_kernel_is_stopped_and_the_next_submission_runs(engine, hog):
    with kernel(engine) as session:
        reply = session.execute(HOGS[hog], 60)
        if reply.status == "error":
            error = reply.content
            assert error["ename"] in ("RuntimeError", "MemoryError"), error
            assert "memory" in error["evalue"].lower() or "allocate" in error["evalue"].lower(), error["evalue"]
            assert probe(session, "result['two'] = 1 + 1") == {"two": 2}  # the kernel survived
        else:
            assert reply.status == "died", (reply.status, reply.outputs)
            assert session.death.code == "memory_limit", session.death
    works(engine)


@pytest.mark.slow
def test_a_fork_bomb_is_contained_and_ended_with_the_submission(engine):
    marker = f"ag-bomb-{uuid.uuid4().hex}"
    # doubles ten times, retrying every refused fork at once: 1024 processes unless something stops it
    bomb = ("import os, time\nleft = 10\nwhile left:\n    try:\n        os.fork()\n        left -= 1\n"
            "    except OSError:\n        time.sleep(0.001)\ntime.sleep(300)\n")
    with kernel(engine) as session:
        reply = session.execute(f"""
import subprocess, sys, time
subprocess.Popen([sys.executable, "-c", {bomb!r}, {marker!r}], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
time.sleep(3)
""", 20)
        assert reply.status in ("ok", "timeout"), (reply.status, reply.note, session.death)
        try:
            bombs = len(host_processes_with(marker))
            assert bombs > 20, f"the fork bomb did not go off ({bombs} processes): the test proves nothing"
            assert bombs <= sandboxing.MAX_PROCESSES, f"{bombs} processes: the process limit did not hold"
        except BaseException:
            kill_marked(marker)
            raise
    try:
        assert eventually(lambda: not host_processes_with(marker), 3.0), "fork bomb processes outlived the submission"
    finally:
        kill_marked(marker)
    left = [(p.pid, p.cmdline()) for p in sandboxed_processes(engine)]
    assert len(left) == len(engine._parents), f"only the warm parents (forkservers) may remain: {left}"
    works(engine)


def test_no_file_over_64_mib_can_be_written(engine):
    with kernel(engine) as session:
        result = probe(session, """
import errno, os
for path in ("big", "/tmp/big"):
    try:
        with open(path, "wb") as f:
            for _ in range(65):
                f.write(b"\\0" * 2**20)
                f.flush()
        outcome = "written"
    except OSError as e:
        outcome = errno.errorcode.get(e.errno, str(e.errno))
    result[path] = [outcome, os.path.getsize(path)]
    os.unlink(path)
""")
    for path, (outcome, size) in result.items():
        assert outcome == "EFBIG" and size <= sandboxing.MAX_FILE_BYTES, (path, outcome, size)


# 6. Unprivileged -------------------------------------------------------------------------------------------

def test_the_kernel_is_an_unprivileged_user_with_no_capabilities(engine):
    with kernel(engine) as session:
        result = probe(session, """
import ctypes, os
result["ids"] = [*os.getresuid(), *os.getresgid()]
status = dict(line.split(":", 1) for line in open("/proc/self/status") if ":" in line)
result["caps"] = {k: int(status[k], 16) for k in ("CapEff", "CapPrm", "CapAmb")}
def attempt(f, *args):
    try:
        f(*args)
        return "allowed"
    except OSError as e:
        return type(e).__name__
result["setuid"] = attempt(os.setuid, 0)
result["seteuid"] = attempt(os.seteuid, 0)
result["setgroups"] = attempt(os.setgroups, [0])
open("mine", "w").close()
result["chown"] = attempt(os.chown, "mine", 0, 0)
os.makedirs("mnt", exist_ok=True)
libc = ctypes.CDLL(None, use_errno=True)
rc = libc.mount(b"none", b"mnt", b"tmpfs", 0, None)
result["mount"] = "allowed" if rc == 0 else os.strerror(ctypes.get_errno())
if rc == 0:
    libc.umount(b"mnt")
""")
    assert 0 not in result["ids"], result["ids"]
    assert result["caps"] == {"CapEff": 0, "CapPrm": 0, "CapAmb": 0}, result["caps"]
    for action in ("setuid", "seteuid", "setgroups", "chown", "mount"):
        assert result[action] != "allowed", (action, result)


# 7. Without a sandbox -----------------------------------------------------------------------------------------

@pytest.mark.slow
def test_without_bwrap_require_sandbox_refuses_and_a_plain_run_warns_once(ag_course, tmp_path):
    root = ag_course[0]
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    (submissions / "alice.ipynb").write_bytes(submission())
    bare = tmp_path / "bin"  # nothing but the venv's scripts and a python3: no bwrap
    bare.mkdir()
    (bare / "python3").symlink_to(sys.executable)
    path = os.pathsep.join([str(VENV / "bin"), str(bare)])
    assert shutil.which("bwrap", path=path) is None
    assert shutil.which("bwrap") is not None
    no_bwrap = {"PATH": path}

    refused = run_autograder(*grade_args(root, submissions, tmp_path / "refused", "--require-sandbox",
                                         cell_timeout=10), env=no_bwrap, cwd=root, timeout=300)
    assert refused.returncode != 0
    assert "sandbox" in refused.stderr and "bwrap" in refused.stderr, refused.stderr
    assert not (tmp_path / "refused" / "alice" / "results.json").exists()

    plain = run_autograder(*grade_args(root, submissions, tmp_path / "plain", cell_timeout=10),
                           env=no_bwrap, cwd=root, timeout=300)
    assert plain.returncode == 0, plain.stderr
    assert plain.stderr.count("unsandboxed") == 1, plain.stderr
    results = json.loads((tmp_path / "plain" / "alice" / "results.json").read_text())
    assert results["extra_data"]["kernel"]["sandbox"] == "none"

    sandboxed = run_autograder(*grade_args(root, submissions, tmp_path / "sandboxed", "--require-sandbox",
                                           cell_timeout=10), cwd=root, timeout=300)
    assert sandboxed.returncode == 0, sandboxed.stderr
    assert "unsandboxed" not in sandboxed.stderr
    results = json.loads((tmp_path / "sandboxed" / "alice" / "results.json").read_text())
    assert results["extra_data"]["kernel"]["sandbox"] == "bwrap"
    unsandboxed = json.loads((tmp_path / "plain" / "alice" / "results.json").read_text())
    assert results["score"] == unsandboxed["score"] > 0  # the sandbox takes nothing from a correct notebook


# 8. Nothing one submission leaves reaches the next -------------------------------------------------------

def test_system_v_and_posix_ipc_carry_nothing_to_the_next_submission_and_count_against_its_memory(engine):
    key, name = 0x5A17_0000 + os.getpid() % 0xFFFF, f"/ag-mq-{uuid.uuid4().hex[:8]}"
    libc = """
import ctypes, os
libc = ctypes.CDLL(None, use_errno=True)
libc.shmat.restype = ctypes.c_void_p
libc.mq_open.argtypes = [ctypes.c_char_p, ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
def outcome(rc):
    return "ok" if rc >= 0 else os.strerror(ctypes.get_errno())
def tables():
    return {kind: open(f"/proc/sysvipc/{kind}").read().splitlines()[1:] for kind in ("shm", "msg", "sem")}
"""
    with kernel(engine) as session:
        first = probe(session, libc + f"""
shm = libc.shmget({key}, 2**20, 0o1666)
result["shm"] = outcome(shm)
if shm >= 0:
    address = libc.shmat(shm, None, 0)
    ctypes.memmove(address, b"left by the first submission", 29)
    libc.shmdt(ctypes.c_void_p(address))
queue = libc.msgget({key}, 0o1666)
result["msg"] = outcome(queue)
if queue >= 0:
    message = ctypes.create_string_buffer(ctypes.sizeof(ctypes.c_long) + 32)
    ctypes.c_long.from_buffer(message).value = 1
    libc.msgsnd(queue, message, 32, 0)
result["sem"] = outcome(libc.semget({key}, 1, 0o1666))
result["mq"] = outcome(libc.mq_open({name.encode()!r}, os.O_CREAT | os.O_RDWR, 0o666, None))
big = libc.shmget(0, 256 * 2**20, 0o1600)  # detached, it is in no process's memory
result["big"] = outcome(big)
if big >= 0:
    address = libc.shmat(big, None, 0)
    ctypes.memset(address, 1, 256 * 2**20)
    libc.shmdt(ctypes.c_void_p(address))
result["tables"] = tables()
""")
        if first["big"] == "ok":  # allowed: then it counts against the submission's memory
            assert session.process.poll()[2] > 256 * 2**20, first
        created = [kind for kind in ("shm", "msg", "sem", "mq") if first[kind] == "ok"]
    with kernel(engine) as session:
        second = probe(session, libc + f"""
result["shm"] = outcome(libc.shmget({key}, 0, 0))
result["msg"] = outcome(libc.msgget({key}, 0))
result["sem"] = outcome(libc.semget({key}, 0, 0))
result["mq"] = outcome(libc.mq_open({name.encode()!r}, os.O_RDONLY, 0, None))
result["tables"] = tables()
""")
    assert second["tables"] == {"shm": [], "msg": [], "sem": []}, (created, second)
    assert "ok" not in (second["shm"], second["msg"], second["sem"], second["mq"]), (created, second)
    works(engine)


def test_the_kernel_holds_no_descriptor_of_the_host(engine):
    marker = f"ag-fd-{uuid.uuid4().hex}"
    with kernel(engine) as session:
        logs = {Path(parent.log_path): Path(parent.log_path).stat().st_size for parent in engine._parents}
        result = probe(session, f"""
import os, stat
result["files"], result["written"] = {{}}, []
for fd in map(int, os.listdir("/proc/self/fd")):
    try:
        mode, target = os.fstat(fd).st_mode, os.readlink(f"/proc/self/fd/{{fd}}")
    except OSError:
        continue
    if stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISCHR(mode) and target != "/dev/null":
        result["files"][fd] = target
    if stat.S_ISREG(mode) or stat.S_ISFIFO(mode) or stat.S_ISCHR(mode):  # a file or pipe of the host's?
        try:
            os.write(fd, {marker!r}.encode() + b"\\n")
            result["written"].append(fd)
        except OSError:
            pass
""")
    assert {fd: path for fd, path in result["files"].items()
            if not path.startswith(("/scratch/", "/tmp/", "/ipc/"))} == {}, result
    for log, size in logs.items():
        if log.exists():
            assert marker not in log.read_text(errors="replace"), f"the kernel wrote into {log} through {result}"
            assert log.stat().st_size == size, (log, size, log.stat().st_size)


I386_CLONE = """
import ctypes, mmap, os, signal
# clone(CLONE_NEWUSER | SIGCHLD) as an i386 system call (int 0x80) from this 64-bit process
code = bytes([0x53, 0xB8, 120, 0, 0, 0, 0xBB]) + (0x10000000 | signal.SIGCHLD).to_bytes(4, "little") + bytes([
    0x31, 0xC9, 0x31, 0xD2, 0x31, 0xF6, 0x31, 0xFF, 0xCD, 0x80, 0x5B, 0xC3])
page = mmap.mmap(-1, 4096, prot=mmap.PROT_READ | mmap.PROT_WRITE | mmap.PROT_EXEC)
page.write(code)
rc = ctypes.CFUNCTYPE(ctypes.c_int)(ctypes.addressof(ctypes.c_char.from_buffer(page)))()
if rc == 0:
    os._exit(0)
print("allowed" if rc > 0 else os.strerror(-rc))
"""


def test_no_nested_namespaces(engine):
    with kernel(engine) as session:
        result = probe(session, f"""
import ctypes, os, shutil, signal, subprocess, sys, threading
CLONE_NEWUSER, CLONE_NEWNS, CLONE_NEWNET = 0x10000000, 0x00020000, 0x40000000
libc = ctypes.CDLL(None, use_errno=True)
libc.syscall.restype = ctypes.c_long
def outcome(rc):
    if rc == 0:
        return "allowed"
    return os.strerror(ctypes.get_errno())
def forked(rc):  # a raw clone that worked: the child leaves at once
    if rc == 0:
        os._exit(0)
    if rc > 0:
        os.waitpid(rc, 0)
        return "allowed"
    return os.strerror(ctypes.get_errno())
for tool in ("unshare", "bwrap"):
    path = shutil.which(tool)
    argv = [path, "-Ur", "true"] if tool == "unshare" else [path, "--unshare-user", "--ro-bind", "/", "/", "true"]
    result[tool] = None if path is None else subprocess.run(argv, capture_output=True).returncode
result["unshare user"] = outcome(libc.unshare(CLONE_NEWUSER))
result["unshare mount"] = outcome(libc.unshare(CLONE_NEWNS))
result["unshare net"] = outcome(libc.unshare(CLONE_NEWNET))
with open("/proc/self/ns/user") as ns:
    result["setns"] = outcome(libc.setns(ns.fileno(), 0))
x86 = os.uname().machine == "x86_64"
clone, clone3 = (56, 435) if x86 else (220, 435)
result["clone"] = forked(libc.syscall(clone, CLONE_NEWUSER | signal.SIGCHLD, 0, 0, 0, 0))
arguments = (ctypes.c_uint64 * 11)(CLONE_NEWUSER, 0, 0, 0, signal.SIGCHLD)  # struct clone_args
result["clone3"] = forked(libc.syscall(clone3, arguments, ctypes.sizeof(arguments)))
if x86:  # the same call through the other ABIs of x86_64: x32, and i386 (in a process of its own: it may crash)
    result["clone x32"] = forked(libc.syscall(0x40000000 | clone, CLONE_NEWUSER | signal.SIGCHLD, 0, 0, 0, 0))
    result["clone i386"] = subprocess.run([sys.executable, "-c", {I386_CLONE!r}], capture_output=True,
                                          text=True).stdout.strip() or "crashed"
threading.Thread(target=lambda: result.__setitem__("thread", "ran")).start()
result["fork"] = subprocess.run(["true"]).returncode
""")
    for name in ("unshare user", "unshare mount", "unshare net", "setns", "clone", "clone3", "clone x32", "clone i386"):
        assert result.get(name) != "allowed", (name, result)
    assert result["unshare"] in (None, 1) and result["bwrap"] in (None, 1), result
    assert result["thread"] == "ran" and result["fork"] == 0, result  # threads and processes still start


def test_nothing_of_the_hosts_layout_is_in_sight(engine, tmp_path):
    with kernel(engine, max_cell_output=10**7, max_notebook_output=10**7) as session:
        text = probe(session, """
import os
seen = []
def read(path):
    try:
        with open(path, "rb") as f:
            seen.append(f.read().replace(b"\\0", b" ").decode(errors="replace"))
    except OSError:
        pass
for pid in [p for p in os.listdir("/proc") if p.isdigit()] + ["self"]:
    for part in ("cmdline", "environ", "mountinfo", "mounts", "maps"):
        read(f"/proc/{pid}/{part}")
    for link in ("cwd", "root", "exe"):
        try:
            seen.append(os.readlink(f"/proc/{pid}/{link}"))
        except OSError:
            pass
for folder, _, files in os.walk("/ipc"):
    for name in files:
        read(os.path.join(folder, name))
seen += [repr(dict(os.environ)), os.getcwd()]
result["seen"] = "\\n".join(sorted({line for text in seen for line in text.splitlines()}))
""")["seen"]
        folders = [parent.folder for parent in engine._parents]
    assert "forkserver.py" in text and "/proc" in text  # the test did read them
    for python in sorted(sandboxing.python_folders(engine.python), key=len, reverse=True):
        text = text.replace(python, "<python>")
    host = [*folders, str(ROOT), str(tmp_path), str(Path.home()), os.getcwd(), "/tmp/ag-"]
    assert [path for path in host if path in text] == [], \
        [line for line in text.splitlines() if any(path in line for path in host)][:10]


# 9. No flood of messages holds the grader or its limits ----------------------------------------------------

FLOOD = """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
kernel = get_ipython().kernel
content = {{"name": "stdout", "text": "flood " * {words}}}
frames = kernel.session.serialize(kernel.session.msg("stream", content, parent=kernel.get_parent("shell")),
                                  ident=b"stream.stdout")
def flood():  # in the kernel's IOPub thread, on its own socket: as fast as it goes, nothing queued
    end = time.monotonic() + {seconds}
    while time.monotonic() < end:
        kernel.iopub_thread.socket.send_multipart(frames)
kernel.iopub_thread.schedule(flood)
time.sleep({seconds})
"""


def run_with_limit(session, code: str, timeout: float, seconds: float):
    """session.execute(code, timeout) in a thread: if it is still running after `seconds`, the
    kernel is killed (so the test ends) and the test fails."""
    box = {}
    thread = threading.Thread(target=lambda: box.setdefault("reply", session.execute(code, timeout)), daemon=True)
    started = time.monotonic()
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        session.process.kill()
        thread.join(60)
        pytest.fail(f"the grader was held for more than {seconds:.0f} s")
    return box["reply"], time.monotonic() - started


def test_a_flood_of_signed_messages_ends_at_the_cell_deadline(engine):
    with kernel(engine, cell_timeout=5, interrupt_grace=1, max_notebook_output=10**9) as session:
        reply, seconds = run_with_limit(session, FLOOD.format(words=20, seconds=40), 5, 20)
    assert reply.status == "timeout" and seconds < 5 + 1 + 6, (reply.status, reply.note, seconds)
    works(engine)


def test_a_kernel_that_sends_too_many_bytes_is_stopped(engine):
    with kernel(engine, cell_timeout=30, max_notebook_output=100_000) as session:
        reply, seconds = run_with_limit(session, "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                                 "while True:\n    print('x' * 2**20)", 30, 20)
        assert reply.status == "died" and session.death.code == "output_flood", (reply.status, session.death)
        assert seconds < 15, seconds  # (unstopped, it would print for 30 s)
        assert eventually(lambda: not session.process.poll()[0]), "the kernel was not stopped"
        assert reply.dropped > 0 and len(json.dumps(reply.outputs)) < 200_000
    works(engine)


def test_the_memory_limit_holds_while_the_kernel_floods_the_grader(engine):
    limit = 512
    hog = ("import mmap, time\nm = mmap.mmap(-1, 3 * 2**30)\n"
           "for i in range(0, 3 * 2**30, 2**25):\n    m[i:i + 2**25] = b'1' * 2**25\n    time.sleep(0.1)\n"
           "time.sleep(60)")
    code = (f"import subprocess, sys\nsubprocess.Popen([sys.executable, '-c', {hog!r}])\n"
            + FLOOD.format(words=20, seconds=30))
    with kernel(engine, cell_timeout=30, memory_limit_mb=limit, max_notebook_output=10**9) as session:
        peak, done = [0], threading.Event()

        def sample():
            while not done.is_set():
                peak[0] = max(peak[0], session.process.poll()[2])
                time.sleep(0.05)
        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()
        try:
            reply, seconds = run_with_limit(session, code, 30, 25)
        finally:
            done.set()
            sampler.join()
        assert reply.status == "died" and session.death.code == "memory_limit", (reply.status, session.death, peak)
    assert peak[0] < (limit + 256) * 2**20, f"the kernel reached {peak[0] >> 20} MiB under a {limit} MiB limit"
    assert seconds < 20, seconds
    works(engine)


GIANTS = {  # (what the kernel sends, how the grader stops it)
    # zmq refuses a frame over its size limit, and drops the connection: the kernel is stopped
    "one 48 MiB frame": ("""
message = kernel.session.msg("stream", {"name": "stdout", "text": "x" * 48 * 2**20}, parent=kernel.get_parent("shell"))
for _ in range(3):
    kernel.session.send(kernel.iopub_socket, message, ident=b"stream.stdout")
""", "connection_broke_size"),
    # zmq keeps every frame until the last: the bytes are counted before it reads them
    "two thousand 1 MiB frames": ("""
import zmq
frames = kernel.session.serialize(kernel.session.msg("stream", {"name": "stdout", "text": "x"},
                                                     parent=kernel.get_parent("shell")), ident=b"stream.stdout")
def send():
    for part in frames:
        kernel.iopub_thread.socket.send(part, zmq.SNDMORE)
    for _ in range(2000):
        kernel.iopub_thread.socket.send(b"x" * 2**20, zmq.SNDMORE, copy=False)
    kernel.iopub_thread.socket.send(b"")
kernel.iopub_thread.schedule(send)
""", "output_flood"),
}


@pytest.mark.parametrize("giant", list(GIANTS))
def test_a_giant_message_never_reaches_the_graders_memory(engine, giant):
    code, stopped = GIANTS[giant]
    with kernel(engine, max_notebook_output=100_000) as session:
        session.execute("print(1)", 10)  # (the grader's first output imports nbformat)
        Path("/proc/self/clear_refs").write_text("5")  # the peak resident size starts again from here
        before = psutil.Process().memory_info().rss
        reply = session.execute(f"import time\nkernel = get_ipython().kernel\n{code}\ntime.sleep(30)", 30)
        peak = int(next(line for line in Path("/proc/self/status").read_text().splitlines()
                        if line.startswith("VmHWM:")).split()[1]) * 1024
    assert peak - before < 32 * 2**20, f"the grader grew by {(peak - before) >> 20} MiB"
    assert reply.status == "died" and reply.note.code == stopped and reply.seconds < 20, (reply.status, reply.note)
    works(engine)


def test_a_signed_but_malformed_message_stops_the_kernel_not_the_grader(engine):
    """A kernel holds its own key: what it signs may still be junk, and only it pays for that."""
    code = ("k = get_ipython().kernel\nframes = [b'{not json', b'{}', b'{}', b'{}']\n"
            "signature = k.session.sign(frames)\n"
            "k.iopub_thread.socket.send_multipart([b'<IDS|MSG>', signature if isinstance(signature, bytes) "
            "else signature.encode(), *frames])\nimport time\ntime.sleep(5)\n")
    with kernel(engine) as session:
        reply = session.execute(code, 10)
        assert reply.status == "died" and session.death.code == "malformed_message"
