"""The warm engine grades exactly as the fresh one: same scores, outcomes, messages and flags on
the samples (correct, half right, endless loop, cheating, corrupted), the reference, the noisy
reference and every mutant (the correct variants, which the warm engine grades too, pass as the
reference does: the fresh engine leaves them out)."""
import json
import re

import pytest

from autograder_fixtures import SAMPLES
from mutants import CORRECT_VARIANTS, MUTANTS

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
def graded(warm_class, fresh_class_run):
    """{engine: {student: results}} for the same submissions graded by each engine: the warm
    engine's grading is the session's (autograder_fixtures.warm_class), the fresh engine's ran with
    the same limits from the session's start (autograder_fixtures.fresh_class_run)."""
    folder, warm = warm_class
    compared, fresh = fresh_class_run()
    for results in fresh.values():  # where each came from: the same file, in the other folder
        extra = results["extra_data"]
        if "origin" in extra:
            extra["origin"] = extra["origin"].replace(str(compared), str(folder), 1)
    variants = {variant.name for variant in CORRECT_VARIANTS}
    return {"fresh": fresh, "warm": {student: warm[student] for student in warm if student not in variants}}


def test_both_engines_grade_every_submission(graded, warm_class):
    assert set(graded["warm"]) == set(graded["fresh"])
    others = 2 + len(MUTANTS)  # the references, the mutants
    assert len(graded["warm"]) == len(list(SAMPLES.glob("*.ipynb"))) + others == 5 + others
    assert len(warm_class[1]) == len(graded["warm"]) + len(CORRECT_VARIANTS)


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
