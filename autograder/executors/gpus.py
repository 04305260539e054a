"""Which GPU each submission's kernels may use: a pool of GPU leases (../gpu.py says what a
lease is, and who decides what about GPUs).

Up to `per_gpu` submissions share one GPU at a time, each with two kernels on it: the student's
and its referee. A kernel sees only its GPU through CUDA_VISIBLE_DEVICES, so inside it the GPU
is always `cuda:0`, as the lesson's error messages expect. Without GPUs a lease is NO_GPU: the
kernels inherit the grader's environment.
"""
import os
import queue
import shutil
import subprocess
import threading
from contextlib import contextmanager

from ..gpu import NO_GPU, GpuLease


def visible_gpus(environ=os.environ, count=None) -> list[str]:
    """The GPU ids this process may hand out: CUDA_VISIBLE_DEVICES if set, else 0..count-1."""
    listed = environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [gpu.strip() for gpu in listed.split(",") if gpu.strip() and gpu.strip() != "-1"]
    if count is None:
        count = _device_count()
    return [str(index) for index in range(count)]


def _device_count() -> int:
    """GPUs nvidia-smi lists: asked without CUDA, so the grader never holds a CUDA context."""
    return len(_nvidia_smi("index"))


GIB_PER_KERNEL = 6  # per submission: CUDA contexts (~0.5 GiB each) plus room for what one lesson's code allocates
MAX_KERNELS_PER_GPU = 8


def kernels_per_gpu_default(gpus: list[str]) -> int:
    """How many submissions may share a GPU (`--kernels-per-gpu`): what its memory holds, at most
    MAX_KERNELS_PER_GPU."""
    if not gpus:
        return 1
    memory = [int(line) for line in _nvidia_smi("memory.total", "--format=csv,noheader,nounits")
              if line.strip().isdigit()]
    if not memory:
        return 1
    return max(1, min(MAX_KERNELS_PER_GPU, min(memory) // (GIB_PER_KERNEL * 1024)))


def _nvidia_smi(query: str, fmt: str = "--format=csv,noheader") -> list[str]:
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return []
    try:
        found = subprocess.run([smi, f"--query-gpu={query}", fmt], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return []
    return found.stdout.split() if found.returncode == 0 else []


class GpuPool:
    """Leases GPUs to submissions, `per_gpu` per GPU; without GPUs, up to `cpu_slots` leases of NO_GPU."""

    def __init__(self, gpus: list[str], cpu_slots: int = 1, per_gpu: int = 1):
        self.gpus, self.per_gpu = list(gpus), per_gpu
        self._free = queue.Queue()
        for slot in [gpu for _ in range(per_gpu) for gpu in self.gpus] or [""] * cpu_slots:
            self._free.put(slot)
        self._lock = threading.Lock()
        self.in_use: dict[str, int] = {}

    @property
    def size(self) -> int:
        return len(self.gpus) * self.per_gpu or self._free.qsize()

    @contextmanager
    def lease(self, timeout: float | None = None):
        """One submission's GpuLease, held while its kernels run; NO_GPU without GPUs."""
        slot = self._free.get(timeout=timeout)
        if slot:
            with self._lock:
                assert self.in_use.get(slot, 0) < self.per_gpu, f"GPU {slot} leased past its {self.per_gpu} kernels"
                self.in_use[slot] = self.in_use.get(slot, 0) + 1
        try:
            yield GpuLease(slot) if slot else NO_GPU
        finally:
            if slot:
                with self._lock:
                    self.in_use[slot] -= 1
                    if not self.in_use[slot]:
                        del self.in_use[slot]
            self._free.put(slot)
