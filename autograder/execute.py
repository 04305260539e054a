"""Run a restored notebook on the grading kernel, cell by cell, with the guard around tests.

- A cell past its timeout is interrupted; if the kernel ignores the interrupt it is restarted
  and the cells that had finished are run again (outputs dropped) before going on.
- Past the notebook's wall-clock limit, the remaining cells are not run.
- Once the kernel dies (os._exit, a segfault, the memory limit) the remaining cells are not run.
- Before every read-only or test cell the guard puts back anything the notebook's code patched;
  after a test cell it reports what changed while the test ran: that test cannot count.

The guard's checks ride on the cells' own execute requests as `user_expressions`, which the
kernel evaluates right after the cell's code: the check after a cell and the one before the
next cell cost no round trip of their own. A cell that fails gets no user_expressions from
the kernel, so then each check is a silent request of its own, as it must be.
"""
import time
from dataclasses import dataclass, field

from .assignment import Assignment
from .guard.checks import Guard, bound_names, builtins_used, parse
from .engine.session import STUCK, Limits, Session

GUARD_TIMEOUT = 15.0
TIME_LIMIT = "the notebook reached its time limit"
NO_ANSWER = "(the grader's integrity check got no answer from the kernel)"


@dataclass
class CellRun:
    status: str  # ok, error, timeout, died, not_run
    content: dict | None = None  # the execute_reply's content
    seconds: float = 0.0
    note: str = ""
    tampered: list = field(default_factory=list)  # what changed while this test ran


@dataclass
class NotebookRun:
    cells: dict = field(default_factory=dict)  # cell index -> CellRun
    kernel: dict | None = None
    flags: list = field(default_factory=list)
    patched: set = field(default_factory=set)  # everything the guard put back, anywhere
    shadowed: set = field(default_factory=set)  # builtins the notebook redefined, hidden from tests
    pins: dict = field(default_factory=dict)  # cell index -> names a read-only cell bound


def run_notebook(nb, assignment: Assignment, limits: Limits, engine, kernel_env: dict | None = None) -> NotebookRun:
    """Execute `nb` in place (outputs land in its cells) and report how each code cell went.

    `engine` makes the kernel (engine/); `kernel_env` adds to the kernel's environment, e.g.
    the CUDA_VISIBLE_DEVICES of its GPU.
    """
    run, guard = NotebookRun(), Guard()
    deadline = time.monotonic() + limits.notebook_timeout
    with Session(limits, engine, kernel_env) as kernel:
        run.kernel = {**_install(kernel, guard, limits.kernel_name), **kernel.kernel.info}
        cells = [(index, cell, assignment.cell(cell.metadata.get("nbgrader", {}).get("grade_id")))
                 for index, cell in enumerate(nb.cells) if cell.cell_type == "code" and cell.source.strip()]
        carried = None  # the pre-check of the next cell, when it rode on the previous request
        for position, (index, cell, spec) in enumerate(cells):
            if kernel.dead:
                run.cells[index] = CellRun("not_run", note=kernel.death)
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                run.cells[index] = CellRun("not_run", note=TIME_LIMIT)
                continue
            following = _pre_check(guard, *cells[position + 1][1:]) if position + 1 < len(cells) else None
            run.cells[index], carried = _run_cell(kernel, guard, index, cell, spec, min(limits.cell_timeout, left),
                                                  run, carried, following)
            if left <= limits.cell_timeout and run.cells[index].status == "timeout":
                run.cells[index].note = TIME_LIMIT
            if kernel.stuck and time.monotonic() < deadline:
                _restart(kernel, guard, nb, index, run, deadline)
                carried = None
        if any(c.note == TIME_LIMIT for c in run.cells.values()):
            run.flags.append(f"{TIME_LIMIT} ({limits.notebook_timeout:.0f} s): the cells after it were not run")
    return run


def _install(kernel: Session, guard: Guard, kernel_name: str) -> dict:
    code, expression = guard.install()
    reply = kernel.execute(code, GUARD_TIMEOUT * 4, silent=True, user_expressions={"r": expression})
    info = parse(reply.content)
    if info is None:
        raise RuntimeError(f"the guard could not start on kernel {kernel_name}: {reply.status} {reply.note}")
    return {"name": kernel_name, **info}


def _guard(kernel: Session, expression: str) -> dict:
    """A silent request that evaluates one guard expression; an unreadable answer is tampering."""
    reply = kernel.execute("", GUARD_TIMEOUT, silent=True, user_expressions={"r": expression})
    answer = parse(reply.content) if reply.status == "ok" else None
    return answer if answer is not None else _no_answer()


def _no_answer() -> dict:
    return {"changed": [NO_ANSWER], "shadowed": []}


def _pre_check(guard: Guard, cell, spec) -> str | None:
    """The guard expression to evaluate just before `cell` runs: read-only and test cells only."""
    if spec is None or not spec.locked:
        return None
    return guard.check(shield=builtins_used(cell.source) if spec.is_test else ())


def _run_cell(kernel: Session, guard: Guard, index: int, cell, spec, timeout: float, run: NotebookRun,
              carried: dict | None, following: str | None) -> tuple[CellRun, dict | None]:
    """Run one cell with the guard around it; return its CellRun and the next cell's pre-check answer
    when that rode on this request."""
    is_test = spec is not None and spec.is_test
    if spec is not None and spec.locked:
        before = carried if carried is not None else _guard(kernel, _pre_check(guard, cell, spec))
        if before["changed"] != [NO_ANSWER]:
            run.patched.update(before["changed"])
            run.shadowed.update(before["shadowed"])
        if kernel.dead or kernel.stuck:  # the check itself got no answer
            run.flags.append(f"the kernel stopped answering before cell {index + 1}: it was restarted")
            return CellRun("died" if kernel.dead else "timeout", note=kernel.death or STUCK), None
    pins = bound_names(cell.source) if spec is not None and spec.locked and not is_test else None
    after = guard.check(unshield=True) if is_test else guard.pin(pins) if pins is not None else None
    expressions = {key: value for key, value in (("after", after), ("next", following)) if value}
    reply = kernel.execute(cell.source, timeout, user_expressions=expressions)
    cell.outputs = reply.outputs
    if reply.content:
        cell.execution_count = reply.content.get("execution_count")
    _report(run, reply, index, spec, timeout)
    result = CellRun(reply.status, reply.content, reply.seconds, reply.note)
    if kernel.dead or kernel.stuck:
        return result, None
    answered = reply.status == "ok" and bool((reply.content or {}).get("user_expressions"))
    if is_test:
        answer = (parse(reply.content, "after") or _no_answer()) if answered else _guard(kernel, after)
        result.tampered = answer["changed"]
        run.patched.update(c for c in answer["changed"] if c != NO_ANSWER)
    elif pins is not None:
        run.pins[index] = pins
        if not answered:
            _guard(kernel, after)
    carried = parse(reply.content, "next") if answered and following else None
    return result, carried


def _report(run: NotebookRun, reply, index: int, spec, timeout: float) -> None:
    """Flags for what happened to a cell that its test outcome alone would not show."""
    name = f"cell {index + 1}" + (f" ('{spec.grade_id}')" if spec else "")
    if reply.dropped:
        run.flags.append(f"{name} printed too much: {reply.dropped:,} bytes of output were dropped")
    if reply.status == "timeout" and reply.note == STUCK:
        run.flags.append(f"{name} ran past {timeout:.0f} s and {STUCK}: the kernel was restarted "
                         "and the cells before it were run again")
    elif reply.status == "timeout" and not (spec and spec.is_test):
        run.flags.append(f"{name} ran past {timeout:.0f} s and was interrupted")
    if reply.status == "died":
        run.flags.append(f"{reply.note} while {name} ran: the cells after it were not run")


def _restart(kernel: Session, guard: Guard, nb, upto: int, run: NotebookRun, deadline: float) -> None:
    """A fresh kernel, brought back to where the stuck one was by re-running the cells that
    finished (their recorded outputs are kept; the re-run's are dropped)."""
    kernel.restart()
    _install(kernel, guard, kernel.limits.kernel_name)
    output_used = kernel.output_used  # what the re-run prints is dropped: it does not count
    for index, cell in enumerate(nb.cells[:upto]):
        done = run.cells.get(index)
        if done is None or done.status not in ("ok", "error"):
            continue
        left = deadline - time.monotonic()
        if left <= 0 or kernel.dead or kernel.stuck:
            break
        kernel.execute(cell.source, min(kernel.limits.cell_timeout, left))
        if index in run.pins and not (kernel.dead or kernel.stuck):
            _guard(kernel, guard.pin(run.pins[index]))
    kernel.output_used = output_used
    if kernel.stuck:  # a cell that finished before hangs now: give up on this kernel
        kernel.shutdown()
        kernel.death = "the kernel had to be restarted and could not be brought back"
