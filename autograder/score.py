"""An outcome, a score and a message for every graded cell, from how its run went.

nbgrader's rules (utils.determine_grade) with two changes this course asks for: stderr output
alone does not zero a test; a test that needs a GPU, on a kernel without CUDA, is `needs_gpu`,
not a failure (gpu.py says who decides what). A test's outputs are the referee's (execute.py): no student code ran where it ran.
Outcomes are decided from the run's status and its note's code, never from words.
"""
import copy
import re

from nbgrader.utils import compute_checksum, determine_grade

from . import results as R
from .assignment import Assignment, CellSpec
from .execute import CellRun, NotebookRun
from .messages import Message, say
from .restore import Restored


def score(assignment: Assignment, restored: Restored, run: NotebookRun) -> tuple[list, list]:
    """(TestResults in source order, flags)."""
    cells = {c.metadata["nbgrader"]["grade_id"]: (i, c) for i, c in enumerate(restored.nb.cells)
             if "nbgrader" in c.metadata}
    tests = []
    for spec in assignment.grade_cells:
        index, cell = cells[spec.grade_id]
        if spec.solution:
            tests.append(_manual(spec, cell, spec.grade_id in restored.missing))
            continue
        tests.append(_test(spec, cell, run.cells.get(index), (run.kernel or {}).get("cuda_device")))
    for test in tests:
        if test.message:
            test.message = _redacted(test.message, assignment.secret_lines)
    return tests, list(run.flags)


def _redacted(message: Message, secret_lines: frozenset) -> Message:
    return Message(message.code, {name: redact(value, secret_lines) if isinstance(value, str) else value
                                  for name, value in message.fields.items()})


def redact(text: str, secret_lines: frozenset) -> str:
    """Whole lines that only hidden tests hold are blanked (defence in depth: the referee's
    messages are trusted, and student code never holds a hidden test)."""
    text = R.clip(text, R.MAX_TEST_OUTPUT)
    hidden = say("hidden_line").text()
    return "\n".join(hidden if line.strip() in secret_lines else line for line in text.split("\n"))


def _manual(spec: CellSpec, cell, missing: bool) -> R.TestResult:
    points = float(spec.points or 0)
    if missing:
        return R.TestResult(spec.grade_id, 0.0, points, R.MISSING, say("answer_missing"))
    if compute_checksum(cell) == spec.checksum:  # nbgrader: unchanged stub → "No response", 0
        return R.TestResult(spec.grade_id, 0.0, points, R.FAILED, say("answer_empty"))
    return R.TestResult(spec.grade_id, 0.0, points, R.MANUAL, say("answer_manual"))


def _test(spec: CellSpec, cell, run: CellRun | None, cuda_device) -> R.TestResult:
    points = float(spec.points or 0)

    def result(outcome, message, earned=0.0):
        return R.TestResult(spec.grade_id, earned, points, outcome, message, spec.hidden, spec.description,
                            spec.fully_hidden)

    if spec.needs_gpu and not cuda_device:
        return result(R.NEEDS_GPU, say("test_needs_gpu"))
    if run is not None and run.status == "died":
        return result(R.ERROR, say("test_died", note=run.note))
    if run is None or run.status == "not_run":
        note = run.note if run else say("empty_cell")
        return result(R.TIMEOUT if note.code == "time_limit" else R.ERROR, say("test_not_run", note=note))
    if run.status == "timeout":
        interrupted = run.note is not None and run.note.code == "cell_interrupted"
        return result(R.TIMEOUT, say("test_interrupted" if interrupted else "test_stopped", note=run.note))
    if run.status == "error" or any(o.output_type == "error" for o in cell.outputs):
        return result(R.FAILED, _failure(spec, cell, run))
    earned = _points(cell)
    printed = "" if spec.hidden else _text(cell)
    return result(R.PASSED, say("test_printed", text=printed) if printed else None, earned)


def _points(cell) -> float:
    """nbgrader's determine_grade (partial credit included), with stderr not counted as failure."""
    scored = copy.deepcopy(cell)
    scored.outputs = [o for o in scored.outputs if not (o.output_type == "stream" and o.name == "stderr")]
    try:
        earned, _ = determine_grade(scored)
    except (ValueError, KeyError):  # partial credit above the maximum, or unreadable
        return 0.0
    return float(earned or 0.0)


def _failure(spec: CellSpec, cell, run: CellRun) -> Message:
    error = next((o for o in cell.outputs if o.output_type == "error"), None)
    content = run.content or {}
    ename = error.ename if error else content.get("ename", "Error")
    evalue = error.evalue if error else content.get("evalue", "")
    traceback = R.ANSI.sub("", "\n".join(error.traceback if error else content.get("traceback", [])))
    head = f"{ename}: {evalue}" if evalue else ename
    if not spec.hidden:
        return say("test_error_traceback", error=head, traceback=traceback) if traceback else say("test_error", error=head)
    # A hidden test's source must not show: no traceback, only where in the visible part it failed.
    # A hidden check's own assertion says nothing more (its message may quote what it expects);
    # any other error is the answer's, raised while a hidden line called it.
    line = _failing_line(traceback, cell.get("execution_count"))
    if line is None or line in spec.hidden_lines:
        if ename == "AssertionError":  # what it expected stays with the instructor's report (`_error`)
            return say("hidden_check_failed", _error=head)
        return say("hidden_failure", error=head)
    return say("hidden_failure_at", error=head, line=spec.source.split(chr(10))[line - 1].strip())


def _failing_line(traceback: str, execution_count) -> int | None:
    """The line of the test cell itself where the error surfaced, from IPython's traceback."""
    match = re.search(rf"Cell In\[{execution_count}\], line (\d+)", traceback)
    return int(match.group(1)) if match else None


def _text(cell) -> str:
    return "".join(o.text for o in cell.outputs if o.output_type == "stream")[:R.MAX_TEST_OUTPUT]

