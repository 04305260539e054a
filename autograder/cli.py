"""`python -m autograder VERB ...`: grade | doctor | kernel install."""
import argparse
import shlex
import sys

from . import results as R
from .engine import kernelspec as kernel
from .batch import BatchError, Options, grade_all, provisional_count
from .engine import ENGINES, open_engine
from .executors import cluster
from .engine.session import Limits

DEFAULTS = Limits()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)
    grade = verbs.add_parser("grade", help="grade every submission of an assignment")
    grade.add_argument("assignment", help="the nbgrader assignment id, e.g. lesson08")
    grade.add_argument("--submissions", required=True, metavar="PATH",
                       help="nbgrader-layout folder, flat folder of <student>.ipynb, or a .zip of either")
    grade.add_argument("--out", required=True, metavar="DIR", help="where results, feedback and the report go")
    grade.add_argument("--course", default=".", metavar="ROOT", help="the course root (with nbgrader_config.py)")
    grade.add_argument("--notebook", help="the notebook's name, if not the assignment id")
    grade.add_argument("--kernel", default=DEFAULTS.kernel_name,
                       help="grading kernelspec, whatever the notebooks claim (default: %(default)s)")
    grade.add_argument("--cell-timeout", type=float, default=DEFAULTS.cell_timeout, metavar="S")
    grade.add_argument("--notebook-timeout", type=float, default=DEFAULTS.notebook_timeout, metavar="S")
    grade.add_argument("--memory-limit", type=int, default=DEFAULTS.memory_limit_mb, metavar="MIB")
    grade.add_argument("--regrade", action="store_true", help="grade again even where results are up to date")
    grade.add_argument("--require-gpu", action="store_true", help="refuse to start unless the kernel has CUDA")
    grade.add_argument("--only-gpu", action="store_true",
                       help="on a CUDA kernel, grade only the GPU tests earlier runs in DIR left provisional, and merge")
    grade.add_argument("--workers", type=positive, metavar="N",
                       help="kernels at once (default: every GPU's --kernels-per-gpu, else 1)")
    grade.add_argument("--kernels-per-gpu", type=positive, metavar="N",
                       help="kernels sharing one GPU (default: what its memory holds, 6 GiB each, at most 8)")
    add_engine_arguments(grade)
    grade.add_argument("--require-sandbox", action="store_true",
                       help="refuse to start unless every student kernel runs in the sandbox")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786); "
                            "default: on this machine")
    doctor = verbs.add_parser("doctor", help="say what grading would run on: kernel, torch, GPU, engine, sandbox")
    doctor.add_argument("--kernel", default=DEFAULTS.kernel_name, help="grading kernelspec (default: %(default)s)")
    doctor.add_argument("--course", default=".", metavar="ROOT",
                        help="the course root, whose requirements.txt pins torch (default: %(default)s)")
    add_engine_arguments(doctor)
    doctor.add_argument("--scheduler", metavar="ADDRESS", help="report each worker of this Dask cluster instead")
    kernel_verb = verbs.add_parser("kernel", help="manage the grading kernel")
    kernel_actions = kernel_verb.add_subparsers(dest="action", required=True)
    install = kernel_actions.add_parser("install", help=f"install the {kernel.GRADER_KERNEL} kernelspec")
    where = install.add_mutually_exclusive_group()
    where.add_argument("--user", action="store_true", help="into your user's Jupyter folder")
    where.add_argument("--prefix", help="into PREFIX/share/jupyter (default: this Python's prefix)")
    return parser


def add_engine_arguments(parser) -> None:
    parser.add_argument("--engine", choices=ENGINES, default="warm",
                        help="warm: fork each kernel from a sandboxed parent that has imported torch; "
                             "fresh: start a new, unsandboxed kernel per submission, as nbgrader does "
                             "(default: %(default)s)")


def positive(text: str) -> int:
    number = int(text)
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, not {number}")
    return number


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    if args.verb == "doctor":
        if args.scheduler:
            return doctor_cluster(args.scheduler, args.kernel, args.engine, args.course)
        return doctor(args.kernel, args.engine, args.course)
    if args.verb == "kernel":
        print(f"installed the grading kernel {kernel.GRADER_KERNEL} in {kernel.install(args.user, args.prefix)}")
        return 0
    return grade(args, argv if argv is not None else sys.argv[1:])


def grade(args, argv) -> int:
    limits = Limits(kernel_name=args.kernel, cell_timeout=args.cell_timeout,
                    notebook_timeout=args.notebook_timeout, memory_limit_mb=args.memory_limit)
    options = Options(regrade=args.regrade, require_gpu=args.require_gpu, only_gpu=args.only_gpu,
                      workers=args.workers, engine=args.engine, require_sandbox=args.require_sandbox,
                      kernels_per_gpu=args.kernels_per_gpu, scheduler=args.scheduler)
    try:
        everyone = grade_all(args.course, args.assignment, args.submissions, args.out, limits, options,
                             notebook_id=args.notebook)
    except (BatchError, cluster.ClusterError) as error:
        print(f"autograder: {error}; what was graded is recorded, run the same command again to finish"
              if isinstance(error, cluster.ClusterError) else f"autograder: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nautograder: interrupted; run the same command again to finish", file=sys.stderr)
        return 130
    print(grade_table(everyone))
    print(f"\nreport: {args.out}/report.html   grades: {args.out}/grades.csv")
    waiting = provisional_count(everyone)
    if waiting:
        again = [word for word in argv if word not in ("--require-gpu", "--only-gpu", "--regrade")] + ["--only-gpu"]
        where = "once the cluster has GPU workers" if args.scheduler else "on a GPU machine"
        print(f"{waiting} submission(s) need their GPU tests graded on a CUDA kernel: run "
              f"`python -m autograder {shlex.join(again)}` {where}")
    return 0


def doctor(kernel_name: str, engine_kind: str = "warm", course_root: str = ".") -> int:
    try:
        engine = open_engine(engine_kind, kernel_name)
        try:
            info = kernel.probe(engine)
        finally:
            engine.close()
    except Exception as error:  # no such kernel, a kernel that will not start, no torch in it
        print(f"autograder doctor: the grading kernel {kernel_name!r} cannot run: {error}", file=sys.stderr)
        return 1
    print(kernel.describe(info, kernel_name, course_root))
    return 0


def doctor_cluster(address: str, kernel_name: str, engine_kind: str, course_root: str) -> int:
    """doctor's report for every worker of a Dask cluster: 1 if any of them can't grade."""
    try:
        client = cluster.connect(address)
    except cluster.ClusterError as error:
        print(f"autograder doctor: {error}", file=sys.stderr)
        return 1
    try:
        found = cluster.probe_workers(client, cluster.WorkerSetup(engine_kind, kernel_name, False))
    except cluster.ClusterError as error:
        print(f"autograder doctor: {error}", file=sys.stderr)
        return 1
    finally:
        client.close()
    for address_, info in sorted(found.items()):
        resources = ", ".join(f"{k}={v:g}" for k, v in info["resources"].items()) or "none"
        print(f"== worker {address_}: {info['nthreads']} thread(s), resources: {resources}")
        print(f"   cannot grade: {info['error']}" if "error" in info else kernel.describe(info, kernel_name, course_root))
    usable = [info for info in found.values() if "error" not in info]
    gpu = [info for info in usable if info["cuda_available"] and info["resources"].get(cluster.GPU_RESOURCE)]
    print(f"\n{len(usable)} of {len(found)} worker(s) can grade; {len(gpu)} take GPU work "
          f"(CUDA and --resources {cluster.GPU_RESOURCE}=N)")
    return 0 if len(usable) == len(found) else 1


def grade_table(everyone: dict) -> str:
    rows = [("student", "score", "max", "status", "flags")]
    for student in sorted(everyone):
        row = R.grade_row(everyone[student])
        rows.append((student, f"{row['score']:g}", f"{row['max_score']:g}", row["status"],
                     str(len(everyone[student]["extra_data"]["flags"]))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
