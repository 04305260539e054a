"""`make test-gpu`: the whole GPU check on a CUDA machine, ending in a one-line summary.

1. doctor: the grading kernel, its torch against the course's pin, its GPU;
2. at once, each in its own pytest: the GPU tests (`-m gpu`: the hidden tests on CUDA, every
   GPU mutant graded on the CUDA kernel in one warm batch), and nbval of the lecture on CUDA.

Exits 0 only when all of it ran and passed: a GPU test skipped on a GPU machine is a failure.
"""
import re
import subprocess
import sys
import tempfile
import time
import xml.etree.ElementTree as ElementTree
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable
SUITES = {  # name -> pytest arguments
    "GPU tests": ["-m", "gpu", "tests"],
    "nbval": ["notebooks"],
}


def doctor() -> tuple[str, str]:
    """doctor's report and, when it found CUDA, 'device (torch X)'; '' otherwise."""
    done = subprocess.run([PYTHON, "-m", "autograder", "doctor"], cwd=ROOT, capture_output=True, text=True)
    print(done.stdout + done.stderr, end="", flush=True)
    if done.returncode != 0:
        return done.stderr.strip().splitlines()[-1] if done.stderr.strip() else "doctor failed", ""
    device = re.search(r"^device:\s+(.*?) \(capability", done.stdout, re.M)
    torch = re.search(r"^torch:\s+(\S+)", done.stdout, re.M)
    pin = re.search(r"^course pin:\s+torch==(\S+)", done.stdout, re.M)
    if not device:
        return "", ""
    mismatch = f", course pins {pin[1]}" if pin and "DIFFERS" in done.stdout else ""
    return "", f"{device[1]} (torch {torch[1]}{mismatch})"


def counts(report: Path) -> dict[str, int | list[str]]:
    """passed, failed, skipped and the failures' names from a junit xml report."""
    result = {"passed": 0, "failed": 0, "skipped": 0, "names": []}
    if not report.is_file():
        result["failed"], result["names"] = 1, ["pytest wrote no report"]
        return result
    for case in ElementTree.parse(report).iter("testcase"):
        outcome = next((child.tag for child in case if child.tag in ("failure", "error", "skipped")), "passed")
        key = {"failure": "failed", "error": "failed"}.get(outcome, outcome)
        result[key] += 1
        if key == "failed":
            result["names"].append(case.get("name"))
    return result


def run_suites(folder: Path) -> dict[str, dict]:
    running = {}
    for name, arguments in SUITES.items():
        report, log = folder / f"{name}.xml", open(folder / f"{name}.log", "w")
        command = [PYTHON, "-m", "pytest", "-p", "no:cacheprovider", "-rs", f"--junitxml={report}", *arguments]
        running[name] = (subprocess.Popen(command, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT), report, log)
    outcomes = {}
    for name, (process, report, log) in running.items():
        process.wait()
        log.close()
        print(f"\n===== {name}: pytest {' '.join(SUITES[name])} =====")
        print((folder / f"{name}.log").read_text(), end="", flush=True)
        outcomes[name] = counts(report)
    return outcomes


def summary(outcomes: dict[str, dict]) -> tuple[bool, str]:
    ok, parts = True, []
    for name, found in outcomes.items():
        text = f"{name} {found['passed']} passed"
        if found["failed"]:
            ok = False
            text += f", {found['failed']} failed ({', '.join(found['names'][:5])})"
        if found["skipped"]:
            ok = ok and name != "GPU tests"  # on a GPU machine, a skipped GPU test checked nothing
            text += f", {found['skipped']} skipped"
        if not found["passed"]:
            ok = False
        parts.append(text)
    return ok, "; ".join(parts)


def main() -> int:
    started = time.monotonic()
    problem, device = doctor()
    if problem or not device:
        why = problem or "the grading kernel has no CUDA GPU (doctor above); run it on a CUDA machine"
        print(f"\ntest-gpu: NOT RUN: {why}")
        return 1
    with tempfile.TemporaryDirectory(prefix="test-gpu-") as folder:
        outcomes = run_suites(Path(folder))
    ok, counted = summary(outcomes)
    print(f"\ntest-gpu: {'PASSED' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s on {device}: "
          f"doctor ok; {counted}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
