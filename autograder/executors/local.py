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


LOCAL = "this machine"


class LocalRunner:
    """Grading on this machine (the default): one engine, `workers` kernels at once, GPU leases."""

    def __init__(self, options, kernel_name: str, gpus: list[str], stats: dict | None = None):
        self.options, self.kernel_name, self.gpus, self.stats = options, kernel_name, gpus, stats
        self.engine = None

    def open(self) -> None:
        from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel
        from ..engine import EngineError, open_engine
        from .gpus import kernels_per_gpu_default
        try:
            KernelSpecManager().get_kernel_spec(self.kernel_name)
        except NoSuchKernel:
            raise EngineError(f"no Jupyter kernel named {self.kernel_name!r} is installed "
                              "(.venv/bin/python -m autograder kernel install)") from None
        per_gpu = self.options.kernels_per_gpu or kernels_per_gpu_default(self.gpus)
        self.workers = self.options.workers or max(len(self.gpus) * per_gpu, 1)
        self.pool = GpuPool(self.gpus, cpu_slots=self.workers, per_gpu=per_gpu)
        self.engine = open_engine(self.options.engine, self.kernel_name, gpu=bool(self.gpus),
                                  require_sandbox=self.options.require_sandbox)
        self.engine.measure_memory = self.stats is not None
        self.engine.prepare(self.workers)

    def probe(self) -> dict[str, dict]:
        from ..engine import kernelspec
        with self.pool.lease() as kernel_env:
            return {LOCAL: kernelspec.probe(self.engine, env=kernel_env)}

    def run(self, jobs, assignment, limits, progress, needs_gpu=None):
        """Yield (job, Graded) as each finishes."""
        from ..grade import grade_submission

        def grade(job, kernel_env):
            if self.workers <= 1:
                progress.start(job.sub.student_id)
            return grade_submission(job.data, assignment, job.sub.student_id, limits, kernel_env, self.engine)

        yield from run_jobs(jobs, grade, self.pool, self.workers)

    def close(self) -> None:
        if self.engine is None:
            return
        self.engine.close()
        if self.stats is not None:
            self.stats.update(engine=self.engine.name, sandbox=self.engine.sandbox.kind,
                              peak_unique_memory=self.engine.peak_unique_memory)
