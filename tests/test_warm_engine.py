"""The warm engine's parent: fork-safe when it forks, never the kernel itself, and replaced when
it dies, whether between submissions or in the middle of one."""
import signal

import psutil
import pytest

from autograder.engine import open_engine
from autograder.engine.session import Limits, Session
from autograder.engine.warm import FORKSERVER_INSIDE, FORKSERVER

KERNEL = "pytorch-course-grader"


@pytest.fixture(scope="module")
def engine():
    """One engine for these tests, one parent at a time: a test that kills the parent leaves the
    engine to replace it, which is what the next test's first kernel then relies on."""
    engine = open_engine("warm", KERNEL)
    yield engine
    engine.close()


def forkservers(engine) -> list[psutil.Process]:
    """The warm parents' processes on the host (inside bwrap, when there is a sandbox); their
    forked kernels carry the same command line, so a parent is one whose own parent is not."""
    def is_forkserver(process):
        return any(part in (FORKSERVER_INSIDE, str(FORKSERVER)) for part in process.cmdline())

    found = []
    for parent in engine._parents:
        try:
            sandbox = psutil.Process(parent.process.pid)
            for process in [sandbox, *sandbox.children(recursive=True)]:
                if is_forkserver(process) and not is_forkserver(process.parent()):
                    found.append(process)
        except psutil.Error:  # a parent that died and is not yet replaced
            pass
    return found


def run(session, code: str) -> str:
    reply = session.execute(code, 30)
    assert reply.status == "ok", (reply.status, reply.note, reply.outputs)
    return "".join(o.get("text", "") for o in reply.outputs)


def test_the_parent_has_one_thread_and_no_cuda_when_it_forks(engine):
    with Session(Limits(), engine) as session:
        run(session, "import torch; torch.ones(3).sum()")
        (parent,) = forkservers(engine)
        assert parent.num_threads() == 1, "a thread in the parent at fork time could hang the child"
    assert engine._parents[0].info["cuda_initialized"] is False
    assert {"torch", "numpy", "python"} <= set(engine._parents[0].info)


def test_the_kernel_is_a_child_of_the_parent_not_the_parent(engine):
    with Session(Limits(), engine) as session:
        pid, parent_pid = map(int, run(session, "import os; print(os.getpid(), os.getppid())").split())
        assert pid != parent_pid
        # the kernel has torch already: it was imported by the parent, not by this kernel
        assert run(session, "import sys; print('torch' in sys.modules)").strip() == "True"


def test_a_referees_parent_leaves_matplotlib_out_and_a_students_has_it(engine):
    with Session(Limits(), engine) as student, Session(Limits(), engine.trusted) as referee:
        check = "import sys; print('matplotlib.pyplot' in sys.modules, 'torch' in sys.modules)"
        assert run(student, check).split() == ["True", "True"]
        assert run(referee, check).split() == ["False", "True"], "a referee never plots: its parent skips that import"


def test_a_parent_killed_between_submissions_is_replaced(engine):
    with Session(Limits(), engine) as session:
        run(session, "x = 1")
    (parent,) = forkservers(engine)
    parent.send_signal(signal.SIGKILL)
    parent.wait(10)
    with Session(Limits(), engine) as session:
        assert run(session, "print(6 * 7)").strip() == "42"
    (replacement,) = [p for p in forkservers(engine) if p.is_running()]
    assert replacement.pid != parent.pid


def test_a_parent_killed_during_a_submission_costs_only_that_submission(engine):
    session = Session(Limits(), engine)
    session.start()
    try:
        (parent,) = forkservers(engine)
        parent.send_signal(signal.SIGKILL)
        reply = session.execute("import time; time.sleep(5)", 20)
        assert reply.status == "died" and session.dead, (reply.status, reply.note)
    finally:
        session.shutdown()
    with Session(Limits(), engine) as session:
        assert run(session, "print('next')").strip() == "next"


def test_fresh_and_warm_kernels_have_the_same_python_and_torch(engine):
    with Session(Limits(), engine) as warm:
        warm_versions = run(warm, "import sys, torch; print(sys.version, torch.__version__)")
    fresh_engine = open_engine("fresh", KERNEL)
    try:
        with Session(Limits(), fresh_engine) as fresh:
            assert run(fresh, "import sys, torch; print(sys.version, torch.__version__)") == warm_versions
    finally:
        fresh_engine.close()


def test_a_forked_kernel_keeps_kernel_semantics(engine):
    """display, stderr, get_ipython() and inline matplotlib work as in a kernel of its own."""
    with Session(Limits(), engine) as session:
        reply = session.execute(
            "import sys\nimport matplotlib.pyplot as plt\nfrom IPython.display import display, Markdown\n"
            "print('out'); print('err', file=sys.stderr)\n"
            "display(Markdown('**shown**'))\n"
            "assert get_ipython() is not None and type(get_ipython()).__name__ == 'ZMQInteractiveShell'\n"
            "plt.plot([1, 2, 3]); plt.show()\n"
            "41 + 1", 30)
    assert reply.status == "ok", reply.outputs
    kinds = [(o["output_type"], o.get("name")) for o in reply.outputs]
    assert ("stream", "stdout") in kinds and ("stream", "stderr") in kinds
    data = [o["data"] for o in reply.outputs if o["output_type"] in ("display_data", "execute_result")]
    assert any("text/markdown" in d for d in data), "display() did not reach the grader"
    assert any("image/png" in d for d in data), "the inline backend drew no figure"
    assert any(d.get("text/plain") == "42" for d in data), "the cell's value is its execute_result"
