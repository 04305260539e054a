"""The seams between the grader's layers, declared: what each side may count on.

    Runner         where grading jobs run: executors/local.py LocalRunner, executors/cluster.py ClusterRunner
    Engine         makes kernels: engine/fresh.py FreshEngine, engine/warm.py WarmEngine
    KernelProcess  one kernel an engine started: FreshKernel, ForkedKernel
    Kernel         the grader's side of one kernel: engine/session.py Session (execute.py and
                   boundary/ talk to kernels through it only)

Structural types (typing.Protocol: nothing subclasses them), and Reply, the value a Kernel
answers with. This module imports nothing of the grader at run time, so any module may import it.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from jupyter_client.blocking import BlockingKernelClient

    from .assignment import Assignment
    from .limits import Limits
    from .messages import Message
    from .sandbox import Sandbox


@dataclass
class Reply:
    """How one request to a Kernel went (Kernel.execute)."""
    status: str  # ok, error, timeout, died
    outputs: list = field(default_factory=list)
    content: dict | None = None  # the execute_reply's content
    seconds: float = 0.0
    note: Message | None = None  # why it timed out or died
    dropped: int = 0  # bytes of output not kept


class KernelProcess(Protocol):
    """One kernel process, with a Jupyter client connected to it."""
    client: BlockingKernelClient
    info: dict  # {"engine": ..., "sandbox": ...}: what made it, for the results
    gone: Message | None  # why the kernel can no longer be reached (None while it can)

    def shared_folder(self) -> tuple[str, str] | None:
        """(grader's path, kernel's path) of a folder both see; None: the kernel sees the grader's files."""

    def interrupt(self) -> None: ...

    def kill(self) -> None: ...

    def poll(self) -> tuple[bool, int | None, int]:
        """(alive, exit code, bytes of memory used by the kernel and every process it started)."""

    def shutdown(self) -> None: ...


class Engine(Protocol):
    """Makes the kernels of a run, the same way for every submission."""
    name: str  # "fresh" or "warm"
    sandbox: Sandbox  # how its kernels are confined
    measure_memory: bool  # when True, each kernel's unique memory is read as it ends ...
    peak_unique_memory: int  # ... and the most any kernel held is kept here (bytes)

    @property
    def trusted(self) -> Engine:
        """The engine of the referees (boundary/): trusted code only."""

    def start(self, env: dict, arguments: Sequence[str], limits: dict) -> KernelProcess:
        """A new kernel: `env` added to its environment, `arguments` to its command line, `limits`
        its rlimits (sandbox.kernel_limits) and "sent", the bytes it may send."""

    def prepare(self, count: int) -> None:
        """Get ready to start `count` kernels at once, without waiting."""

    def close(self) -> None: ...


class Kernel(Protocol):
    """The grader's side of one kernel: requests, outputs, timeouts, liveness and memory."""
    limits: Limits
    process: KernelProcess | None  # None until started, and once shut down
    stuck: bool  # it ignored an interrupt: restart it
    death: Message | None  # why it died or was stopped (None while it lives)
    output_used: int  # bytes of the notebook's output budget spent

    @property
    def dead(self) -> bool: ...

    def start(self) -> None: ...

    def shutdown(self) -> None: ...

    def restart(self, prepare: Callable[[], None], replay: Iterable[str], deadline: float) -> None:
        """A new kernel in place of a stuck one, `replay`'s cells run again on it."""

    def send(self, code: str, silent: bool = True, user_expressions=None, metadata=None) -> str:
        """Send one request without waiting; its message id."""

    def execute(self, code: str, timeout: float, silent: bool = False, metadata=None,
                sent: str | None = None) -> Reply:
        """Run `code` (or collect the request already `sent`) and wait for its reply and outputs."""


class Runner(Protocol):
    """Runs a batch's grading jobs; the batch driver, which consumes the results, stays the single
    writer of files and the gradebook."""

    def open(self, submissions: int | None = None) -> None:
        """Connect, or start the engine; `submissions`: how many jobs there will be, at most."""

    def probe(self) -> dict[str, dict]:
        """Where it grades -> what the grading kernel there runs on (kernelspec.probe), or {"error": why}."""

    def describe(self) -> str:
        """How many submissions it grades at once, and why: the end of the console's first line."""

    def run(self, jobs: Sequence, assignment: Assignment, limits: Limits, progress,
            needs_gpu: Callable[[object], bool]) -> Iterator[tuple]:
        """Yield (job, grade.Graded) as each finishes; `needs_gpu(job)`: only a GPU may grade it."""

    def close(self) -> None: ...
