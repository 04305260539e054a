"""Which GPU each grading kernel may use: one kernel per GPU at a time.

A kernel sees only its GPU through CUDA_VISIBLE_DEVICES, so inside it the GPU is always
`cuda:0`, as the lesson's error messages expect. Without GPUs a lease changes nothing: the
kernel inherits the grader's environment.
"""
import os
import queue
import threading
from contextlib import contextmanager


def visible_gpus(environ=os.environ, count=None) -> list[str]:
    """The GPU ids this process may hand out: CUDA_VISIBLE_DEVICES if set, else 0..count-1."""
    listed = environ.get("CUDA_VISIBLE_DEVICES")
    if listed is not None:
        return [gpu.strip() for gpu in listed.split(",") if gpu.strip() and gpu.strip() != "-1"]
    if count is None:
        count = _device_count()
    return [str(index) for index in range(count)]


def _device_count() -> int:
    try:
        import torch
    except ImportError:
        return 0
    return torch.cuda.device_count() if torch.cuda.is_available() else 0


class GpuPool:
    """Leases GPUs to kernels, one kernel per GPU; without GPUs, up to `cpu_slots` CPU leases."""

    def __init__(self, gpus: list[str], cpu_slots: int = 1):
        self.gpus = list(gpus)
        self._free = queue.Queue()
        for slot in self.gpus or [""] * cpu_slots:
            self._free.put(slot)
        self._lock = threading.Lock()
        self.in_use: set[str] = set()

    @property
    def size(self) -> int:
        return len(self.gpus) or self._free.qsize()

    @contextmanager
    def lease(self, timeout: float | None = None):
        """Environment overrides for one kernel: {"CUDA_VISIBLE_DEVICES": id}, or {} without GPUs."""
        slot = self._free.get(timeout=timeout)
        if slot:
            with self._lock:
                assert slot not in self.in_use, f"GPU {slot} leased twice"
                self.in_use.add(slot)
        try:
            yield {"CUDA_VISIBLE_DEVICES": slot} if slot else {}
        finally:
            if slot:
                with self._lock:
                    self.in_use.discard(slot)
            self._free.put(slot)
