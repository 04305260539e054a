"""Run grading jobs one by one or on parallel workers, each kernel on a GPU of its own.

Every job leases a slot from the GpuPool for its kernel's lifetime, so no two kernels share
a GPU. Only the grading runs in workers: whoever consumes the results (the batch driver)
stays the single writer of files and the gradebook. Workers are daemon threads, so Ctrl-C
ends the run at once; a kernel left behind exits with its parent, and the next run grades
whatever had not been recorded.
"""
import queue
import threading

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
    todo, done = queue.Queue(), queue.Queue()
    for job in jobs:
        todo.put(job)

    def work():
        while True:
            try:
                job = todo.get_nowait()
            except queue.Empty:
                return
            try:
                done.put((job, leased(job), None))
            except BaseException as problem:  # handed to the consumer, raised there
                done.put((job, None, problem))

    for _ in range(min(workers, len(jobs))):
        threading.Thread(target=work, name="grader", daemon=True).start()
    for _ in range(len(jobs)):
        job, graded, problem = done.get()
        if problem is not None:
            raise problem
        yield job, graded
