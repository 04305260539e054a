"""grade_submission on the real lesson08 with a real kernel: each bad-input notebook is graded
once (module fixture) and many things are checked on its results."""
import json

import pytest

from autograder import results as R
from autograder_fixtures import by_name, grade_each, outcomes, submission

pytestmark = pytest.mark.slow

GPU = {"shares_memory_gpu", "to_numpy_gpu", "predict_numpy_gpu", "numpy_error_gpu"}
TO_NUMPY = {"to_numpy_basic", "to_numpy_grad", "to_numpy_dtypes", "to_numpy_unchanged", "to_numpy_meta"}
PREDICT = {"predict_numpy_basic", "predict_numpy_shapes", "predict_numpy_models", "predict_numpy_unchanged",
           "predict_numpy_meta"}
NUMPY_ERROR = {"numpy_error_basic", "numpy_error_messages", "numpy_error_same_object"}
DEF_TO_NUMPY = "def to_numpy(tensor):\n    return tensor.detach().cpu().numpy()\n"

CASES = {
    "reference": ({}, {}),
    "noisy": ({"to_numpy": "import sys, warnings\n" + DEF_TO_NUMPY.replace(
        "    return", "    warnings.warn('converting'); print('log', file=sys.stderr); print('out')\n    return")}, {}),
    "cheat_global": ({"predict_numpy": "def predict_numpy(model, batch):\n    return model(batch).detach().numpy() * 2\n"
                                        "np.allclose = lambda *a, **k: True\ntorch.equal = lambda *a, **k: True"}, {}),
    "cheat_inside": ({"to_numpy": "def to_numpy(tensor):\n    import numpy\n    numpy.allclose = lambda *a, **k: True\n"
                                  "    return tensor.detach().cpu().numpy()"}, {}),
    "cheat_ipython": ({
        "numpy_error": "def numpy_error(tensor):\n    return None\n\n"
                       "import ast\nclass NoAsserts(ast.NodeTransformer):\n"
                       "    def visit_Assert(self, node):\n        return ast.Pass()\n"
                       "get_ipython().ast_transformers.append(NoAsserts())\n"
                       "get_ipython().showtraceback = lambda *a, **k: None",
        "shares_memory": "def shares_memory(tensor, array):\n"
                         "    return np.bool_(np.shares_memory(tensor.detach().numpy(), array))\n"
                         "isinstance = lambda *a, **k: True\n"
                         "np = type('FakeNumpy', (), {'allclose': staticmethod(lambda *a, **k: True),\n"
                         "    'shares_memory': staticmethod(__import__('numpy').shares_memory)})()"}, {}),
    "timeout": ({"to_numpy": "def to_numpy(tensor):\n    while tensor.requires_grad:\n        pass\n"
                             "    return tensor.detach().cpu().numpy()",
                 "predict_numpy": "def predict_numpy(model, batch):\n    with torch.no_grad():\n"
                                  "        return model(batch).numpy()\n\nwhile True:\n    pass"}, {}),
    "stubborn": ({"numpy_error": "def numpy_error(tensor):\n    try:\n        tensor.numpy()\n"
                                "    except Exception as error:\n        return error\n\n"
                                "import signal\nsignal.signal(signal.SIGINT, signal.SIG_IGN)\n"
                                "while True:\n    pass"}, {}),
    "leaky": ({  # stashes hidden tests' source while they run, then fails a visible test with it
        "to_numpy": "_stash = []\ndef to_numpy(tensor):\n    _stash.append(get_ipython().user_ns['_ih'][-1])\n"
                    "    return tensor.detach().cpu().numpy()",
        "predict_numpy": "def predict_numpy(model, batch):\n    print('\\n'.join(_stash))\n"
                         "    raise AssertionError('\\n'.join(_stash))"}, {}),
    "gpu_skipper": ({"shares_memory": "def shares_memory(tensor, array):\n"
                                      "    return bool(np.shares_memory(tensor.detach().numpy(), array))\n"
                                      "import os\nos.environ['NBGRADER_EXECUTION'] = 'validate'\n"
                                      "can_run_gpu_test = lambda test_name: False"}, {}),
    "exit": ({"predict_numpy": "import os\ndef predict_numpy(model, batch):\n    os._exit(3)"}, {}),
    "segfault": ({"to_numpy": DEF_TO_NUMPY + "import ctypes\nctypes.string_at(0)"}, {}),
    "memory": ({"to_numpy": DEF_TO_NUMPY + "hog = [np.ones(10**8) for _ in range(200)]"},
               {"memory_limit_mb": 1500, "cell_timeout": 30}),
    "flood": ({"to_numpy": DEF_TO_NUMPY + "for _ in range(40):\n    print('spam ' * 200_000)"}, {}),
    "wallclock": ({"to_numpy": DEF_TO_NUMPY + "import time\ntime.sleep(3.5)",
                   "predict_numpy": "import time\ntime.sleep(3.5)"}, {"notebook_timeout": 6}),
}


# The cases that wait out deadlines, started first: the others are graded meanwhile.
WAITING = ("timeout", "stubborn", "memory", "wallclock")


@pytest.fixture(scope="module")
def graded(ag_assignment):
    """Every case graded once, a few at a time on the session's warm engine."""
    order = sorted(CASES, key=lambda name: name not in WAITING)
    return grade_each(ag_assignment, {name: (submission(**CASES[name][0]), CASES[name][1]) for name in order})


def results(graded, name):
    return graded[name].results


def flags(graded, name):
    return "\n".join(results(graded, name)["extra_data"]["flags"])


def test_reference_earns_every_point_this_kernel_can_grade(graded, ag_assignment):
    r = results(graded, "reference")
    got = outcomes(r)
    assert {t for t, o in got.items() if o == "needs_gpu"} == GPU
    assert got["written_error_order"] == "failed"  # the release's "YOUR ANSWER HERE": no response
    assert {o for t, o in got.items() if t not in GPU | {"written_error_order"}} == {"passed"}
    gradable = sum(c.points for c in ag_assignment.grade_cells if c.is_test and c.grade_id not in GPU)
    assert r["score"] == gradable
    assert r["extra_data"]["status"] == "provisional" and r["extra_data"]["flags"] == []


def test_results_json_carries_every_field_of_the_schema(graded, ag_assignment):
    r = json.loads(json.dumps(results(graded, "reference")))
    assert {"score", "execution_time", "output", "tests", "extra_data"} <= set(r)
    assert r["execution_time"] > 0 and isinstance(r["output"], str)
    extra = r["extra_data"]
    assert extra["status"] in R.STATUSES and isinstance(extra["flags"], list)
    assert extra["kernel"]["name"] == "pytorch-course-grader", "graded on the grading kernel, whatever the notebook claims"
    assert extra["kernel"]["python"].startswith("3.") and extra["kernel"]["torch"].startswith("2.")
    assert "cuda_device" in extra["kernel"]
    assert extra["max_score"] == ag_assignment.max_score
    assert [t["name"] for t in r["tests"]] == [c.grade_id for c in ag_assignment.grade_cells]
    for test in r["tests"]:
        assert {"name", "score", "max_score", "status", "output", "visibility", "extra_data"} <= set(test)
        assert test["status"] in ("passed", "failed") and test["extra_data"]["outcome"] in R.OUTCOMES
        assert test["extra_data"]["hidden"] == ag_assignment.cell(test["name"]).hidden


def test_a_correct_answer_that_prints_and_warns_keeps_its_points(graded):
    assert results(graded, "noisy")["score"] == results(graded, "reference")["score"]
    notebook = graded["noisy"].notebook
    cells = {c.metadata.get("nbgrader", {}).get("grade_id"): c for c in notebook.cells}
    assert any(o.output_type == "stream" and o.name == "stderr" for o in cells["to_numpy_basic"].outputs)
    # what the answer prints while a test with a hidden part calls it reaches no page
    for hidden in ("to_numpy_grad", "to_numpy_dtypes", "to_numpy_unchanged"):
        assert not [o for o in cells[hidden].outputs if o.output_type == "stream"], hidden


def test_patching_numpy_globally_changes_only_the_students_own_process(graded):
    r = results(graded, "cheat_global")
    got = outcomes(r)
    assert got["predict_numpy_basic"] == got["predict_numpy_shapes"] == "failed"
    assert "model output과 값이 달라" in by_name(r)["predict_numpy_basic"]["output"]  # the referee's own np.allclose ran
    lost = {"predict_numpy_basic": 1, "predict_numpy_shapes": 2, "predict_numpy_models": 2, "predict_numpy_unchanged": 2,
            "predict_numpy_meta": 1}
    assert {t["name"] for t in r["tests"] if t["score"] < t["max_score"]} - GPU - {"written_error_order"} == set(lost)
    assert r["score"] == results(graded, "reference")["score"] - sum(lost.values())


def test_a_correct_answer_that_patches_its_own_kernel_keeps_its_points(graded):
    """The patch lands in the student's process; the verdicts are the referee's."""
    tests = by_name(results(graded, "cheat_inside"))
    for name in TO_NUMPY:
        assert tests[name]["score"] == tests[name]["max_score"] and tests[name]["extra_data"]["outcome"] == "passed"
    assert results(graded, "cheat_inside")["score"] == results(graded, "reference")["score"]


def test_ipython_hooks_builtins_and_rebound_names_cannot_fool_tests(graded):
    got = outcomes(results(graded, "cheat_ipython"))
    assert got["numpy_error_basic"] == got["numpy_error_messages"] == "failed"
    assert got["shares_memory_basic"] == "failed"  # np.bool_ is not a bool, whatever isinstance says


def test_a_hidden_tests_source_never_reaches_the_students_code_or_any_message(graded, ag_assignment):
    leaky = by_name(results(graded, "leaky"))["predict_numpy_basic"]
    assert leaky["extra_data"]["outcome"] == "failed" and "AssertionError" in leaky["output"]
    for name in CASES:
        for test in results(graded, name)["tests"]:
            for line in ag_assignment.secret_lines:
                if not any(line in spec.visible_source for spec in ag_assignment.cells):  # part of a line students have
                    assert line not in test["output"], (name, test["name"], line)
            assert "[a line of a hidden test]" not in test["output"], "nothing to redact: no test ran where code could read it"
            spec = ag_assignment.cell(test["name"])
            if spec.hidden:
                hidden_only = set(spec.source.split("\n")) - set(spec.visible_source.split("\n"))
                for line in hidden_only:
                    if len(line.strip()) > 12 and line.strip() not in spec.visible_source:
                        assert line.strip() not in test["output"], (name, test["name"], line)


def test_an_endless_cell_times_out_and_the_rest_still_run(graded):
    r = results(graded, "timeout")
    got = outcomes(r)
    assert got["to_numpy_grad"] == "timeout" and by_name(r)["to_numpy_grad"]["score"] == 0
    assert got["to_numpy_basic"] == "passed"  # no grad: no loop
    assert got["predict_numpy_basic"] == "passed" and got["numpy_error_basic"] == "passed"
    assert "('predict_numpy') ran past" in flags(graded, "timeout")


def test_a_kernel_that_ignores_interrupts_is_restarted_and_the_notebook_goes_on(graded):
    got = outcomes(results(graded, "stubborn"))
    assert "restarted" in flags(graded, "stubborn")
    assert all(got[t] == "passed" for t in TO_NUMPY | PREDICT)  # earlier cells were replayed
    assert all(got[t] == "failed" for t in NUMPY_ERROR)  # its own cell never finished


@pytest.mark.parametrize("case, dies_in, words", [
    ("exit", "predict_numpy_basic", "exit code 3"),
    ("segfault", "to_numpy_basic", "SIGSEGV"),
    ("memory", "to_numpy_basic", "MiB of memory"),
])
def test_a_dead_kernel_costs_only_the_cells_that_could_not_run(graded, case, dies_in, words):
    r = results(graded, case)
    names = [t["name"] for t in r["tests"]]
    got = outcomes(r)
    after = names[names.index(dies_in):]
    assert all(got[t] in ("error", "needs_gpu") for t in after if t != "written_error_order")
    assert all(got[t] in ("passed", "needs_gpu") for t in names[:names.index(dies_in)])
    assert words in flags(graded, case)
    assert r["extra_data"]["status"] == "provisional"  # graded, the GPU tests still to come


def test_floods_of_output_are_cut_and_every_output_is_bounded(graded):
    r = results(graded, "flood")
    assert "printed too much" in flags(graded, "flood")
    assert r["score"] == results(graded, "reference")["score"]
    assert len(json.dumps(r)) < 100_000
    import nbformat
    assert len(nbformat.writes(graded["flood"].notebook)) < 1_500_000


def test_the_notebook_wall_clock_limit_stops_the_rest(graded):
    r = results(graded, "wallclock")
    got = outcomes(r)
    assert "time limit" in flags(graded, "wallclock")
    assert got["numpy_error_basic"] == "timeout"
    assert "time limit" in by_name(r)["numpy_error_basic"]["output"]
    assert got["shares_memory_basic"] == "passed"


def test_a_notebook_that_disarms_the_gpu_skip_still_gets_no_gpu_points_without_cuda(graded):
    import torch
    if torch.cuda.is_available():
        pytest.skip("this machine has CUDA: the GPU tests run")
    tests = by_name(results(graded, "gpu_skipper"))
    for name in GPU:
        assert tests[name]["extra_data"]["outcome"] == "needs_gpu" and tests[name]["score"] == 0, name
