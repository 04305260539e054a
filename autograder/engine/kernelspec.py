"""The course's grading kernel: its kernelspec, and what it really runs on (`doctor`).

`<course_id>-grader` runs the course's Python and torch. Its spec sets no environment of its
own, so the CUDA_VISIBLE_DEVICES that the grader (or the instructor) sets reaches the kernel
(GPUs in grading: ../gpu.py).
"""
import json
import sys
import tempfile
from pathlib import Path

from jupyter_client.kernelspec import KernelSpecManager

from ..pins import torch_against_pin
from ..gpu import NO_GPU, GpuLease
from ..limits import Limits
from ..protocols import Engine
from .session import Session


def grader_kernel(course_id: str) -> str:
    """The name of a course's grading kernel."""
    return f"{course_id}-grader"


# Runs inside the grading kernel: what grading there would use.
PROBE = r'''
import json as _json, os as _os, platform as _platform, shutil as _shutil, subprocess as _subprocess, sys as _sys
import torch as _torch
_info = {"python": _platform.python_version(), "executable": _sys.executable, "torch": _torch.__version__,
         "torch_cuda": _torch.version.cuda, "cuda_available": _torch.cuda.is_available(),
         "cuda_visible_devices": _os.environ.get("CUDA_VISIBLE_DEVICES"),
         "device_count": _torch.cuda.device_count() if _torch.cuda.is_available() else 0,
         "cuda_device": None, "capability": None, "driver": None}
if _info["cuda_available"]:
    _info["cuda_device"] = _torch.cuda.get_device_name(0)
    _info["capability"] = ".".join(map(str, _torch.cuda.get_device_capability(0)))
if _shutil.which("nvidia-smi"):
    _smi = _subprocess.run(["nvidia-smi", "--query-gpu=driver_version", "--format=csv,noheader"],
                           capture_output=True, text=True, timeout=20)
    _info["driver"] = _smi.stdout.strip().splitlines()[0] if _smi.returncode == 0 and _smi.stdout.strip() else None
print(_json.dumps(_info))
'''


def kernel_spec(course_id: str, python: str = sys.executable) -> dict:
    return {"argv": [python, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
            "display_name": f"{course_id} grader (course Python and torch, CUDA when present)",
            "language": "python", "metadata": {"debugger": False}}


def install(course_id: str, user: bool = False, prefix: str | None = None) -> str:
    """Install the course's grading kernelspec (into this Python's prefix unless told otherwise)."""
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "kernel.json").write_text(json.dumps(kernel_spec(course_id), indent=1))
        if not user and prefix is None:
            prefix = sys.prefix
        return KernelSpecManager().install_kernel_spec(folder, grader_kernel(course_id), user=user, prefix=prefix)


def probe(engine: Engine, gpu: GpuLease = NO_GPU, timeout: float = 60) -> dict:
    """Ask a kernel from `engine`, on the GPU of `gpu`, what it runs on, and say which engine and
    sandbox made it."""
    with Session(Limits(startup_timeout=timeout), engine, gpu) as session:
        reply = session.execute(PROBE, timeout)
        info = session.process.info
    if reply.status != "ok":
        detail = reply.content.get("evalue") if reply.content else reply.note
        raise RuntimeError(f"the probe failed on the grading kernel: {detail}")
    text = "".join(out.get("text", "") for out in reply.outputs if out.get("name") == "stdout")
    return {**json.loads(text), **info, "sandbox_detail": engine.sandbox.describe()}


def describe(info: dict, kernel_name: str, course_root: str | Path = ".") -> str:
    """`doctor`'s report, in words; the kernel's torch is compared with the pin in `course_root`."""
    rows = [f"grading kernel: {kernel_name}",
            f"engine:         {info.get('engine', 'fresh')}"
            + (" (kernels forked from a parent that has imported torch)" if info.get("engine") == "warm" else ""),
            f"sandbox:        {info.get('sandbox_detail') or info.get('sandbox', 'none')}",
            f"python:         {info['python']} ({info.get('executable', 'path unknown')})",
            f"torch:          {info['torch']} (built for CUDA {info['torch_cuda'] or 'none: CPU build'})",
            f"course pin:     {torch_against_pin(info['torch'], Path(course_root))}",
            f"CUDA available: {'yes' if info['cuda_available'] else 'no'}"]
    if info["cuda_available"]:
        rows += [f"device:         {info['cuda_device']} (capability {info['capability']}), "
                 f"{info['device_count']} visible",
                 f"driver:         {info['driver'] or 'unknown (nvidia-smi not found)'}",
                 "GPU tests:      will run"]
    else:
        rows += [f"driver:         {info['driver'] or 'none found'}",
                 "GPU tests:      CANNOT run here: they get outcome needs_gpu, no points, and the "
                 "submission stays provisional until graded on a CUDA machine"]
    return "\n".join(rows)
