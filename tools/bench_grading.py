"""How fast the autograder grades, against plain `nbgrader autograde` in the same run.

Usage: python tools/bench_grading.py [N] [--profile] [--cluster-only] [--no-cluster]
       (N copies of the reference solution, default 60)

Grades the same N submissions with `nbgrader autograde`, then with the autograder's command as
an instructor types it (`python -m autograder grade ...`, a process of its own, as nbgrader's):
the default command (its workers: what this machine allows, cli.py), `--workers 1`, each worker
count up to the cores, and `--engine fresh` at the default workers. Each run is in a scratch
copy of the course, so the course's gradebook is not touched, and each figure includes the run's
fixed costs (the interpreter and its imports, warm parents importing torch, the class report), as
a class's run does. Prints a table of seconds per submission, the ratio to nbgrader and whether
every test's score agrees with nbgrader's, then the peak unique memory (USS) of one kernel per
engine, read in a separate, untimed run.
Figures only: speed targets are read here, never asserted in tests (this machine is noisy).
`--profile` adds a cProfile of the driver grading the N submissions with 1 worker, in this process.

Then the cluster's overhead: CLUSTER_COPIES submissions graded by the embedded `--workers 2` and
by a local Dask cluster of 2 single-thread worker processes (started before the clock, as a
cluster is), in the same run. `--cluster-only` runs just that part; `--no-cluster` skips it.
"""
import cProfile
import json
import os
import pstats
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from course import autograde, bin_path, copy_course, fill_in, reference_answers  # noqa: E402

from autograder.batch import Options, grade_all  # noqa: E402
from autograder.views import PAGES  # noqa: E402
from autograder.limits import Limits  # noqa: E402
from autograder.executors.local import machine  # noqa: E402

CELL_TIMEOUT = 30
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
                      stream=open(os.devnull, "w"), pages=PAGES)
            seconds[name] = (time.monotonic() - started) / copies
            print(f"{name:30s} {seconds[name]:6.3f} s per submission")
    embedded, dask_run = seconds.values()
    print(f"Dask's overhead over the embedded default: {100 * (dask_run / embedded - 1):+.1f} % (target: at most +10 %)")


def runs(cores: int) -> list[tuple[str, list[str]]]:
    """(row label, extra `grade` arguments): the default command, each worker count up to the cores,
    and the fresh engine at the default workers."""
    rows = [("default command", [])]
    rows += [(f"--workers {n}", ["--workers", str(n)]) for n in range(1, cores + 1)]
    rows.append(("--engine fresh", ["--engine", "fresh"]))  # at the default workers
    return rows


def main(copies: int, profile: bool) -> None:
    notebook = fill_in(reference_answers())
    cores, memory = machine()
    available = f", {memory / 2**30:.1f} GiB available" if memory else ""
    print(f"{copies} copies of the reference solution; this machine: {cores} core(s){available}")
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        course = copy_course(Path(scratch) / "nbgrader")
        _nbgrader(course, "generate_assignment")
        started = time.monotonic()
        expected = autograde(course, {f"student{i:02d}": notebook for i in range(copies)}, plain=True)
        baseline = (time.monotonic() - started) / copies
        print(f"{'':36s} {'workers':>7s} {'s/submission':>12s} {'vs nbgrader':>11s}  scores")
        _row("nbgrader autograde", "", baseline, "", baseline)
        for number, (label, extra) in enumerate(runs(cores)):
            course = copy_course(Path(scratch) / f"run{number}")
            submissions = _submissions(course / "class", notebook, copies)
            out = course / "out"
            started = time.monotonic()
            done = subprocess.run([sys.executable, "-m", "autograder", "grade", "lesson08", "--submissions",
                                   str(submissions), "--out", str(out), "--course", str(course),
                                   "--cell-timeout", str(CELL_TIMEOUT), *extra],
                                  cwd=course, env={**os.environ, "PATH": bin_path()}, capture_output=True, text=True)
            seconds = (time.monotonic() - started) / copies
            if done.returncode != 0:
                raise SystemExit(f"{label}: the grader failed ({done.returncode}):\n{done.stderr[-3000:]}")
            workers = re.search(r"; (\d+) workers? \(", done.stderr.splitlines()[0])
            agree = all(_scores(json.loads((out / student / "results.json").read_text())) == expected[student]
                        for student in expected)
            _row(f"autograder {label}", workers[1] if workers else "?", seconds,
                 "identical" if agree else "DIFFER", baseline)
        if profile:
            course = copy_course(Path(scratch) / "profile")
            profiler = cProfile.Profile()
            profiler.enable()
            grade_all(course, "lesson08", _submissions(course / "class", notebook, copies), course / "out",
                      Limits(cell_timeout=CELL_TIMEOUT), Options(workers=1), stream=open(os.devnull, "w"), pages=PAGES)
            profiler.disable()
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)
        for engine in ("fresh", "warm"):
            course = copy_course(Path(scratch) / f"memory-{engine}")
            stats = {}
            grade_all(course, "lesson08", _submissions(course / "class", notebook, MEMORY_SAMPLE), course / "out",
                      Limits(cell_timeout=CELL_TIMEOUT), Options(engine=engine, workers=1),
                      stream=open(os.devnull, "w"), pages=PAGES, stats=stats)
            print(f"peak unique memory (USS) of one {engine} kernel: {stats['peak_unique_memory'] / 2**20:.0f} MiB"
                  + (f" (sandbox: {stats['sandbox']})" if engine == "warm" else ""))


def _row(label: str, workers: str, seconds: float, scores: str, baseline: float) -> None:
    print(f"{label:36s} {workers:>7s} {seconds:12.3f} {baseline / seconds:10.1f}x  {scores}")


def _submissions(folder: Path, notebook, copies: int) -> Path:
    folder.mkdir()
    for i in range(copies):
        nbformat.write(notebook, folder / f"student{i:02d}.ipynb")
    return folder


def _scores(results: dict) -> dict:
    """{grade_id: points} as nbgrader's gradebook holds them (the written answer: no auto score)."""
    return {t["name"]: (t["score"] if t["extra_data"]["outcome"] != "manual" else None) for t in results["tests"]}


def _nbgrader(course: Path, *args) -> None:
    from course import nbgrader
    nbgrader(course, *args, "lesson08", plain=True)


if __name__ == "__main__":
    arguments = [a for a in sys.argv[1:] if not a.startswith("--")]
    if "--cluster-only" not in sys.argv:
        main(int(arguments[0]) if arguments else 60, "--profile" in sys.argv)
    if "--no-cluster" not in sys.argv:
        cluster_overhead()
