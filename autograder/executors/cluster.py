"""Grading on a Dask cluster (`grade --scheduler tcp://HOST:8786`), the driver staying the single writer.

The driver sends each submission's bytes with the assignment (graded cells, hidden tests,
settings; about 20 kB), so workers need no course files on disk. Sent with each task rather
than scattered once: scattered data dies with the workers that hold it, and so would every
task waiting on it. Each worker process keeps one engine (a warm parent per thread, in its
sandbox) across tasks.
Results come back as they finish; the driver records them, as for a local run.

Faults are Dask's to handle: a task whose worker dies runs again on another worker, and one
that has killed `distributed.scheduler.allowed-failures` workers (3 by default) comes back as
KilledWorker, which becomes that student's `error` result. GPU work goes only to workers
started with `--resources GPU=N`, N submissions at once, sharing that worker's GPUs (../gpu.py).
"""
import math
import threading
import uuid
from dataclasses import dataclass


GPU_RESOURCE = "GPU"


class ClusterError(RuntimeError):
    """The cluster can't be reached or can't grade this run."""


@dataclass(frozen=True)
class WorkerSetup:
    """What a worker needs to build its engine, sent with every task."""
    engine: str
    kernel_name: str
    require_sandbox: bool


def connect(address: str, timeout: float = 30):
    from distributed import Client
    try:
        return Client(address, timeout=timeout, set_as_default=False)
    except (OSError, TimeoutError) as error:
        raise ClusterError(f"no Dask scheduler answers at {address}: {error}") from None


def workers(client) -> dict[str, dict]:
    """address -> {"nthreads", "resources"} for every worker the scheduler knows."""
    return {address: {"nthreads": info.get("nthreads", 1), "resources": dict(info.get("resources") or {})}
            for address, info in client.scheduler_info(n_workers=-1)["workers"].items()}


def probe_workers(client, setup: WorkerSetup, timeout: float = 180) -> dict[str, dict]:
    """address -> what its grading kernel runs on (doctor's probe), or {"error": why}; with
    `gpu_worker`: it advertises the GPU resource that GPU work asks for."""
    known = workers(client)
    if not known:
        raise ClusterError(f"the Dask cluster at {client.scheduler.address} has no workers")
    futures = {address: client.submit(_probe_on_worker, setup, workers=[address], allow_other_workers=False,
                                      pure=False, key=f"autograder-probe-{address}")
               for address in known}
    found = {}
    for address, future in futures.items():
        try:
            found[address] = {**future.result(timeout=timeout), **known[address]}
        except Exception as error:  # a worker without the kernel, or one that died while probing
            found[address] = {"error": f"{type(error).__name__}: {error}", **known[address]}
        found[address]["gpu_worker"] = known[address]["resources"].get(GPU_RESOURCE, 0) > 0
    return found


def run_jobs(client, jobs, assignment, limits, setup: WorkerSetup, needs_gpu):
    """Yield (job, Graded) as each finishes; `needs_gpu(job)` sends a job only to GPU workers."""
    from distributed import KilledWorker, as_completed
    from ..grade import grader_error
    from ..messages import say

    sent = assignment.to_dict()
    run = uuid.uuid4().hex[:8]
    by_key, futures = {}, []
    for number, job in enumerate(jobs):
        future = client.submit(_grade_on_worker, job.data, job.sub.student_id, sent, limits, setup,
                               resources={GPU_RESOURCE: 1} if needs_gpu(job) else None, pure=False,
                               key=f"autograder-{run}-{number}")
        by_key[future.key] = job
        futures.append(future)
    try:
        for future in as_completed(futures, loop=client.loop):
            job = by_key[future.key]
            try:
                yield job, future.result()
            except KilledWorker as error:  # kept: running the same command again won't retry it
                yield job, grader_error(job.data, assignment, job.sub.student_id, limits, say("worker_killed"),
                                        say("worker_killed_flag", error=str(error)[:300]))
            except Exception as error:  # the cluster itself failed (lost its scheduler, a worker without us)
                raise ClusterError(f"the Dask cluster could not grade {job.sub.student_id}: "
                                   f"{type(error).__name__}: {error}") from None
            future.release()
    finally:
        client.cancel(futures)


class ClusterRunner:
    """A Runner (protocols.py): grading on the Dask cluster at `address`; the caller stays the single writer."""

    def __init__(self, address: str, setup: WorkerSetup):
        self.address, self.setup, self.client = address, setup, None

    def open(self, submissions: int | None = None) -> None:
        self.client = connect(self.address)

    def probe(self) -> dict[str, dict]:
        return probe_workers(self.client, self.setup)

    def describe(self) -> str:
        """How many kernels grade at once, as the scheduler knows: the end of the console's first line."""
        threads = sum(info["nthreads"] for info in workers(self.client).values())
        return f"{threads} worker thread{'s' if threads != 1 else ''} on the Dask cluster at {self.address}"

    def run(self, jobs, assignment, limits, progress, needs_gpu):
        yield from run_jobs(self.client, jobs, assignment, limits, self.setup, needs_gpu)

    def close(self) -> None:
        if self.client is not None:
            self.client.close()


# On the worker: one engine per worker process, reused by every task it runs.

_engines: dict = {}  # WorkerSetup -> (engine, GpuPool)
_engines_lock = threading.Lock()


def _engine(setup: WorkerSetup):
    """This worker's engine, and the pool that gives each of its kernels one of its GPUs."""
    from distributed import get_worker
    from ..engine import open_engine
    from .gpus import GpuPool, visible_gpus
    with _engines_lock:
        if setup not in _engines:
            slots, gpus = get_worker().state.nthreads, visible_gpus()
            engine = open_engine(setup.engine, setup.kernel_name, gpu=bool(gpus),
                                 require_sandbox=setup.require_sandbox)
            engine.prepare(slots)
            pool = GpuPool(gpus, cpu_slots=slots, per_gpu=math.ceil(slots / len(gpus)) if gpus else 1)
            _engines[setup] = engine, pool
        return _engines[setup]


def _grade_on_worker(data: bytes, student_id: str, assignment: dict, limits, setup: WorkerSetup):
    from ..assignment import Assignment
    from ..grade import grade_submission
    engine, pool = _engine(setup)
    with pool.lease() as gpu:
        return grade_submission(data, Assignment.from_dict(assignment), student_id, limits, gpu, engine)


def _probe_on_worker(setup: WorkerSetup) -> dict:
    from ..engine import kernelspec
    engine, pool = _engine(setup)
    with pool.lease() as gpu:
        return kernelspec.probe(engine, gpu)
