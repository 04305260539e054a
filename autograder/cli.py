"""`python -m autograder VERB ...`: the command line. `grade` for now."""
import argparse
import sys

from . import results as R
from .batch import BatchError, grade_all
from .session import Limits

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
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    limits = Limits(kernel_name=args.kernel, cell_timeout=args.cell_timeout,
                    notebook_timeout=args.notebook_timeout, memory_limit_mb=args.memory_limit)
    try:
        everyone = grade_all(args.course, args.assignment, args.submissions, args.out, limits,
                             regrade=args.regrade, notebook_id=args.notebook)
    except BatchError as error:
        print(f"autograder: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\nautograder: interrupted; run the same command again to finish", file=sys.stderr)
        return 130
    print(grade_table(everyone))
    print(f"\nreport: {args.out}/report.html   grades: {args.out}/grades.csv")
    return 0


def grade_table(everyone: dict) -> str:
    rows = [("student", "score", "max", "status", "flags")]
    for student in sorted(everyone):
        row = R.grade_row(everyone[student])
        rows.append((student, f"{row['score']:g}", f"{row['max_score']:g}", row["status"],
                     str(len(everyone[student]["extra_data"]["flags"]))))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows)
