"""GPU assignment: one grading kernel per GPU at a time (pure logic, runs on CPU)."""
import threading
import time

import pytest

from autograder.executors.gpus import GpuPool, kernels_per_gpu_default, visible_gpus
from autograder.gpu import NO_GPU, GpuLease


def test_visible_gpus_follow_cuda_visible_devices():
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "2,5"}) == ["2", "5"]
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": ""}) == []
    assert visible_gpus({"CUDA_VISIBLE_DEVICES": "-1"}) == []
    assert visible_gpus({}, count=3) == ["0", "1", "2"]


def test_without_gpus_kernels_inherit_the_environment():
    pool = GpuPool([], cpu_slots=2)
    with pool.lease() as first, pool.lease() as second:
        assert first == second == NO_GPU and first.env == {}
    assert pool.size == 2


def test_each_gpu_serves_one_kernel_at_a_time():
    pool = GpuPool(["0", "1", "3"])
    seen, overlaps, active = [], [], {}
    lock = threading.Lock()

    def grade_one():
        with pool.lease(timeout=10) as lease:
            gpu = lease.device
            with lock:
                if active.get(gpu):
                    overlaps.append(gpu)
                active[gpu] = True
                seen.append(gpu)
            time.sleep(0.02)
            with lock:
                active[gpu] = False

    workers = [threading.Thread(target=grade_one) for _ in range(12)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    assert not overlaps, f"GPUs shared by two kernels at once: {overlaps}"
    assert sorted(set(seen)) == ["0", "1", "3"] and len(seen) == 12
    assert pool.in_use == {}


def test_a_second_kernel_waits_for_the_busy_gpu():
    pool = GpuPool(["0"])
    with pool.lease():
        with pytest.raises(Exception):
            with pool.lease(timeout=0.1):
                pass
    with pool.lease(timeout=0.1) as lease:
        assert lease == GpuLease("0") and lease.env == {"CUDA_VISIBLE_DEVICES": "0"}


def test_kernels_share_a_gpu_up_to_per_gpu():
    pool = GpuPool(["0"], per_gpu=2)
    with pool.lease(timeout=1) as first, pool.lease(timeout=1) as second:
        assert first == second == GpuLease("0")
        assert pool.in_use == {"0": 2}
        with pytest.raises(Exception):
            with pool.lease(timeout=0.1):
                pass
    assert pool.in_use == {} and pool.size == 2


def test_without_gpus_one_kernel_per_gpu_is_the_default():
    assert kernels_per_gpu_default([]) == 1
