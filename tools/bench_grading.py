"""How fast the autograder grades, against plain `nbgrader autograde` in the same run.

Usage: python tools/bench_grading.py [N] [--profile] [--cluster-only]
       (N copies of the reference solution, default 60)

Grades the same N submissions with `nbgrader autograde`, then with the autograder's fresh
engine (2 workers) and its warm engine (1 and 2 workers), each in a scratch copy of the course,
so the course's gradebook is not touched. Each figure includes the run's fixed costs (warm
parents importing torch, the class report), as a class's run does. Prints seconds per
submission, the ratio to nbgrader, whether every test's score agrees with nbgrader's, and the
peak unique memory (USS) of one kernel, read in a separate, untimed run.
Figures only: speed targets are read here, never asserted in tests (this machine is noisy).
`--profile` adds a cProfile of the driver during the 1-worker warm run.

Then the cluster's overhead: CLUSTER_COPIES submissions graded by the embedded default
(`--workers 2`) and by a local Dask cluster of 2 single-thread worker processes (started
before the clock, as a cluster is), in the same run. `--cluster-only` runs just that part.
"""
import cProfile
import json
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from course import autograde, copy_course, fill_in, reference_answers  # noqa: E402

from autograder.batch import Options, grade_all  # noqa: E402
from autograder.engine.session import Limits  # noqa: E402

RUNS = (("fresh", 2), ("warm", 1), ("warm", 2))  # (engine, workers)
CLUSTER_COPIES = 200
MEMORY_SAMPLE = 4  # submissions graded again, untimed, to read each kernel's unique memory


def cluster_overhead(copies: int = CLUSTER_COPIES) -> None:
    import dask
    from distributed import LocalCluster
    notebook = fill_in(reference_answers())
    print(f"{copies} copies of the reference solution: the embedded default against a local Dask cluster")
    seconds = {}
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as scratch, \
            dask.config.set({"distributed.scheduler.worker-saturation": 1.0}), \
            LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                         host="127.0.0.1") as cluster:
        for name, options in (("embedded, --workers 2", Options(workers=2)),
                              ("Dask, 2 workers", Options(scheduler=cluster.scheduler_address))):
            course = copy_course(Path(scratch) / name.split(",")[0])
            submissions = _submissions(course / "class", notebook, copies)
            started = time.monotonic()
            grade_all(course, "lesson08", submissions, course / "out", Limits(cell_timeout=30), options,
                      stream=open(os.devnull, "w"))
            seconds[name] = (time.monotonic() - started) / copies
            print(f"{name:30s} {seconds[name]:6.3f} s per submission")
    embedded, dask_run = seconds.values()
    print(f"Dask's overhead over the embedded default: {100 * (dask_run / embedded - 1):+.1f} % (target: at most +10 %)")


def main(copies: int, profile: bool) -> None:
    notebook = fill_in(reference_answers())
    print(f"{copies} copies of the reference solution, {os.cpu_count()} CPUs")
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        course = copy_course(Path(scratch) / "nbgrader")
        _run(course, "generate_assignment")
        started = time.monotonic()
        expected = autograde(course, {f"student{i:02d}": notebook for i in range(copies)})
        baseline = (time.monotonic() - started) / copies
        print(f"{'nbgrader autograde':30s} {baseline:6.3f} s per submission")
        for engine, workers in RUNS:
            course = copy_course(Path(scratch) / f"{engine}-{workers}")
            submissions = _submissions(course / "class", notebook, copies)
            profiler = cProfile.Profile() if profile and (engine, workers) == ("warm", 1) else None
            started = time.monotonic()
            if profiler:
                profiler.enable()
            everyone = grade_all(course, "lesson08", submissions, course / "out", Limits(cell_timeout=30),
                                 Options(workers=workers, engine=engine), stream=open(os.devnull, "w"))
            if profiler:
                profiler.disable()
            seconds = (time.monotonic() - started) / copies
            agree = all(_scores(results) == expected[student] for student, results in everyone.items())
            print(f"{'autograder ' + engine + ', ' + str(workers) + ' worker(s)':30s} {seconds:6.3f} s per submission"
                  f"   {baseline / seconds:5.1f}x nbgrader   scores {'identical' if agree else 'DIFFER'}")
            if profiler:
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        for engine in ("fresh", "warm"):
            course = copy_course(Path(scratch) / f"memory-{engine}")
            stats = {}
            grade_all(course, "lesson08", _submissions(course / "class", notebook, MEMORY_SAMPLE), course / "out",
                      Limits(cell_timeout=30), Options(engine=engine), stream=open(os.devnull, "w"), stats=stats)
            print(f"peak unique memory (USS) of one {engine} kernel: {stats['peak_unique_memory'] / 2**20:.0f} MiB"
                  + (f" (sandbox: {stats['sandbox']})" if engine == "warm" else ""))


def _submissions(folder: Path, notebook, copies: int) -> Path:
    folder.mkdir()
    for i in range(copies):
        nbformat.write(notebook, folder / f"student{i:02d}.ipynb")
    return folder


def _scores(results: dict) -> dict:
    """{grade_id: points} as nbgrader's gradebook holds them (the written answer: no auto score)."""
    return {t["name"]: (t["score"] if t["extra_data"]["outcome"] != "manual" else None) for t in results["tests"]}


def _run(course: Path, *args) -> None:
    from course import nbgrader
    nbgrader(course, *args, "lesson08")


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--cluster-only" not in sys.argv:
        main(int(arguments[0]) if arguments else 60, "--profile" in sys.argv)
    cluster_overhead()
