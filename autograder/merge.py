"""Fold a later run on a CUDA kernel into a result that was graded without one.

A provisional result's `needs_gpu` tests are replaced by the same tests from the GPU run;
everything else (the CPU tests, their scores, the flags) is kept from the first run.
"""
import copy

from . import results as R


def merge_gpu_tests(previous: dict, gpu_run: dict) -> dict:
    merged = copy.deepcopy(previous)
    fresh = {test["name"]: test for test in gpu_run.get("tests", [])}
    graded_now = []
    for index, test in enumerate(merged["tests"]):
        replacement = fresh.get(test["name"])
        if R.outcome_of(test) == R.NEEDS_GPU and replacement and R.outcome_of(replacement) != R.NEEDS_GPU:
            merged["tests"][index] = copy.deepcopy(replacement)
            graded_now.append(test["name"])
    extra, gpu_extra = merged["extra_data"], gpu_run["extra_data"]
    merged["score"] = round(sum(test["score"] for test in merged["tests"]), 4)
    merged["execution_time"] = round(previous["execution_time"] + gpu_run["execution_time"], 2)
    still_missing = [t["name"] for t in merged["tests"] if R.outcome_of(t) == R.NEEDS_GPU]
    if extra["status"] == R.PROVISIONAL and not still_missing:
        extra["status"] = R.GRADED
    new_flags = list(gpu_extra["flags"])
    if gpu_extra["status"] in (R.INVALID, R.GRADER_ERROR):
        new_flags.append(f"the GPU run could not grade this submission: {gpu_run['output']}")
    extra["flags"] = extra["flags"] + [flag for flag in new_flags if flag not in extra["flags"]]
    extra.setdefault("graded_without_gpu_on", extra["kernel"])
    extra["kernel"] = gpu_extra["kernel"]
    device = (gpu_extra["kernel"] or {}).get("cuda_device") or "a CUDA kernel"
    merged["output"] = (f"{merged['score']:g} / {extra['max_score']:g} points. "
                        f"GPU tests graded later on {device}: {', '.join(graded_now) or 'none'}; "
                        "the other tests were kept from the first run.")
    if still_missing:
        merged["output"] += f" Still provisional: {', '.join(still_missing)} could not be graded."
    return merged
