"""Run a restored notebook across two kernels: the student's, and the referee (boundary/).

- Answer cells, and cells the source doesn't know, run in the student's kernel.
- Test cells run in the referee only; it calls the answer's functions through the boundary,
  and the test's outcome is the referee's reply. No test code ever reaches the student's kernel.
- Read-only cells (the setup) run in both: the student's kernel first (its outputs are the
  cell's), then the referee.
- A cell past its timeout is interrupted; a student kernel that ignores the interrupt is
  replaced, and the student-side cells that had finished are run again (outputs dropped).
- Past the notebook's wall-clock limit, the remaining cells are not run.
- Once the student's kernel dies (os._exit, a segfault, the memory limit) the rest is not run.
"""
import time
from dataclasses import dataclass, field

from .assignment import Assignment
from .boundary.bridge import Bridge
from .engine.session import STUCK, Session
from .gpu import NO_GPU, GpuLease
from .limits import Limits
from .messages import Message, say
from .protocols import Engine

TIME_LIMIT = say("time_limit")


@dataclass
class CellRun:
    status: str  # ok, error, timeout, died, not_run
    content: dict | None = None  # the execute_reply's content (the referee's, for a test)
    seconds: float = 0.0
    note: Message | None = None  # why it did not finish


@dataclass
class NotebookRun:
    cells: dict = field(default_factory=dict)  # cell index -> CellRun
    kernel: dict | None = None
    flags: list = field(default_factory=list)  # Messages


def run_notebook(nb, assignment: Assignment, limits: Limits, engine: Engine, gpu: GpuLease = NO_GPU) -> NotebookRun:
    """Execute `nb` in place (outputs land in its cells) and report how each code cell went.

    `engine` makes the kernels (engine/; `engine.trusted` the referee's); both use the GPU of
    `gpu`, the submission's lease (../gpu.py).
    """
    run = NotebookRun()
    deadline = time.monotonic() + limits.notebook_timeout
    with Session(limits, engine, gpu) as student, Session(limits, engine.trusted, gpu) as referee:
        bridge = Bridge(student, referee, assignment.answer_names)
        try:
            run.kernel = {"name": limits.kernel_name, **bridge.install(), **student.process.info}
            _run_cells(nb, assignment, limits, bridge, run, deadline)
        finally:
            bridge.close()
    if any(c.note == TIME_LIMIT for c in run.cells.values()):
        run.flags.append(say("notebook_time_limit", seconds=f"{limits.notebook_timeout:.0f}"))
    return run


def _run_cells(nb, assignment: Assignment, limits: Limits, bridge: Bridge, run: NotebookRun, deadline: float) -> None:
    student = bridge.student
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "code" or not cell.source.strip():
            continue
        if student.dead:
            run.cells[index] = CellRun("not_run", note=student.death)
            continue
        left = deadline - time.monotonic()
        if left <= 0:
            run.cells[index] = CellRun("not_run", note=TIME_LIMIT)
            continue
        spec = assignment.cell(cell.metadata.get("nbgrader", {}).get("grade_id"))
        done = run.cells[index] = _run_cell(bridge, index, cell, spec, min(limits.cell_timeout, left), run)
        if left <= limits.cell_timeout and done.status == "timeout":
            done.note = TIME_LIMIT
        if student.stuck and time.monotonic() < deadline:
            _restart(bridge, assignment, nb, index, run, deadline)


def _run_cell(bridge: Bridge, index: int, cell, spec, timeout: float, run: NotebookRun) -> CellRun:
    role = spec.role if spec is not None else "student"
    if role != "trusted":
        reply = bridge.student.execute(cell.source, timeout)
        cell.outputs = reply.outputs
        cell.execution_count = (reply.content or {}).get("execution_count")
        _report(run, reply, index, spec, timeout)
        if role == "student" or reply.status not in ("ok", "error"):
            return CellRun(reply.status, reply.content, reply.seconds, reply.note)
    started = time.monotonic()
    verdict, served = bridge.run_trusted(cell.source, timeout, keep_output=not spec.hidden)
    if role == "trusted":
        cell.outputs = verdict.outputs
        cell.execution_count = (verdict.content or {}).get("execution_count")
        _report(run, verdict, index, spec, timeout)
    if bridge.referee.stuck or bridge.referee.dead:
        raise RuntimeError(f"the referee kernel stopped answering in cell {index + 1}: "
                           f"{(bridge.referee.death or STUCK).text()}")
    if served.status == "died":
        run.flags.append(say("died_while", note=served.note, cell=_name(index, spec)))
        return CellRun("died", note=served.note)
    if served.status == "timeout" and bridge.student.stuck:
        run.flags.append(say("answer_stuck", cell=_name(index, spec)))
    if role == "both":
        return CellRun(reply.status, reply.content, time.monotonic() - started + reply.seconds, reply.note)
    return CellRun(verdict.status, verdict.content, verdict.seconds, verdict.note)


def _name(index: int, spec) -> Message:
    return say("cell_named", number=index + 1, grade_id=spec.grade_id) if spec else say("cell_numbered", number=index + 1)


def _report(run: NotebookRun, reply, index: int, spec, timeout: float) -> None:
    """Flags for what happened to a cell that its test outcome alone would not show."""
    name = _name(index, spec)
    if reply.dropped:
        run.flags.append(say("printed_too_much", cell=name, bytes=f"{reply.dropped:,}"))
    if reply.status == "timeout" and reply.note == STUCK:
        run.flags.append(say("cell_stuck", cell=name, seconds=f"{timeout:.0f}"))
    elif reply.status == "timeout" and not (spec and spec.role == "trusted"):
        run.flags.append(say("cell_ran_past", cell=name, seconds=f"{timeout:.0f}"))
    if reply.status == "died":
        run.flags.append(say("died_while", note=reply.note, cell=name))


def _restart(bridge: Bridge, assignment: Assignment, nb, upto: int, run: NotebookRun, deadline: float) -> None:
    """A fresh student kernel, brought back to where the stuck one was by re-running its cells that
    finished (their recorded outputs are kept; the re-run's are dropped)."""
    def finished():
        for index, cell in enumerate(nb.cells[:upto]):
            done = run.cells.get(index)
            spec = assignment.cell(cell.metadata.get("nbgrader", {}).get("grade_id"))
            if done is not None and done.status in ("ok", "error") and (spec is None or spec.role != "trusted"):
                yield cell.source

    bridge.student.restart(prepare=bridge.relisten, replay=finished(), deadline=deadline)
