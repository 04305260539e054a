"""The fresh engine: a new kernel process from the grading kernelspec for every submission.

This is how nbgrader runs notebooks, and the path `--engine fresh` keeps: each kernel imports
torch itself (about 2 s of CPU) and runs unsandboxed, with the grader's rights.
"""
import os
import shutil
import signal
import subprocess
import tempfile

import psutil
from jupyter_client.manager import KernelManager

from ..sandbox import Sandbox


class FreshEngine:
    """An Engine (../protocols.py): a kernel process per submission, from the kernelspec."""
    name = "fresh"
    sandbox = Sandbox("none", "the fresh engine starts kernels from their kernelspec, unsandboxed")

    def __init__(self, kernel_name: str, startup_timeout: float = 60.0):
        self.kernel_name, self.startup_timeout = kernel_name, startup_timeout
        self.measure_memory = False  # when True, each kernel's unique memory is read as it ends
        self.peak_unique_memory = 0  # bytes: the most any kernel held of its own
        self._trusted = None

    def start(self, env: dict, arguments, limits: dict) -> "FreshKernel":
        """A new kernel process; `limits` are the sandbox's, which this engine has none of."""
        return FreshKernel(self, env, arguments)

    @property
    def trusted(self):
        """The engine of the referees (boundary/): the student's kernel is what this engine is about;
        the referees, trusted code only, fork from a warm parent of the same Python (fresh kernels
        where the kernelspec can't be forked)."""
        if self._trusted is None:
            from . import kernel_python
            from .warm import EngineError, WarmEngine
            try:
                self._trusted = WarmEngine(kernel_python(self.kernel_name), self.sandbox, False, self.startup_timeout,
                                           plots=False)
            except EngineError:
                self._trusted = self
        return self._trusted

    def prepare(self, count: int) -> None:
        """Nothing to start ahead for the student's kernels: each starts with its submission."""

    def close(self) -> None:
        """Nothing is kept between submissions but the referees' warm parents."""
        if self._trusted not in (None, self):
            self._trusted.close()


class FreshKernel:
    """A KernelProcess (../protocols.py) that jupyter_client's KernelManager started."""

    def __init__(self, engine: FreshEngine, env: dict, arguments):
        self.engine = engine
        self.gone = None  # a warm kernel's parent can vanish; a fresh kernel has none
        self.info = {"engine": engine.name, "sandbox": engine.sandbox.kind}
        self.cwd = tempfile.mkdtemp(prefix="autograder-kernel-")
        # ipc sockets in a private folder, not TCP: the kernel is on this machine, and over TCP
        # ipykernel warns that it runs without encryption
        self.sockets = tempfile.mkdtemp(prefix="ag-ipc-")
        self.km = KernelManager(kernel_name=engine.kernel_name, transport="ipc", ip=os.path.join(self.sockets, "k"))
        self.km.start_kernel(cwd=self.cwd, env={**os.environ, **env}, stdout=subprocess.DEVNULL,
                             stderr=subprocess.DEVNULL, extra_arguments=list(arguments))
        self.client = self.km.blocking_client()
        self.client.start_channels(hb=False)

    def shared_folder(self) -> None:
        """None: this kernel is unsandboxed and sees what the grader sees."""
        return None

    def interrupt(self) -> None:
        self.km.interrupt_kernel()

    def kill(self) -> None:
        self.km.signal_kernel(signal.SIGKILL)

    def poll(self) -> tuple[bool, int | None, int]:
        """(alive, exit code, bytes of memory used by the kernel and every process it started)."""
        process = self.km.provisioner.process if self.km.provisioner else None
        if process is None or not self.km.is_alive():
            return False, process.poll() if process else None, 0
        try:
            root = psutil.Process(process.pid)
            return True, None, sum(p.memory_info().rss for p in [root, *root.children(recursive=True)])
        except psutil.Error:
            return True, None, 0

    def shutdown(self) -> None:
        process = self.km.provisioner.process if self.km.provisioner else None
        try:
            if self.engine.measure_memory:
                uss = psutil.Process(process.pid).memory_full_info().uss
                self.engine.peak_unique_memory = max(self.engine.peak_unique_memory, uss)
        except (psutil.Error, AttributeError):
            pass
        self.client.stop_channels()
        if self.km.has_kernel:
            self.km.shutdown_kernel(now=True)
        shutil.rmtree(self.cwd, ignore_errors=True)
        shutil.rmtree(self.sockets, ignore_errors=True)
