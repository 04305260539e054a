"""Real Dask clusters on 127.0.0.1 for test_cluster.py: a `dask scheduler` and `dask worker`
processes, each in a session of its own so that a test can kill a worker with all it started.

Both of test_cluster.py's clusters start with the test session (tests/conftest.py: EARLY), since
a cluster takes seconds of imports to come up: `dask_clusters` starts them without waiting, and a
test waits for one with `ready()`.
"""
import json
import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest

from course import bin_path

DASK = str(Path(sys.executable).with_name("dask"))
# Each task is a whole notebook: a worker holds only what it runs, so a worker's death
# counts against the submission it was running and no other (see the README's cluster section).
SCHEDULER_ENV = {"DASK_DISTRIBUTED__SCHEDULER__WORKER_SATURATION": "1.0",
                 "DASK_DISTRIBUTED__SCHEDULER__ALLOWED_FAILURES": "2"}


class DaskCluster:
    """A scheduler and `workers` workers (w0, w1, ...), started at once; the workers find the
    scheduler through its file."""

    def __init__(self, folder: Path, workers: int = 2):
        env = {**os.environ, **SCHEDULER_ENV, "PATH": bin_path()}
        self.folder, self.workers = folder, workers
        self.scheduler_file = folder / "scheduler.json"
        self.started = [self._start(["scheduler", "--host", "127.0.0.1", "--port", "0", "--scheduler-file",
                                     self.scheduler_file], "scheduler", env)]
        self.named = {}
        for number in range(workers):
            name = f"w{number}"
            self.named[name] = self._start(["worker", "--scheduler-file", self.scheduler_file, "--name", name,
                                            "--nthreads", "1", "--local-directory", folder / name], name, env)
            self.started.append(self.named[name])

    def _start(self, arguments: list, name: str, env: dict):
        with open(self.folder / f"{name}.log", "w") as log:
            return subprocess.Popen([DASK, *arguments, "--no-dashboard"], env=env, cwd=self.folder,
                                    start_new_session=True, stdout=subprocess.DEVNULL, stderr=log)

    def ready(self) -> tuple:
        """(scheduler address, {worker name: its process}) once every worker has joined."""
        wait_for(self.scheduler_file.exists, "the scheduler's file")
        address = json.loads(self.scheduler_file.read_text())["address"]
        with client_of(address) as client:
            client.wait_for_workers(self.workers, timeout=120)
        return address, self.named

    def stop(self) -> None:
        for process in self.started:
            kill_group(process)


@pytest.fixture(scope="session")
def dask_clusters(tmp_path_factory):
    """{"shared": the cluster test_cluster.py's tests share, "spare": one for the test that kills a
    worker}, started with the session and stopped at its end."""
    clusters = {name: DaskCluster(tmp_path_factory.mktemp(f"cluster-{name}")) for name in ("shared", "spare")}
    yield clusters
    for cluster in clusters.values():
        cluster.stop()


@contextmanager
def client_of(address):
    from distributed import Client
    client = Client(address, timeout=30, set_as_default=False)
    try:
        yield client
    finally:
        client.close()


def kill_group(process):
    try:
        os.killpg(process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    process.wait()


def wait_for(ready, what, timeout=60):
    deadline = time.monotonic() + timeout
    while not ready():
        assert time.monotonic() < deadline, f"waited {timeout} s for {what}"
        time.sleep(0.2)
