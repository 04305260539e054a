"""Run grading jobs one by one or on parallel workers, each submission leasing its GPU (gpus.py).

Every job leases a slot from the GpuPool while its kernels run, so a GPU serves at most
`--kernels-per-gpu` submissions at once (default: what its memory holds), each with two kernels
on it: the student's and its referee. Only the grading runs in workers: whoever consumes the results
(the batch driver) stays the single writer of files and the gradebook. Workers are daemon threads,
so Ctrl-C ends the run at once; a kernel left behind exits with its parent, and the next run
grades whatever had not been recorded.

How many workers: `--workers N`; by default `--kernels-per-gpu` per GPU, or on a CPU machine one per core
as far as memory allows (default_workers): each worker holds a kernel of up to `--memory-limit`
and a warm parent.
"""
import os
import queue
import threading

from .gpus import GpuPool


def run_jobs(jobs, grade, pool: GpuPool, workers: int = 1):
    """Yield (job, grade(job, gpu)) for each job, as each one finishes; `gpu`: the job's GpuLease."""
    def leased(job):
        with pool.lease() as gpu:
            return grade(job, gpu)

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
PARENT_MB = 1024  # per worker, beside its kernel: a warm parent that has imported torch, and the grader's share


def default_workers(cpus: int, memory_bytes: int | None, limit_mb: int) -> int:
    """Kernels at once on a CPU machine: one per core, as many as `memory_bytes` holds at `limit_mb`
    (the kernel's --memory-limit) plus PARENT_MB each; at least 1. Memory unknown: the cores."""
    by_memory = cpus if memory_bytes is None else memory_bytes // ((limit_mb + PARENT_MB) * 2**20)
    return max(1, min(cpus, by_memory))


def machine() -> tuple[int, int | None]:
    """(cores this process may use, bytes of memory available to it): its CPU affinity and cgroup
    quota; MemAvailable, and what is left under its cgroup's limit. None when memory can't be read."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):  # not Linux
        cpus = os.cpu_count() or 1
    quota = _read("/sys/fs/cgroup/cpu.max").split()
    if len(quota) == 2 and quota[0].isdigit() and quota[1].isdigit() and int(quota[1]):
        cpus = min(cpus, max(1, int(quota[0]) // int(quota[1])))
    memory = None
    for line in _read("/proc/meminfo").splitlines():
        if line.startswith("MemAvailable:"):
            memory = int(line.split()[1]) * 1024
    limit, used = _read("/sys/fs/cgroup/memory.max").strip(), _read("/sys/fs/cgroup/memory.current").strip()
    if limit.isdigit() and used.isdigit():
        left = max(0, int(limit) - int(used))
        memory = left if memory is None else min(memory, left)
    if memory is None:
        try:
            memory = os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        except (AttributeError, ValueError, OSError):
            pass
    return cpus, memory


def _read(path: str) -> str:
    try:
        with open(path) as file:
            return file.read()
    except OSError:
        return ""


class LocalRunner:
    """A Runner (protocols.py): grading on this machine (the default), one engine, `workers`
    submissions at once, GPU leases."""

    def __init__(self, options, limits, gpus: list[str], stats: dict | None = None, engine=None):
        """`engine`: one the caller opened already (and closes), e.g. to start its first warm parent
        while the driver is still importing; else this runner opens and closes its own."""
        self.options, self.limits, self.gpus, self.stats = options, limits, gpus, stats
        self.kernel_name = limits.kernel_name
        self.engine, self.owns_engine = engine, engine is None

    def open(self, submissions: int | None = None) -> None:
        """Check the kernelspec and start the engine, with a warm parent for each worker that
        `submissions` notebooks can keep busy."""
        from ..engine import installed_kernelspec, open_engine
        from .gpus import kernels_per_gpu_default
        installed_kernelspec(self.kernel_name)
        per_gpu = self.options.kernels_per_gpu or kernels_per_gpu_default(self.gpus)
        if self.options.workers:
            self.workers, self.why = self.options.workers, f"--workers {self.options.workers}"
        elif self.gpus:
            self.workers = len(self.gpus) * per_gpu
            self.why = f"{len(self.gpus)} GPU(s) × {per_gpu} kernel(s) each"
        else:
            cpus, memory = machine()
            self.workers = default_workers(cpus, memory, self.limits.memory_limit_mb)
            held = "" if memory is None else \
                f", memory for {memory // ((self.limits.memory_limit_mb + PARENT_MB) * 2**20)}"
            self.why = (f"{cpus} core(s){held} at --memory-limit {self.limits.memory_limit_mb} MiB "
                        f"+ {PARENT_MB} MiB each; --workers N to change")
        self.pool = GpuPool(self.gpus, cpu_slots=self.workers, per_gpu=per_gpu)
        if self.engine is None:
            self.engine = open_engine(self.options.engine, self.kernel_name, gpu=bool(self.gpus),
                                      require_sandbox=self.options.require_sandbox)
        self.engine.measure_memory = self.stats is not None
        self.engine.prepare(min(self.workers, submissions or self.workers))

    def describe(self) -> str:
        """How many kernels grade at once, and why: the end of the console's first line."""
        return f"{self.workers} worker{'s' if self.workers != 1 else ''} ({self.why})"

    def probe(self) -> dict[str, dict]:
        from ..engine import kernelspec
        with self.pool.lease() as gpu:
            return {LOCAL: kernelspec.probe(self.engine, gpu)}

    def run(self, jobs, assignment, limits, progress, needs_gpu):
        """Yield (job, Graded) as each finishes. (`needs_gpu` steers jobs on a cluster: here every
        worker leases from the same pool.)"""
        from ..grade import grade_submission

        def grade(job, gpu):
            if self.workers <= 1:
                progress.start(job.sub.student_id)
            return grade_submission(job.data, assignment, job.sub.student_id, limits, gpu, self.engine)

        yield from run_jobs(jobs, grade, self.pool, self.workers)

    def close(self) -> None:
        if self.engine is None:
            return
        if self.owns_engine:
            self.engine.close()
        if self.stats is not None:
            self.stats.update(engine=self.engine.name, sandbox=self.engine.sandbox.kind,
                              peak_unique_memory=self.engine.peak_unique_memory)
