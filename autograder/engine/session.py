"""One grading kernel and the requests sent to it (jupyter_client, no nbclient).

`execute` sends one request and collects its outputs under a byte budget. On its deadline it
interrupts the kernel; a kernel that does not answer the interrupt within `interrupt_grace` is
`stuck`: the caller restarts it (`restart`). A thread of its own watches that the process is
alive and under its memory limit, and kills it when it is not, however many messages it sends;
so does a kernel that sends more than its share of bytes, kept or not.
"""
import hmac
import json
import signal
import threading
import time
from collections.abc import Callable, Iterable
from queue import Empty

import zmq

from ..gpu import NO_GPU, GpuLease
from ..limits import Limits
from ..messages import Message, say
from ..protocols import Engine, KernelProcess, Reply
from ..sandbox import kernel_limits

WATCH_EVERY = 0.2  # seconds between looks at the process (alive? memory?)
SENT_PER_KEPT = 64  # a kernel may send this many bytes per byte of output a notebook keeps, then it is stopped
MAX_TRACEBACK_LINES = 60
MAX_LINE = 2_000
STUCK = say("stuck")
NOT_RESTORED = say("restart_failed")
# Every grading kernel, whichever engine made it: no history file; plain tracebacks (the default,
# with context lines, costs ~14 ms per error; feedback shows the failing line either way); no
# 0.5 ms nap after each request (the grader waits for the kernel's idle status anyway).
KERNEL_ARGUMENTS = ("--HistoryManager.hist_file=:memory:", "--InteractiveShell.xmode=Plain",
                    "--IPythonKernel._execute_sleep=0")


class Outputs:
    """A cell's outputs, coalesced and cut off at a byte budget shared with the notebook."""

    def __init__(self, cell_budget: int, notebook_left: int):
        self.items, self.budget, self.used, self.dropped = [], min(cell_budget, notebook_left), 0, 0

    def add(self, msg: dict) -> None:
        import nbformat  # here, not at the top: it takes a second, and `grade` checks its arguments first
        kind = msg["msg_type"]
        if kind == "clear_output":
            self.items.clear()
            return
        if kind not in ("stream", "display_data", "execute_result", "error"):
            return
        out = nbformat.v4.output_from_msg(msg)
        if kind == "error":  # always kept: scoring reads it
            out.traceback = [line[:MAX_LINE] for line in out.traceback[-MAX_TRACEBACK_LINES:]]
            out.evalue = out.evalue[:MAX_LINE]
            self.items.append(out)
            return
        size = len(out.text) if kind == "stream" else len(json.dumps(out.get("data", {})))
        if self.used + size > self.budget:
            room = self.budget - self.used
            if kind == "stream" and room > 0:
                self._append_stream(out.name, out.text[:room])
                self.used += room
            self.dropped += size - max(room, 0) if kind == "stream" else size
            return
        self.used += size
        if kind == "stream":
            self._append_stream(out.name, out.text)
        else:
            self.items.append(out)

    def _append_stream(self, name: str, text: str) -> None:
        import nbformat
        last = self.items[-1] if self.items else None
        if last is not None and last.output_type == "stream" and last.name == name:
            last.text += text
        else:
            self.items.append(nbformat.v4.new_output("stream", name=name, text=text))

    def finish(self) -> list:
        if self.dropped:
            self._append_stream("stdout", f"\n... output truncated: {self.dropped:,} more bytes "
                                          "were not kept ...\n")
        return self.items


class Session:
    """The grader's side of one kernel (a `Kernel`, ../protocols.py): requests, outputs, timeouts,
    liveness and memory.

    The kernel's process comes from an engine (fresh.py or warm.py), with `gpu`, its lease, in
    its environment (GPUs: ../gpu.py); a restart asks the engine for a new one.
    """

    def __init__(self, limits: Limits, engine: Engine, gpu: GpuLease = NO_GPU):
        self.limits, self.engine, self.gpu = limits, engine, gpu
        self.process: KernelProcess | None = None  # the engine's kernel ...
        self.client = None  # ... and its Jupyter client
        self.stuck = False
        self.output_used = 0
        self.death: Message | None = None
        self.received = 0  # bytes the kernel sent
        self._dying = threading.Lock()
        self._watcher, self._unwatch, self._monitors = None, threading.Event(), []

    def __enter__(self):
        self.start()
        return self

    def __exit__(self, *exc):
        self.shutdown()

    def start(self) -> None:
        env = {**self.gpu.env, "NBGRADER_EXECUTION": "autograde"}
        limits = kernel_limits(self.limits.memory_limit_mb, 2 * self.limits.notebook_timeout + 60,
                               self.gpu.device is not None, self.engine.sandbox.enabled)
        self.process = self.engine.start(env, KERNEL_ARGUMENTS, {**limits, "sent": self._most_sent})
        self.client = self.process.client
        self.stuck, self.death, self.received = False, None, 0
        self._wait_for_ready(self.limits.startup_timeout)
        self._start_watch()

    def shutdown(self) -> None:
        if self._watcher is not None:
            self._unwatch.set()
            self._watcher.join()
            self._watcher = None
        for socket, monitor in self._monitors:
            socket.disable_monitor()
            monitor.close(linger=0)
        self._monitors = []
        if self.process is not None:
            self.process.shutdown()
        self.process = self.client = None

    def restart(self, prepare: Callable[[], None], replay: Iterable[str], deadline: float) -> None:
        """A new kernel in place of a stuck one, brought back to where that one was: `prepare()`
        readies it (the bridge's agent), then the cells of `replay` that had finished run again
        until `deadline`. What they print is dropped and does not count against the notebook's
        output. A cell that hangs now gives this kernel up: it is then dead, with the reason."""
        self.shutdown()
        self.start()
        prepare()
        output_used = self.output_used
        for source in replay:
            left = deadline - time.monotonic()
            if left <= 0 or self.dead or self.stuck:
                break
            self.execute(source, min(self.limits.cell_timeout, left))
        self.output_used = output_used
        if self.stuck:
            self.shutdown()
            self.death = NOT_RESTORED

    def _wait_for_ready(self, timeout: float) -> None:
        """A kernel_info reply on shell, then any message on iopub, so the subscription is live.
        (jupyter_client's wait_for_ready sleeps in 0.2 s steps: longer than a forked kernel needs.)"""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msg_id = self.client.kernel_info()
            if self._shell_reply(msg_id, timeout=min(1.0, max(deadline - time.monotonic(), 0.01))) is not None:
                try:
                    self.client.iopub_channel.get_msg(timeout=0.5)
                    return
                except Empty:
                    pass
            alive, code, _ = self.process.poll()
            if not alive:
                raise RuntimeError(f"the grading kernel did not start: {_death_words(code).text()}")
        raise RuntimeError(f"the grading kernel did not answer within {timeout:.0f} s")

    @property
    def dead(self) -> bool:
        return bool(self.death)

    def send(self, code: str, silent: bool = True, user_expressions=None, metadata=None) -> str:
        """Send one execute request without waiting; `execute(..., sent=msg_id)` collects it."""
        content = {"code": code, "silent": silent, "store_history": not silent, "user_expressions": user_expressions or {},
                   "allow_stdin": False, "stop_on_error": False}
        msg = self.client.session.msg("execute_request", content, metadata=metadata or {})
        self.client.shell_channel.send(msg)
        return msg["header"]["msg_id"]

    def execute(self, code: str, timeout: float, silent: bool = False, metadata=None, sent: str | None = None) -> Reply:
        """Run `code` (or collect the request already `sent`) and wait for its reply and outputs."""
        started = time.monotonic()
        msg_id = sent or self.send(code, silent, metadata=metadata)
        outputs = Outputs(self.limits.max_cell_output, self.limits.max_notebook_output - self.output_used)
        reply, idle, timed_out = None, False, False
        deadline = started + timeout
        while reply is None or not idle:
            now = time.monotonic()
            if now >= deadline:
                if reply is not None:  # the answer came; some output may be lost in flight
                    break
                if timed_out:  # the interrupt was not answered in time
                    self.stuck = True
                    return self._done(started, "timeout", outputs, None, STUCK)
                timed_out, deadline = True, now + self.limits.interrupt_grace
                self.process.interrupt()
            if self.death:  # stopped by the watch or the byte count, or dead
                return self._done(started, "died", outputs, None, self.death)
            ready = self._wait(min(deadline, now + WATCH_EVERY) - now)
            if self.client.iopub_channel.socket in ready:
                idle = self._drain_iopub(msg_id, outputs) or idle
            if reply is None and self.client.shell_channel.socket in ready:
                reply = self._shell_reply(msg_id)
        status = "timeout" if timed_out else reply["content"].get("status", "error")
        return self._done(started, status if status in ("ok", "timeout") else "error", outputs,
                          reply["content"], say("cell_interrupted", seconds=f"{timeout:.0f}") if timed_out else None)

    def _wait(self, seconds: float) -> dict:
        """Block until shell or iopub has a message (or `seconds` pass); which sockets are ready.
        The channels' own sockets are polled directly: jupyter_client's blocking getters run an
        asyncio loop per message, which costs more than the message."""
        poller = zmq.Poller()
        poller.register(self.client.shell_channel.socket, zmq.POLLIN)
        poller.register(self.client.iopub_channel.socket, zmq.POLLIN)
        return dict(poller.poll(max(int(seconds * 1000), 0) + 1))

    def _done(self, started, status, outputs, content, note) -> Reply:
        items = outputs.finish()
        self.output_used += outputs.used
        return Reply(status, items, content, time.monotonic() - started, note, outputs.dropped)

    def _drain_iopub(self, msg_id: str, outputs: Outputs) -> bool:
        """Take the waiting iopub messages, for WATCH_EVERY at most (a flood never ends: the caller
        looks at its deadline in between); True once the request's `idle` status arrived."""
        idle, channel, until = False, self.client.iopub_channel, time.monotonic() + WATCH_EVERY
        while not self.death and time.monotonic() < until and channel.msg_ready():
            msg = self._take(channel)
            if msg["parent_header"].get("msg_id") == msg_id:
                if msg["msg_type"] == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
                else:
                    outputs.add(msg)
        return idle

    def _shell_reply(self, msg_id: str, timeout: float = 0) -> dict | None:
        channel, until = self.client.shell_channel, time.monotonic() + timeout + WATCH_EVERY
        while not self.death and time.monotonic() < until and channel.socket.poll(int(timeout * 1000)):
            msg = self._take(channel)
            if msg["parent_header"].get("msg_id") == msg_id:
                return msg
        return None

    @property
    def _most_sent(self) -> int:
        return SENT_PER_KEPT * self.limits.max_notebook_output

    def _take(self, channel) -> dict:
        """One message, counted: a kernel that sends more than its share (kept or not) is stopped.
        (The warm engine counts bytes before zmq even reads them: process.sent, which the watch reads.)"""
        try:
            msg = _receive(channel)
        except (ValueError, KeyError, TypeError, IndexError):  # unsigned, not JSON, missing fields
            self._stop(say("malformed_message"))
            return {"header": {}, "msg_type": "", "parent_header": {}, "content": {}, "size": 0}
        self.received += msg["size"]
        if self.received > self._most_sent:
            self._stop_sender()
        return msg

    def _stop_sender(self) -> None:
        self._stop(say("output_flood", mib=self._most_sent >> 20))

    def _start_watch(self) -> None:
        """The watch thread, and monitors of the shell and iopub connections (each on an address of
        its own: pyzmq's default one is named after a descriptor number, which later sockets reuse)."""
        self._unwatch = threading.Event()
        self._monitors = [(socket, socket.get_monitor_socket(zmq.EVENT_DISCONNECTED,
                                                             f"inproc://watch-{id(socket)}-{time.monotonic_ns()}"))
                          for socket in (self.client.shell_channel.socket, self.client.iopub_channel.socket)]
        self._watcher = threading.Thread(target=self._watch_loop, args=(self._unwatch, self._monitors),
                                         name="kernel-watch", daemon=True)
        self._watcher.start()

    def _watch_loop(self, unwatch: threading.Event, monitors: list) -> None:
        """_watch every WATCH_EVERY; and a connection that zmq dropped (it drops a kernel's message
        over MAXMSGSIZE, and with it the connection, for good) while the kernel lives on stops it."""
        broken = False
        while not unwatch.wait(WATCH_EVERY) and self._watch():
            if broken:
                limit = self.client.iopub_channel.socket.getsockopt(zmq.MAXMSGSIZE)
                self._stop(say("connection_broke_size", mib=limit >> 20) if limit > 0 else say("connection_broke"))
                return
            broken = any(monitor.poll(0) for _, monitor in monitors)

    def _watch(self) -> bool:
        """Is the kernel alive and within its memory limit? Kills it when it is over."""
        if self.death:
            return False
        alive, code, memory = self.process.poll()
        if not alive:
            self._stop(self.process.gone or _death_words(code), kill=False)
            return False
        if memory > self.limits.memory_limit_mb * 2**20:
            self._stop(say("memory_limit", mib=self.limits.memory_limit_mb))
            return False
        if getattr(self.process, "sent", 0) > self._most_sent:
            self._stop_sender()
            return False
        return True

    def _stop(self, why: Message, kill: bool = True) -> None:
        """The kernel's death and why; the first one given stands (the watch runs in a thread of its own)."""
        with self._dying:
            if not self.death:
                if kill:
                    self.process.kill()
                self.death = why


def _receive(channel) -> dict:
    """One message from a channel, its signature checked as jupyter_client does, but with its
    header's dates left as text: jupyter_client's own parsing costs more than the message."""
    session = channel.session
    frames = channel.socket.recv_multipart()
    _, parts = session.feed_identities(frames)
    if session.auth is not None and not hmac.compare_digest(parts[0], session.sign(parts[1:5])):
        raise ValueError("a message from the kernel had an invalid signature")
    header = json.loads(parts[1])
    return {"header": header, "msg_id": header["msg_id"], "msg_type": header["msg_type"],
            "parent_header": json.loads(parts[2]), "metadata": json.loads(parts[3]),
            "content": json.loads(parts[4]), "buffers": parts[5:], "size": sum(map(len, frames))}


def _death_words(code) -> Message:
    if code is not None and code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        return say("kernel_signal", signal=name)
    return say("kernel_exited", exit_code=code) if code is not None else say("kernel_died")
