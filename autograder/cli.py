"""`python -m autograder VERB ...`: grade | serve | export | doctor | kernel install."""
import argparse
import math
import os
import shlex
import sys
import unicodedata
from pathlib import Path

from . import results as R
from .engine import kernelspec
from .engine import ENGINES, EngineError, open_engine
from .executors import cluster
from .export import FORMATS as EXPORT_FORMATS
from .course import CONFIG_FILE, course_id, read_config
from .files import gradebook_busy
from .limits import Limits

DEFAULTS = Limits()
MIN_CELL_TIMEOUT = 1.0  # seconds
MIN_MEMORY_MB = 512  # a kernel that imports torch needs about that much


class ArgumentProblem(Exception):
    """An argument of `grade` that cannot work: refused before any work, in one line with the fix."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m autograder", description=__doc__)
    verbs = parser.add_subparsers(dest="verb", required=True)
    grade = verbs.add_parser("grade", help="grade every submission of an assignment")
    grade.add_argument("assignment", help="the nbgrader assignment id: a folder of the course's source/")
    grade.add_argument("--submissions", required=True, metavar="PATH",
                       help="nbgrader-layout folder, flat folder of <student>.ipynb, or a .zip of either")
    grade.add_argument("--out", required=True, metavar="DIR", help="where results, feedback and the report go")
    grade.add_argument("--course", default=".", metavar="ROOT", help="the course root (with nbgrader_config.py)")
    grade.add_argument("--notebook", help="the notebook's name, if not the assignment id")
    grade.add_argument("--kernel", help="grading kernelspec, whatever the notebooks claim "
                                        "(default: the course's COURSE_ID-grader)")
    grade.add_argument("--cell-timeout", type=float, default=DEFAULTS.cell_timeout, metavar="S",
                       help=f"seconds one cell may run, at least {MIN_CELL_TIMEOUT:g} (default: %(default)g)")
    grade.add_argument("--notebook-timeout", type=float, default=DEFAULTS.notebook_timeout, metavar="S",
                       help="seconds a whole notebook may run, at least the cell timeout (default: %(default)g)")
    grade.add_argument("--memory-limit", type=int, default=DEFAULTS.memory_limit_mb, metavar="MIB",
                       help=f"memory one kernel may use, at least {MIN_MEMORY_MB} (default: %(default)s)")
    grade.add_argument("--record", action="store_true",
                       help="record the results in the course's gradebook too (formgrader, nbgrader export); "
                            "without it the run is a trial that leaves the gradebook unchanged")
    grade.add_argument("--regrade", action="store_true", help="grade again even where results are up to date")
    grade.add_argument("--require-gpu", action="store_true", help="refuse to start unless the kernel has CUDA")
    grade.add_argument("--only-gpu", action="store_true",
                       help="on a CUDA kernel, grade only the GPU tests earlier runs in DIR left provisional, and merge")
    grade.add_argument("--workers", type=positive, metavar="N",
                       help="kernels at once (default: every GPU's --kernels-per-gpu; without GPUs, one per core, "
                            "as many as memory holds at --memory-limit + 1 GiB each)")
    grade.add_argument("--kernels-per-gpu", type=positive, metavar="N",
                       help="kernels sharing one GPU (default: what its memory holds, 6 GiB each, at most 8)")
    add_engine_arguments(grade)
    grade.add_argument("--require-sandbox", action="store_true",
                       help="refuse to start unless every student kernel runs in the sandbox")
    grade.add_argument("--scheduler", metavar="ADDRESS",
                       help="grade on the Dask cluster whose scheduler is at ADDRESS (tcp://HOST:8786); "
                            "default: on this machine")
    # service
    serve = verbs.add_parser("serve", help="grade each submission as it arrives in nbgrader's exchange, record it "
                                           "and release its feedback (runs until stopped)")
    serve.add_argument("assignment", help="the nbgrader assignment id")
    serve.add_argument("--course-root", default=".", metavar="DIR", help="the course root (with nbgrader_config.py)")
    serve.add_argument("--once", action="store_true",
                       help="grade and release what the exchange holds now, then exit (default: keep watching)")
    serve.add_argument("--cell-timeout", type=float, default=DEFAULTS.cell_timeout, metavar="S",
                       help=f"seconds one cell may run, at least {MIN_CELL_TIMEOUT:g} (default: %(default)g)")
    serve.add_argument("--workers", type=positive, metavar="N", help="kernels at once (default: as for grade)")
    add_engine_arguments(serve)
    export = verbs.add_parser("export", help="write an assignment's grades from the gradebook for nbgrader, "
                                             "Moodle or Canvas")
    export.add_argument("assignment", help="the nbgrader assignment id")
    export.add_argument("--out", required=True, metavar="DIR", help="where the CSV files go (never the course root)")
    export.add_argument("--format", choices=EXPORT_FORMATS, default="nbgrader",
                        help="nbgrader: `nbgrader export`'s columns; moodle: Moodle's CSV grade import; "
                             "canvas: Canvas's gradebook import (default: %(default)s)")
    export.add_argument("--roster", metavar="FILE", help="CSV student_id,lms_id[,name,email,section]: the students "
                                                          "and their LMS ids (required for moodle and canvas)")
    export.add_argument("--item", metavar="NAME", help="the grade column's name in the LMS (default: the assignment "
                                                       "id); for Canvas as its export heads it, \"Lesson 08 (12345)\"")
    export.add_argument("--course", default=".", metavar="ROOT", help="the course root (with nbgrader_config.py)")
    doctor = verbs.add_parser("doctor", help="say what grading would run on: kernel, torch, GPU, engine, sandbox")
    doctor.add_argument("--kernel", help="grading kernelspec (default: the course's COURSE_ID-grader)")
    doctor.add_argument("--course", default=".", metavar="ROOT",
                        help="the course root, whose requirements.txt pins torch (default: %(default)s)")
    add_engine_arguments(doctor)
    doctor.add_argument("--scheduler", metavar="ADDRESS", help="report each worker of this Dask cluster instead")
    kernel_verb = verbs.add_parser("kernel", help="manage the grading kernel")
    kernel_actions = kernel_verb.add_subparsers(dest="action", required=True)
    install = kernel_actions.add_parser("install", help="install the course's grading kernelspec, COURSE_ID-grader")
    install.add_argument("--course", default=".", metavar="ROOT", help="the course root (default: %(default)s)")
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
        kernel_name = args.kernel or kernelspec.grader_kernel(course_id(args.course))
        if args.scheduler:
            return doctor_cluster(args.scheduler, kernel_name, args.engine, args.course)
        return doctor(kernel_name, args.engine, args.course)
    if args.verb == "export":
        from .export.command import export
        return export(args)
    if args.verb == "kernel":
        name = course_id(args.course)
        print(f"installed the grading kernel {kernelspec.grader_kernel(name)} in "
              f"{kernelspec.install(name, args.user, args.prefix)}")
        return 0
    if args.verb == "serve":
        return serve(args)
    return grade(args, argv if argv is not None else sys.argv[1:])


def serve(args) -> int:
    """The grading service (service.py), with the views' pages."""
    def check() -> None:
        check_cell_timeout(args.cell_timeout)
        check_course_root(Path(args.course_root), "--course-root")
    refused = refused_at_start(check, args.course_root, "autograder serve")
    if refused is not None:
        return refused
    limits = Limits(kernel_name=kernelspec.grader_kernel(course_id(args.course_root)), cell_timeout=args.cell_timeout,
                    notebook_timeout=max(DEFAULTS.notebook_timeout, args.cell_timeout))
    gpus, engine = early_engine(args.engine, limits.kernel_name)
    try:
        from .batch import BatchError, Options
        from .service import ServiceError, serve as run_service
        from .views import PAGES
        run_service(args.course_root, args.assignment, pages=PAGES, limits=limits, once=args.once, gpus=gpus,
                    engine=engine, options=Options(workers=args.workers, engine=args.engine))
    except (BatchError, ServiceError) as error:
        print(f"autograder serve: {error}", file=sys.stderr)
        return 1
    finally:
        if engine is not None:
            engine.close()
    return 0


def refused_at_start(check, course_root, busy_prefix: str) -> int | None:
    """The exit status of a run refused at once, before any kernel starts: 2 for arguments that
    cannot work (`check` raises ArgumentProblem), 1 for a course whose gradebook another run holds
    (the run checks it again); None to go on."""
    try:
        check()
    except ArgumentProblem as problem:
        print(f"autograder: {problem}", file=sys.stderr)
        return 2
    busy = gradebook_busy(course_root)
    if busy:
        print(f"{busy_prefix}: {busy}", file=sys.stderr)
        return 1
    return None


def check_arguments(args) -> None:
    """Refuse (ArgumentProblem) arguments that cannot work, before anything is created or a kernel starts."""
    check_cell_timeout(args.cell_timeout)
    if not (math.isfinite(args.notebook_timeout) and args.notebook_timeout >= args.cell_timeout):
        raise ArgumentProblem(f"--notebook-timeout {args.notebook_timeout:g}: give a number of seconds, at least "
                              f"the cell timeout ({args.cell_timeout:g}; default {DEFAULTS.notebook_timeout:g})")
    if args.memory_limit < MIN_MEMORY_MB:
        raise ArgumentProblem(f"--memory-limit {args.memory_limit}: give at least {MIN_MEMORY_MB} MiB, what a kernel "
                              f"that imports torch needs (default {DEFAULTS.memory_limit_mb})")
    root = Path(args.course)
    check_course_root(root, "--course")
    source = _source_directory(root)
    named = args.assignment not in ("", ".", "..") and Path(args.assignment).name == args.assignment
    if not (named and (source / args.assignment).is_dir()):
        there = sorted(p.name for p in source.iterdir() if p.is_dir() and not p.name.startswith(".")) \
            if source.is_dir() else []
        raise ArgumentProblem(f"no assignment {args.assignment!r} in {source}: "
                              + (f"choose one of {', '.join(there)}" if there else "it has none; is --course right?"))
    if not Path(args.submissions).exists():
        raise ArgumentProblem(f"--submissions {args.submissions}: does not exist; give the folder or .zip "
                              "of the class's notebooks")
    out = Path(args.out)
    existing = next(folder for folder in (out, *out.parents) if folder.exists())
    if not existing.is_dir():
        what = "is a file" if existing == out else f"is below {existing}, a file"
        raise ArgumentProblem(f"--out {args.out}: {what}, not a folder; give a new or existing folder for the results")


def check_cell_timeout(seconds: float) -> None:
    if not (math.isfinite(seconds) and seconds >= MIN_CELL_TIMEOUT):
        raise ArgumentProblem(f"--cell-timeout {seconds:g}: give a number of seconds, at least "
                              f"{MIN_CELL_TIMEOUT:g} (default {DEFAULTS.cell_timeout:g})")


def check_course_root(root: Path, option: str) -> None:
    """ArgumentProblem unless `root` holds the course's config (naming the folder above that does)."""
    if not (root / CONFIG_FILE).is_file():
        above = next((str(folder) for folder in root.resolve().parents if (folder / CONFIG_FILE).is_file()), "ROOT")
        raise ArgumentProblem(f"no {CONFIG_FILE} in {root.resolve()}: not a course root; "
                              f"pass {option} {above}, the folder that holds it")


def _source_directory(root: Path) -> Path:
    """The course's source folder as its nbgrader_config.py sets it (nbgrader's default: source)."""
    try:
        config = read_config(root)
    except Exception as error:  # the config is Python: anything can go wrong in it
        raise ArgumentProblem(f"{root.resolve() / CONFIG_FILE} cannot be read ({type(error).__name__}: "
                              f"{error}); fix it and run again") from None
    return root.resolve() / config.CourseDirectory.get("source_directory", "source")


def interpreter() -> str:
    """This Python as the instructor can type it: relative when it is under the current folder."""
    python = Path(sys.executable)
    try:
        relative = str(python.relative_to(Path.cwd()))
    except ValueError:
        return str(python)
    return relative if os.sep in relative else os.path.join(".", relative)


def early_engine(kind: str, kernel_name: str, require_sandbox: bool = False):
    """(this machine's GPUs, an engine whose first warm parent imports torch while this process imports the
    rest), or (GPUs, None) when it can't start: the run's own start then says why, in its words."""
    from .executors.gpus import visible_gpus
    gpus = visible_gpus()
    try:
        engine = open_engine(kind, kernel_name, gpu=bool(gpus), require_sandbox=require_sandbox)
        engine.prepare(1)
    except EngineError:
        engine = None
    return gpus, engine


def grade(args, argv) -> int:
    refused = refused_at_start(lambda: check_arguments(args), args.course, "autograder")
    if refused is not None:
        return refused
    limits = Limits(kernel_name=args.kernel or kernelspec.grader_kernel(course_id(args.course)),
                    cell_timeout=args.cell_timeout,
                    notebook_timeout=args.notebook_timeout, memory_limit_mb=args.memory_limit)
    gpus, engine = (None, None) if args.scheduler else early_engine(args.engine, limits.kernel_name,
                                                                    args.require_sandbox)
    try:
        return _grade(args, argv, limits, gpus, engine)
    finally:
        if engine is not None:
            engine.close()


def _grade(args, argv, limits: Limits, gpus, engine) -> int:
    from .batch import BatchError, Options, grade_all, provisional_count  # nbgrader: a second to import
    from .views import PAGES
    options = Options(regrade=args.regrade, require_gpu=args.require_gpu, only_gpu=args.only_gpu,
                      workers=args.workers, engine=args.engine, require_sandbox=args.require_sandbox,
                      kernels_per_gpu=args.kernels_per_gpu, scheduler=args.scheduler, record=args.record)
    again = [word for word in argv if word not in ("--require-gpu", "--only-gpu", "--regrade")] + ["--only-gpu"]
    follow_up = f"{shlex.quote(interpreter())} -m autograder {shlex.join(again)}"
    try:
        everyone = grade_all(args.course, args.assignment, args.submissions, args.out, limits, options,
                             notebook_id=args.notebook, only_gpu_command=follow_up, gpus=gpus, engine=engine,
                             pages=PAGES)
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
        where = "once the cluster has GPU workers" if args.scheduler else "on a GPU machine"
        print(f"{waiting} submission(s) need their GPU tests graded on a CUDA kernel: run `{follow_up}` {where}")
    return 0


def doctor(kernel_name: str, engine_kind: str = "warm", course_root: str = ".") -> int:
    try:
        engine = open_engine(engine_kind, kernel_name)
        try:
            info = kernelspec.probe(engine)
        finally:
            engine.close()
    except Exception as error:  # no such kernel, a kernel that will not start, no torch in it
        print(f"autograder doctor: the grading kernel {kernel_name!r} cannot run: {error}", file=sys.stderr)
        return 1
    print(kernelspec.describe(info, kernel_name, course_root))
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
        print(f"   cannot grade: {info['error']}" if "error" in info else kernelspec.describe(info, kernel_name, course_root))
    usable = [info for info in found.values() if "error" not in info]
    gpu = [info for info in usable if info["cuda_available"] and info["gpu_worker"]]
    print(f"\n{len(usable)} of {len(found)} worker(s) can grade; {len(gpu)} take GPU work "
          f"(CUDA and --resources {cluster.GPU_RESOURCE}=N)")
    return 0 if len(usable) == len(found) else 1


def grade_table(everyone: dict) -> str:
    rows = [("student", "score", "max", "status", "flags")]
    for student in sorted(everyone):
        row = R.grade_row(everyone[student])
        rows.append((student, f"{row['score']:g}", f"{row['max_score']:g}", row["status"],
                     str(len(everyone[student]["extra_data"]["flags"]))))
    widths = [max(_columns(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c + " " * (w - _columns(c)) for c, w in zip(r, widths)).rstrip() for r in rows)


def _columns(text: str) -> int:
    """Terminal columns: Hangul and other wide characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)
