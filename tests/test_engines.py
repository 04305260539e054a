"""The warm engine grades exactly as the fresh one: same scores, outcomes, messages and flags on
the samples (correct, half right, endless loop, cheating, corrupted) and on every mutant."""
import json
import re

import nbformat
import pytest

from autograder.batch import Options, grade_all
from autograder.engine.session import Limits
from autograder_fixtures import FAST, SAMPLES
from course import copy_course, fill_in, reference_answers
from mutants import CPU_MUTANTS, GPU_MUTANTS, NOISY_WRAPPER

pytestmark = pytest.mark.slow


def comparable(results: dict) -> dict:
    """Everything but timings, the name of the engine (and sandbox) that made the kernel, and the
    kernel's pid, which IPython puts in the file name of a cell's code (two fresh runs differ there too)."""
    results = json.loads(re.sub(r"ipykernel_\d+", "ipykernel_PID", json.dumps(results)))
    results.pop("execution_time")
    for key in ("engine", "sandbox"):
        results["extra_data"]["kernel"].pop(key, None)
    return results


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    """{engine: {student: results}} for the same submissions graded by each engine."""
    course = copy_course(tmp_path_factory.mktemp("engines"))
    submissions = course / "class"
    submissions.mkdir()
    for sample in SAMPLES.glob("*.ipynb"):
        (submissions / sample.name).write_bytes(sample.read_bytes())
    reference = reference_answers()
    noisy = {name: code + NOISY_WRAPPER.format(name=name) for name, code in reference.items() if code.startswith("def ")}
    notebooks = {"noisy_reference": fill_in({**reference, **noisy})}
    for mutant in CPU_MUTANTS + GPU_MUTANTS:
        notebooks[mutant.name] = fill_in({**reference, mutant.function: mutant.code})
    for name, nb in notebooks.items():
        nbformat.write(nb, submissions / f"{name}.ipynb")
    limits = Limits(**FAST)
    return {engine: grade_all(course, "lesson08", submissions, course / f"out-{engine}", limits,
                              Options(engine=engine, workers=2), stream=open("/dev/null", "w"))
            for engine in ("fresh", "warm")}


def test_both_engines_grade_every_submission(graded):
    assert set(graded["warm"]) == set(graded["fresh"])
    assert len(graded["warm"]) == 5 + 1 + len(CPU_MUTANTS) + len(GPU_MUTANTS)


def test_the_warm_engine_gives_the_fresh_engines_results(graded):
    differ = [student for student in graded["fresh"]
              if comparable(graded["warm"][student]) != comparable(graded["fresh"][student])]
    assert not differ, f"the engines disagree on {differ}: " + json.dumps(
        [comparable(graded[e][differ[0]]) for e in ("fresh", "warm")], ensure_ascii=False)[:3000]


def test_each_result_names_its_engine_and_sandbox(graded):
    ran = [r for r in graded["warm"].values() if r["extra_data"]["kernel"].get("python")]
    assert ran and all(r["extra_data"]["kernel"]["engine"] == "warm" for r in ran)
    assert all(r["extra_data"]["kernel"]["sandbox"] in ("bwrap", "none") for r in ran)
    assert all(r["extra_data"]["kernel"]["sandbox"] == "none" for r in graded["fresh"].values()
               if r["extra_data"]["kernel"].get("python"))
