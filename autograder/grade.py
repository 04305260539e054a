"""Grade one submission: notebook bytes in, a results dict (and the graded notebook) out.

    load → restore → execute → score

It touches no gradebook and no shared file, and runs the student's code in a kernel process
of its own; a sandbox, parallel workers or a cluster can wrap it unchanged. It never raises
for a bad submission: an unreadable one is `invalid`, a grader failure is `error`.
"""
import hashlib
import json
import time
import traceback
from dataclasses import asdict, dataclass


from . import results as R
from .assignment import Assignment
from .execute import run_notebook
from .load import InvalidSubmission, read_notebook
from .restore import restore
from .score import score
from .engine.fresh import FreshEngine
from .gpu import NO_GPU, GpuLease
from .limits import Limits
from .messages import Message, say

GRADER_VERSION = "2"  # 2: results.json holds message codes


@dataclass
class Graded:
    result: R.Result
    notebook: dict | None  # the graded notebook (nbformat JSON), None if it could not be read
    log: str | None = None  # for the instructor's log only (a grader failure's traceback): never shown to students

    @property
    def results(self) -> dict:
        """The result in results.json's form."""
        return self.result.to_dict()


def fingerprint(notebook_bytes: bytes, assignment: Assignment, limits: Limits) -> str:
    """Same submission, same assignment, same settings → same fingerprint → same results."""
    settings = json.dumps([GRADER_VERSION, asdict(limits)], sort_keys=True).encode()
    return "-".join([hashlib.sha256(notebook_bytes).hexdigest()[:16], assignment.digest,
                     hashlib.sha256(settings).hexdigest()[:8]])


def grade_submission(notebook_bytes: bytes, assignment: Assignment, student_id: str = "",
                     limits: Limits | None = None, gpu: GpuLease = NO_GPU, engine=None) -> Graded:
    """`engine` makes the kernels (engine/; default: a fresh kernel from the kernelspec); `gpu`:
    their GPU lease (gpu.py)."""
    limits = limits or Limits()
    engine = engine or FreshEngine(limits.kernel_name, limits.startup_timeout)
    started = time.monotonic()
    result = _new_result(student_id, assignment, limits, notebook_bytes)
    notebook = log = None
    try:
        nb, repairs = read_notebook(notebook_bytes)
        restored = restore(nb, assignment)
        for flag in repairs + restored.flags:
            result.flag(flag)
        run = run_notebook(restored.nb, assignment, limits, engine, gpu)
        notebook = restored.nb
        result.kernel = run.kernel
        result.tests, flags = score(assignment, restored, run)
        for flag in flags:
            result.flag(flag)
        if any(t.outcome == R.NEEDS_GPU for t in result.tests):
            result.status = R.PROVISIONAL
    except InvalidSubmission as problem:
        result.status, result.tests = R.INVALID, []
        result.messages = [say("not_graded", reason=problem.reason)]
    except Exception as problem:  # a grader failure must not take the batch down
        result.status, result.tests = R.GRADER_ERROR, []
        result.messages = [say("grader_failed")]
        result.flag(say("grader_error_flag", kind=type(problem).__name__))
        log = traceback.format_exc()
    result.execution_time = time.monotonic() - started
    if result.status in (R.GRADED, R.PROVISIONAL):
        result.messages = _summary(result)
    return Graded(result, notebook, log)


def not_readable(student_id: str, assignment: Assignment, reason: Message, limits: Limits | None = None) -> Graded:
    """The invalid result for a submission whose file could not even be read."""
    result = _new_result(student_id, assignment, limits or Limits(), reason.text().encode())
    result.status, result.messages = R.INVALID, [say("not_graded", reason=reason)]
    return Graded(result, None)


def grader_error(notebook_bytes: bytes, assignment: Assignment, student_id: str, limits: Limits, output: Message,
                 flag: Message) -> Graded:
    """The `error` result of a submission the grader could not finish (its worker kept dying)."""
    result = _new_result(student_id, assignment, limits, notebook_bytes)
    result.status, result.messages = R.GRADER_ERROR, [output]
    result.flag(flag)
    return Graded(result, None)


def _new_result(student_id: str, assignment: Assignment, limits: Limits, fingerprinted: bytes) -> R.Result:
    """A result with no tests yet, and a kernel description until a kernel has run."""
    return R.Result(student_id, assignment.assignment_id, R.GRADED, max_score=assignment.max_score,
                    fingerprint=fingerprint(fingerprinted, assignment, limits),
                    kernel={"name": limits.kernel_name, "python": None, "torch": None, "cuda_device": None})


def _summary(result: R.Result) -> list[Message]:
    counts = [say("summary_count", count=n, outcome=outcome) for outcome, n in R.count_outcomes(result.tests).items()]
    summary = [say("summary", score=f"{result.score:g}", max_score=f"{result.max_score:g}", counts=counts)]
    if result.status == R.PROVISIONAL:
        summary.append(say("summary_provisional"))
    if any(t.outcome == R.MANUAL for t in result.tests):
        summary.append(say("summary_manual"))
    return summary
