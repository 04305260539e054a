"""How fast the autograder grades: seconds per notebook and peak kernel memory, for 1 and 2 workers.

Usage: python tools/bench_grading.py [N]   (N copies of the reference solution, default 6)
Grades in a scratch copy of the course, so the course's gradebook is not touched. Prints
figures only; there is no pass/fail here (speed targets are read, not asserted).
"""
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from course import copy_course, fill_in, reference_answers  # noqa: E402

from autograder.batch import Options, grade_all  # noqa: E402


def main(copies: int) -> None:
    with tempfile.TemporaryDirectory(prefix="bench-") as scratch:
        course = copy_course(scratch)
        submissions = course / "class"
        submissions.mkdir()
        notebook = nbformat.writes(fill_in(reference_answers()))
        for index in range(copies):
            (submissions / f"student{index:02d}.ipynb").write_text(notebook)
        print(f"{copies} reference submissions, {os.cpu_count()} CPUs")
        for workers in (1, 2):
            started = time.monotonic()
            grade_all(course, "lesson08", submissions, course / f"out-{workers}",
                      options=Options(regrade=True, workers=workers), stream=open("/dev/null", "w"))
            seconds = time.monotonic() - started
            print(f"workers={workers}: {seconds:6.1f} s in all, {seconds / copies:5.2f} s per notebook")
        peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        print(f"peak memory of one grading kernel: {peak:.0f} MiB")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 6)
