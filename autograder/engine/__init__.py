"""How a grading kernel comes to exist for one submission, and how the grader talks to it.

    fresh.py       a new kernel process from the kernelspec per submission (nbgrader's way)
    warm.py        kernels forked from a warm parent (forkserver.py) in a sandbox (../sandbox.py)
    session.py     the grader's side of one kernel: requests, outputs, timeouts, memory
    kernelspec.py  the grading kernelspec, and `doctor`'s probe of what it runs on

Both engines are an `Engine` and hand the session the same thing, a `KernelProcess`: a kernel
with a Jupyter client, which can be interrupted, polled (alive, exit code, memory), killed and
shut down (../protocols.py). What each kernel may use: ../limits.py; its GPU: ../gpu.py.
"""
from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

from .. import sandbox as sandboxing
from .fresh import FreshEngine
from .warm import EngineError, WarmEngine

ENGINES = ("warm", "fresh")


def open_engine(kind: str, kernel_name: str, gpu: bool = False, require_sandbox: bool = False):
    """The engine that grading uses; refuses (EngineError) when the run asks for what it can't give."""
    if kind == "fresh":
        if require_sandbox:
            raise EngineError("--require-sandbox: the fresh engine runs kernels unsandboxed; use --engine warm")
        return FreshEngine(kernel_name)
    if kind != "warm":
        raise EngineError(f"unknown engine {kind!r}: choose one of {', '.join(ENGINES)}")
    sandbox = sandboxing.detect()
    if require_sandbox and not sandbox.enabled:
        raise EngineError(f"--require-sandbox: no sandbox on this machine: {sandbox.reason}")
    return WarmEngine(kernel_python(kernel_name), sandbox, gpu)


def installed_kernelspec(kernel_name: str):
    """The kernelspec named `kernel_name`; EngineError, with the fix, when none is installed."""
    try:
        return KernelSpecManager().get_kernel_spec(kernel_name)
    except NoSuchKernel:
        raise EngineError(f"no Jupyter kernel named {kernel_name!r} is installed "
                          "(.venv/bin/python -m autograder kernel install)") from None


def kernel_python(kernel_name: str) -> str:
    """The Python a kernelspec runs: the warm parent must run the very same one."""
    argv = installed_kernelspec(kernel_name).argv
    if argv[1:3] != ["-m", "ipykernel_launcher"]:
        raise EngineError(f"kernel {kernel_name!r} does not start with `PYTHON -m ipykernel_launcher`, so the warm "
                          f"engine cannot fork it ({' '.join(argv)}); use --engine fresh")
    return argv[0]
