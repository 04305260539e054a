"""GPUs in grading: who decides what. Other modules point here rather than restating it.

- Which test needs a GPU: the assignment, by name: a test cell whose grade_id ends in `_gpu`
  (`assignment.CellSpec.needs_gpu`). Nothing else says it.
- Which GPU a kernel may use: the executor's `GpuPool` (executors/gpus.py) leases one per
  submission, a `GpuLease`, for as long as its kernels run; up to `--kernels-per-gpu`
  submissions share a GPU (default: what its memory holds). The lease travels down unread
  (grade → execute → engine/session.py) to both of the submission's kernels, the student's and
  its referee, which see only that GPU (CUDA_VISIBLE_DEVICES), as `cuda:0`. A leased kernel gets
  no RLIMIT_DATA (sandbox.kernel_limits). An engine opened for GPU work (`open_engine(gpu=True)`:
  the machine has GPUs) binds the GPU devices into its sandbox (sandbox.wrap).
- Which kernel has CUDA: the kernel's own torch, asked as it starts (the referee's
  `cuda_device`, boundary/referee.install; `doctor`'s probe, engine/kernelspec.PROBE). A lease
  is not proof of CUDA: a CPU build of torch on a leased GPU has none.
- A needs_gpu test on a kernel without CUDA is not graded: outcome `needs_gpu`, no points
  (score.py), and its result is `provisional`: graded but for those tests (grade.py).
- Which run grades them later: one whose kernels have CUDA (batch._plan: `--only-gpu`, or any
  run that finds CUDA); on a Dask cluster, only workers that advertise the GPU resource
  (executors/cluster.py). merge.py folds that run's needs_gpu tests into the provisional
  result; the rest of it is kept.
- In nbgrader's gradebook a needs_gpu test has no automatic score until then (gradebook.py), so
  formgrader counts it neither as a failed test nor as one for a person to grade.
"""
from dataclasses import dataclass


@dataclass(frozen=True)
class GpuLease:
    """The GPU one submission's kernels may use; `device` None: none (a CPU slot)."""
    device: str | None = None  # the GPU's id on the host, as CUDA_VISIBLE_DEVICES names it

    @property
    def env(self) -> dict:
        """What the kernels' environment gets: their GPU alone visible, or nothing (without a GPU
        they inherit the grader's environment)."""
        return {"CUDA_VISIBLE_DEVICES": self.device} if self.device else {}


NO_GPU = GpuLease()
