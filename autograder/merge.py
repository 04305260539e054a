"""Fold a later run on a CUDA kernel into a result that was graded without one.

A provisional result's `needs_gpu` tests are replaced by the same tests from the GPU run;
everything else (the CPU tests, their scores, the flags) is kept from the first run (gpu.py:
who decides what about GPUs).
"""
import copy

from . import results as R
from .messages import say


def merge_gpu_tests(previous: R.Result, gpu_run: R.Result) -> R.Result:
    merged = copy.deepcopy(previous)
    fresh = {test.name: test for test in gpu_run.tests}
    graded_now = []
    for index, test in enumerate(merged.tests):
        replacement = fresh.get(test.name)
        if test.outcome == R.NEEDS_GPU and replacement and replacement.outcome != R.NEEDS_GPU:
            merged.tests[index] = copy.deepcopy(replacement)
            graded_now.append(test.name)
    merged.execution_time = previous.execution_time + gpu_run.execution_time
    still_missing = [t.name for t in merged.tests if t.outcome == R.NEEDS_GPU]
    if merged.status == R.PROVISIONAL and not still_missing:
        merged.status = R.GRADED
    for flag in gpu_run.flags:
        merged.flag(flag)
    if gpu_run.status in (R.INVALID, R.GRADER_ERROR) and gpu_run.messages:
        merged.flag(say("gpu_run_failed", reason=gpu_run.messages[0]))
    merged.extra.setdefault("graded_without_gpu_on", merged.kernel)
    merged.kernel = gpu_run.kernel
    device = (gpu_run.kernel or {}).get("cuda_device") or say("a_cuda_kernel")
    merged.messages = [say("merged_summary", score=f"{merged.score:g}", max_score=f"{merged.max_score:g}",
                           device=device, tests=graded_now or say("none"))]
    if still_missing:
        merged.messages.append(say("merged_still_provisional", tests=still_missing))
    return merged
