"""The warm engine: kernels forked from a parent that has already imported torch.

Each worker holds one `WarmParent`: `forkserver.py` running in its own sandbox (sandbox.py),
driven over two pipes. A kernel is forked from it per submission, under a uid of its own when
the grader is root, and talked to over ipc sockets in a folder shared with the sandbox, as any
Jupyter kernel is, through a relay that counts what it sends (relay.py). When the kernel is done,
the parent ends every process the submission started and wipes what it wrote. A parent that
dies is replaced by a new one on the next submission; it never runs student code itself.
"""
import json
import os
import queue
import secrets
import select
import shutil
import signal
import subprocess
import tempfile
import threading
import time
from pathlib import Path

import psutil
import zmq
from jupyter_client.blocking import BlockingKernelClient

from ..messages import say
from .. import sandbox as sandboxing
from .relay import Relay

FORKSERVER = Path(__file__).with_name("forkserver.py")
FORKSERVER_INSIDE = "/opt/autograder/forkserver.py"
REQUEST_TIMEOUT = 15.0
REAP_TIMEOUT = 30.0
IPC_BYTES = 16 * 2**20
# The largest message the grader takes from a kernel: zmq drops the connection of a kernel that
# sends a bigger one before reading it (the kernel's own prints are sent in smaller pieces).
MAX_MESSAGE_BYTES = 16 * 2**20
PARENT_GONE = say("sandbox_gone")


class EngineError(RuntimeError):
    """The warm parent could not start or stopped answering."""


class WarmEngine:
    """An Engine (../protocols.py): kernels forked from warm parents, one parent per kernel at a time."""
    name = "warm"

    def __init__(self, python: str, sandbox: sandboxing.Sandbox, gpu: bool = False, startup_timeout: float = 120.0,
                 plots: bool = True):
        self.python, self.sandbox, self.gpu, self.startup_timeout = python, sandbox, gpu, startup_timeout
        self.plots = plots  # whether the parents import matplotlib ahead (a referee's don't: they never plot)
        self._idle: queue.LifoQueue = queue.LifoQueue()
        self._lock = threading.Lock()
        self._parents: list[WarmParent] = []
        self.closed = False
        self._trusted = None
        self.measure_memory = False  # when True, each kernel's unique memory is read as it ends
        self.peak_unique_memory = 0  # bytes: the most any kernel held of its own, not shared with its parent
        # The client connects before the forked kernel has bound its sockets; zmq retries every
        # 100 ms by default, which would be most of a kernel's start-up.
        self.context = zmq.Context()
        self.context.setsockopt(zmq.RECONNECT_IVL, 2)
        self.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)  # on every socket, set before it connects

    def start(self, env: dict, arguments, limits: dict) -> "ForkedKernel":
        """A new kernel: `env` added to its environment, `arguments` to its command line (IPKernelApp's)."""
        parent = self._take()
        try:
            return ForkedKernel(self, parent, env, arguments, limits)
        except BaseException:
            self._give_back(parent)
            raise

    @property
    def trusted(self) -> "WarmEngine":
        """The engine of the referees (boundary/): warm parents outside the sandbox, for trusted code only."""
        if self._trusted is None:
            self._trusted = WarmEngine(self.python, sandboxing.Sandbox("none", "the referee runs trusted code only"),
                                       self.gpu, self.startup_timeout, plots=False)
            self._trusted._trusted = self._trusted  # its own referees' engine is itself: it never makes one
        return self._trusted

    def prepare(self, count: int) -> None:
        """Start `count` parents now, without waiting: their imports overlap the driver's own set-up.
        (Started from the calling thread: bwrap's --die-with-parent follows the thread that forks it.)"""
        for _ in range(count - self._idle.qsize()):
            self._idle.put(self._new_parent())
        if self.trusted is not self:  # a referees' engine is its own
            self.trusted.prepare(count)

    def close(self) -> None:
        with self._lock:
            self.closed = True
            parents, self._parents = self._parents, []
        for parent in parents:
            parent.close()
        if self._trusted not in (None, self):
            self._trusted.close()
        self.context.destroy(linger=0)

    def _take(self) -> "WarmParent":
        while True:
            try:
                parent = self._idle.get_nowait()
            except queue.Empty:
                break
            if parent.alive():
                return parent
            self._discard(parent)
        return self._new_parent()

    def _new_parent(self) -> "WarmParent":
        parent = WarmParent(self.python, self.sandbox, self.gpu, self.startup_timeout, self.plots)
        with self._lock:
            self._parents.append(parent)
        return parent

    def _give_back(self, parent: "WarmParent") -> None:
        if parent.alive() and not self.closed:
            self._idle.put(parent)
        else:
            self._discard(parent)

    def _discard(self, parent: "WarmParent") -> None:
        """A dead or broken parent: closed, and the next submission gets a new one."""
        parent.close()
        with self._lock:
            if parent in self._parents:
                self._parents.remove(parent)


class WarmParent:
    """One forkserver process (in its sandbox) and the pipes that drive it."""

    def __init__(self, python: str, sandbox: sandboxing.Sandbox, gpu: bool, startup_timeout: float, plots: bool):
        self.sandboxed, self.broken = sandbox.enabled, False
        self.folder = tempfile.mkdtemp(prefix="ag-")  # short: ipc socket paths are limited to ~100 bytes
        self.ipc_dir = os.path.join(self.folder, "ipc")
        os.mkdir(self.ipc_dir, 0o700)
        # The kernel may write its sockets' folder: as root, a small tmpfs, so it can't fill the disk.
        self.mounted = self.sandboxed and sandboxing.mount_tmpfs(self.ipc_dir, IPC_BYTES)
        if self.sandboxed:
            scratch, tmp, ipc_inside = sandboxing.SCRATCH, sandboxing.TMP, sandboxing.IPC
        else:
            scratch, tmp, ipc_inside = (os.path.join(self.folder, name) for name in ("scratch", "tmp", "ipc"))
            os.mkdir(scratch, 0o700)
            os.mkdir(tmp, 0o700)
        self.ipc_inside = ipc_inside
        to_parent_r, self._to_parent = os.pipe()
        self._from_parent, from_parent_w = os.pipe()
        program = [python, FORKSERVER_INSIDE if self.sandboxed else str(FORKSERVER), str(to_parent_r),
                   str(from_parent_w)]
        if self.sandboxed:  # (bwrap gets no environment: its own is readable inside, as /proc/1/environ)
            argv, fds = sandboxing.wrap(program, python, self.ipc_dir, gpu_devices=gpu,
                                        files={FORKSERVER_INSIDE: FORKSERVER.read_bytes()})
        else:
            argv, fds = program, []
        self.log_path = os.path.join(self.folder, "parent.log")
        try:
            with open(self.log_path, "wb") as log:
                self.process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=log,
                                                pass_fds=(to_parent_r, from_parent_w, *fds), close_fds=True,
                                                env={} if self.sandboxed else _plain_env())
        finally:
            for fd in (to_parent_r, from_parent_w, *fds):
                os.close(fd)
        self._lock = threading.Lock()  # requests come from the session's thread and its watch
        self._buffer = b""
        self.startup_timeout, self.info = startup_timeout, None
        # Bound read-only inside a wiped folder (a Python below /tmp): left alone by the wipe.
        keep = [f for f in sandboxing.python_folders(python) if self.sandboxed and f.startswith(f"{tmp}/")]
        self._send({"scratch": scratch, "tmp": tmp, "wipe": [scratch, tmp, ipc_inside], "keep": keep,
                    "own_ipc": self.sandboxed, "max_message": MAX_MESSAGE_BYTES, "plots": plots})

    def ready(self) -> dict:
        """Wait for the parent's imports (once); what it runs: python, torch, numpy."""
        if self.info is None:
            info = self._receive(self.startup_timeout)
            if not info.get("ready"):
                raise EngineError(f"the warm parent did not start: {info}")
            if info.get("cuda_initialized"):
                raise EngineError("the warm parent initialised CUDA: forked kernels could not use the GPU")
            self.info = info
        return self.info

    def request(self, timeout: float = REQUEST_TIMEOUT, **message) -> dict:
        """Send one request and wait for its answer. A parent that fails to answer (stopped,
        stuck, dead, or unable to wipe) is broken: it is killed, with its whole sandbox, and
        replaced on the next submission."""
        try:
            with self._lock:
                self.ready()
                self._send(message)
                answer = self._receive(timeout)
        except EngineError:
            self.kill()
            raise
        if "error" in answer:
            if answer.get("fatal"):
                self.kill()
            raise EngineError(answer["error"])
        return answer

    def alive(self) -> bool:
        return not self.broken and self.process.poll() is None

    def kill(self) -> None:
        """End the sandbox at once: bwrap's init dies with it, and the kernel ends with its namespace."""
        self.broken = True
        if self.process.poll() is None:
            self.process.kill()

    def close(self) -> None:
        for fd in (self._to_parent, self._from_parent):
            try:
                os.close(fd)
            except OSError:
                pass
        self._to_parent = self._from_parent = -1
        try:
            self.process.wait(timeout=REAP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        if self.mounted:
            sandboxing.unmount(self.ipc_dir)
        shutil.rmtree(self.folder, ignore_errors=True)

    def _send(self, message: dict) -> None:
        try:
            os.write(self._to_parent, (json.dumps(message) + "\n").encode())
        except OSError:
            raise EngineError(self._gone()) from None

    def _receive(self, timeout: float) -> dict:
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_parent], [], [], left)[0]:
                raise EngineError(f"the warm parent did not answer in {timeout:.0f} s")
            chunk = os.read(self._from_parent, 65536)
            if not chunk:
                raise EngineError(self._gone())
            self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        return json.loads(line)

    def _gone(self) -> str:
        try:
            self.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            pass
        tail = Path(self.log_path).read_text(errors="replace")[-1500:].strip() if os.path.exists(self.log_path) else ""
        return f"the warm parent stopped (exit {self.process.poll()})" + (f": {tail}" if tail else "")


class ForkedKernel:
    """A KernelProcess (../protocols.py): one single-use kernel forked from a warm parent, with a
    client connected over ipc."""

    def __init__(self, engine: WarmEngine, parent: WarmParent, env: dict, arguments, limits: dict):
        """`limits`: the kernel's rlimits, and "sent": bytes it may send before it is read no more."""
        self.engine, self.parent = engine, parent
        limits = dict(limits)
        most_sent = limits.pop("sent", None)
        self.info = {"engine": engine.name, "sandbox": engine.sandbox.kind}
        key = secrets.token_hex(16)
        uid, gid = sandboxing.kernel_user() if parent.sandboxed else (None, None)
        if uid is not None:  # its sockets' folder is the kernel's own, and no earlier kernel's
            os.chown(parent.ipc_dir, uid, gid)
        ports = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}
        connection = {**ports, "transport": "ipc", "key": key, "signature_scheme": "hmac-sha256"}
        Path(parent.ipc_dir, "kernel.json").write_text(json.dumps({**connection, "ip": f"{parent.ipc_inside}/k"}))
        if uid is not None:
            os.chown(Path(parent.ipc_dir, "kernel.json"), uid, gid)
        self.pid = parent.request(op="fork", connection_file=f"{parent.ipc_inside}/kernel.json", env=env,
                                  arguments=list(arguments), limits=limits, uid=uid, gid=gid,
                                  home=f"home-{secrets.token_hex(4)}")["pid"]
        self.gone = None  # why the kernel is gone with its parent (a Message), once it is
        relayed = os.path.join(parent.folder, f"r{secrets.token_hex(4)}")  # outside the sandbox
        self.relay = Relay({f"{relayed}-{ports[name]}": f"{parent.ipc_dir}/k-{ports[name]}"
                            for name in ("shell_port", "iopub_port", "stdin_port", "control_port")})
        self.relay.limit = most_sent
        self.client = BlockingKernelClient(context=engine.context)
        self.client.load_connection_info({**connection, "ip": relayed})
        self.client.start_channels(hb=False)

    @property
    def sent(self) -> int:
        """Bytes the kernel has sent the grader, counted before zmq read them."""
        return self.relay.received

    def shared_folder(self) -> tuple[str, str]:
        """(grader's path, kernel's path) of a folder both sides see: the kernel's sockets' folder."""
        return self.parent.ipc_dir, self.parent.ipc_inside

    def _ask(self, **message) -> dict | None:
        if self.gone:
            return None
        try:
            return self.parent.request(**message)
        except EngineError:
            self.gone = PARENT_GONE
            return None

    def interrupt(self) -> None:
        self._ask(op="signal", signum=int(signal.SIGINT))

    def kill(self) -> None:
        self._ask(op="signal", signum=int(signal.SIGKILL))

    def poll(self) -> tuple[bool, int | None, int]:
        """(alive, exit code, bytes of memory used by the kernel and every process it started)."""
        answer = self._ask(op="poll")
        if answer is None:
            return False, None, 0
        return answer["exit"] is None, answer["exit"], answer["rss"]

    def shutdown(self) -> None:
        if self.engine.measure_memory:
            self.engine.peak_unique_memory = max(self.engine.peak_unique_memory, self._unique_memory())
        self.client.stop_channels()
        self.relay.close()
        self._ask(op="reap", timeout=REAP_TIMEOUT)
        self.engine._give_back(self.parent)


    def _unique_memory(self) -> int:
        """Bytes only this kernel holds (USS: not shared with its parent), read from the host."""
        try:
            for process in psutil.Process(self.parent.process.pid).children(recursive=True):
                if _namespace_pid(process.pid) == self.pid:
                    return process.memory_full_info().uss
        except psutil.Error:
            pass
        return 0


def _namespace_pid(host_pid: int) -> int | None:
    """A process's pid in its own (innermost) pid namespace."""
    try:
        with open(f"/proc/{host_pid}/status") as status:
            for line in status:
                if line.startswith("NSpid:"):
                    return int(line.split()[-1])
    except (OSError, ValueError):
        pass
    return None


def _plain_env() -> dict:
    """Without a sandbox: the grader's environment, minus what would confuse a forked kernel."""
    return {k: v for k, v in os.environ.items() if k not in ("JPY_PARENT_PID", "PYTHONSTARTUP")}
