"""Run grading jobs one by one or on parallel workers, each kernel on a GPU of its own.

Every job leases a slot from the GpuPool for its kernel's lifetime, so no two kernels share
a GPU. Only the grading runs in workers: whoever consumes the results (the batch driver)
stays the single writer of files and the gradebook.
"""
from concurrent.futures import ThreadPoolExecutor, as_completed

from .gpus import GpuPool


def run_jobs(jobs, grade, pool: GpuPool, workers: int = 1):
    """Yield (job, grade(job, kernel_env)) for each job, as each one finishes."""
    def leased(job):
        with pool.lease() as kernel_env:
            return grade(job, kernel_env)

    if workers <= 1:
        for job in jobs:
            yield job, leased(job)
        return
    executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="grader")
    try:
        futures = {executor.submit(leased, job): job for job in jobs}
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        executor.shutdown(wait=True, cancel_futures=True)
