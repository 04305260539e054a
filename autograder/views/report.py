"""The instructor's report: all students' results dicts as one self-contained HTML page.

Plots are drawn on `matplotlib.figure.Figure` objects (Agg, no pyplot), so rendering touches
no global matplotlib state and is safe inside a batch run. Each plot is embedded as a base64 PNG.
"""
import base64
import io
import statistics
from collections import Counter
from urllib.parse import quote

from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from ..results import MANUAL
from .feedback import MAX_NAME_CHARS, esc, fmt_points, html_page, outcome_of, submission_max_score

STATUSES = ("graded", "provisional", "invalid", "error")
SCORED_STATUSES = ("graded", "provisional")  # mean, median and histogram use these only
SLOWEST_SHOWN = 10
NEEDS_SHOWN = 50  # names listed per "Needs you" item, the rest counted
MAX_FLAG_CHARS = 500
MAX_ORIGIN_CHARS = 300
STATUS_LABELS = {
    "graded": "graded in full",
    "provisional": "provisional (GPU tests not graded yet)",
    "invalid": "invalid (could not be graded)",
    "error": "error (the grader failed)",
}
# Outcome groups for the per-test bar, left to right, with their colours.
OUTCOME_GROUPS = {
    "passed": (("passed",), "#2e8b57"),
    "failed": (("failed",), "#c0392b"),
    "timeout / error": (("timeout", "error"), "#e67e22"),
    "missing": (("missing",), "#7f8c8d"),
    "not graded yet": (("needs_gpu", "manual"), "#c8c8c8"),
}


def _png_img(fig: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'


def _no_data(fig: Figure, title: str) -> None:
    ax = fig.add_subplot()
    ax.set_title(title)
    ax.text(0.5, 0.5, "no data", ha="center", va="center", fontsize=16, color="#888")
    ax.set_axis_off()


def score_histogram_figure(scores: list[float], max_score: float) -> Figure:
    fig = Figure(figsize=(6, 3))
    title = "Scores (graded and provisional submissions)"
    if not scores:
        _no_data(fig, title)
        return fig
    ax = fig.add_subplot()
    top = max(max_score, *scores, 1)
    ax.hist(scores, bins=min(20, max(5, int(top) + 1)), range=(0, top), color="#4c72b0")
    ax.set(title=title, xlabel="score (points)", ylabel="submissions")
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 of a submission
    return fig


def score_histogram(scores: list[float], max_score: float) -> str:
    alt = "histogram of scores" + ("" if scores else ": no data")
    return _png_img(score_histogram_figure(scores, max_score), alt)


def outcomes_per_test(results_list: list[dict]) -> dict[str, Counter]:
    """Test name → Counter of outcomes, tests in the order they first appear."""
    per_test: dict[str, Counter] = {}
    for results in results_list:
        for test in results.get("tests") or []:
            name = str(test.get("name"))[:MAX_NAME_CHARS]
            per_test.setdefault(name, Counter())[outcome_of(test)] += 1
    return per_test


def pass_rate_chart(per_test: dict[str, Counter]) -> str:
    """Stacked horizontal bars: the share of each outcome per test, pass rate labelled."""
    fig = Figure(figsize=(7, 1.5 + 0.3 * max(1, len(per_test))), layout="constrained")
    title = "Outcome per test (share of submissions)"
    if not per_test:
        _no_data(fig, title)
        return _png_img(fig, "outcomes per test: no data")
    ax = fig.add_subplot()
    names = list(per_test)[::-1]  # first test at the top
    totals = [sum(per_test[n].values()) for n in names]
    left = [0.0] * len(names)
    for label, (outcomes, colour) in OUTCOME_GROUPS.items():
        shares = [sum(per_test[n][o] for o in outcomes) / t for n, t in zip(names, totals)]
        ax.barh(names, shares, left=left, color=colour, label=label)
        left = [a + b for a, b in zip(left, shares)]
    for y, name in enumerate(names):
        ax.text(1.01, y, f"{per_test[name]['passed'] / totals[y]:.0%}", va="center", fontsize=8)
    ax.set(title=title, xlim=(0, 1), xlabel="share of submissions")
    fig.legend(loc="outside lower center", ncols=len(OUTCOME_GROUPS), fontsize=8, frameon=False)
    return _png_img(fig, "outcomes per test")


def _table(headers: list[str], rows: list[list[str]], empty: str = "none") -> str:
    """Cells must already be escaped."""
    if not rows:
        return f"<p>{esc(empty)}</p>"
    head = "".join(f"<th>{h}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


def student_cell(student: str) -> str:
    """The student's id, linked to DIR/<student>/feedback.html next to the report."""
    href = quote(str(student), safe="") + "/feedback.html"
    return f'<a href="{esc(href, 4 * MAX_ORIGIN_CHARS)}"><code>{esc(student, MAX_NAME_CHARS)}</code></a>'


def _flag_list(flags: list) -> str:
    return "<br>".join(esc(flag, MAX_FLAG_CHARS) for flag in flags)


def _seconds(results: dict) -> float:
    value = results.get("execution_time")
    return value if isinstance(value, (int, float)) else 0.0


def _kernel_words(results: dict) -> str:
    kernel = (results.get("extra_data") or {}).get("kernel") or {}
    if not kernel.get("python"):  # an invalid submission names the kernel but never ran on it
        return "no kernel (not executed)"
    device = kernel.get("cuda_device") or "CPU only"
    return f'Python {kernel.get("python")}, torch {kernel.get("torch")}, {device}'


def _status_sentence(status: dict) -> str:
    """E.g. '5 submissions: 3 scored (2 graded in full, 1 provisional), 1 invalid, 1 error.'"""
    if not status:
        return "No submissions."
    counts = Counter(status.values())
    scored = sum(counts[name] for name in SCORED_STATUSES)
    parts = [f"{scored} scored"] if scored else []
    if counts["provisional"]:
        parts[0] += f" ({counts['graded']} graded in full, {counts['provisional']} provisional)"
    parts += [f"{n} {name}" for name, n in counts.items() if name not in SCORED_STATUSES]
    return f"{len(status)} submission{'s' if len(status) != 1 else ''}: {', '.join(parts)}."


def _summary_rows(results_by_student: dict, status: dict, scores: list, max_score: float) -> list:
    counts = Counter(status.values())
    summary = [("submissions", len(status))]
    summary += [(STATUS_LABELS[name], counts[name]) for name in STATUSES if counts[name]]
    summary += [(name, n) for name, n in counts.items() if name not in STATUSES]
    summary += [("max score", fmt_points(max_score)),
                ("mean score (graded + provisional)", fmt_points(statistics.fmean(scores)) if scores else "–"),
                ("median score (graded + provisional)", fmt_points(statistics.median(scores)) if scores else "–")]
    kernels = Counter(_kernel_words(results) for results in results_by_student.values())
    summary += [(f"graded on {kernel}", n) for kernel, n in kernels.most_common()]  # spot a mixed batch
    return [[esc(name), esc(value)] for name, value in summary]


def _gradebook_line(run: dict) -> str:
    if "recorded" not in run:
        return ""
    path = f' (<code>{esc(run.get("gradebook") or "?", MAX_ORIGIN_CHARS)}</code>)'
    if run["recorded"]:
        return f"<p>This run recorded its results into the course gradebook{path}.</p>"
    return f"<p>Trial run: the course gradebook{path} was left unchanged.</p>"


def _names(cells: list) -> str:
    shown = ", ".join(cells[:NEEDS_SHOWN])
    return shown + (f", … and {len(cells) - NEEDS_SHOWN} more" if len(cells) > NEEDS_SHOWN else "")


def _needs_you(results_by_student: dict, status: dict, run: dict) -> str:
    """What the instructor still has to do, one list item each; or a line saying there is nothing."""
    items = []
    manual = {s: sum(outcome_of(t) == MANUAL for t in results_by_student[s].get("tests") or []) for s in status}
    manual = {s: n for s, n in manual.items() if n}
    if manual:
        items.append(f"Written answers to grade by hand in formgrader ({sum(manual.values())} in "
                     f"{len(manual)} submission(s)): "
                     + _names([f"{student_cell(s)} ({n})" for s, n in manual.items()]))
    provisional = [s for s in status if status[s] == "provisional"]
    if provisional:
        command = run.get("only_gpu_command")
        finish = (f"; finish their GPU tests on a CUDA kernel with:<pre><code>{esc(command)}</code></pre>" if command
                  else "; their GPU tests need a CUDA grading kernel")
        items.append(f"Provisional submissions ({len(provisional)}): {_names([student_cell(s) for s in provisional])}"
                     + finish)
    flagged = [s for s in status if (results_by_student[s].get("extra_data") or {}).get("flags")]
    if flagged:
        items.append(f"Flagged submissions ({len(flagged)}), see below: {_names([student_cell(s) for s in flagged])}")
    broken = [s for s in status if status[s] in ("invalid", "error")]
    if broken:
        items.append(f"Invalid and error submissions ({len(broken)}), not scored: "
                     + _names([f"{student_cell(s)} ({esc(status[s])})" for s in broken]))
    lowered = run.get("lowered") or []
    if lowered:
        items.append(f"Gradebook results this run lowered ({len(lowered)}): " + _names(
            [f"{student_cell(s)} {fmt_points(old)} → {fmt_points(new)}" for s, old, new in lowered]))
    ignored = run.get("ignored") or []
    if ignored:
        items.append(f"Files in the submissions path that were not graded ({len(ignored)}): " + _names(
            [f"<code>{esc(origin, MAX_ORIGIN_CHARS)}</code> ({esc(reason, MAX_FLAG_CHARS)})"
             for origin, reason in ignored]))
    renamed = run.get("renamed") or []
    if renamed:
        items.append(f"Students whose id differs from their file's name ({len(renamed)}): " + _names(
            [f"{student_cell(s)} from <code>{esc(origin, MAX_ORIGIN_CHARS)}</code>" for s, origin in renamed]))
    if not items:
        return ("<p>Nothing needs you: every submission is graded in full, no written answer waits for hand "
                "grading, none is flagged, and every file found was graded.</p>")
    return "<ul>\n" + "\n".join(f"<li>{item}</li>" for item in items) + "\n</ul>"


def render_report(results_by_student: dict[str, dict], title: str, run: dict | None = None) -> str:
    """The instructor's HTML report for a whole batch: what needs the instructor, summary, plots, tables.

    `run` says what the batch did besides grading; every key is optional: "ignored" [(origin, reason)],
    "renamed" [(student_id, origin)], "lowered" [(student_id, old_score, new_score)],
    "only_gpu_command" (str or None), "recorded" (bool) and "gradebook" (its path).
    """
    for student, results in results_by_student.items():
        if not isinstance(results, dict):
            raise TypeError(f"results for student {student!r} is {type(results).__name__}, not a dict")
    run = run or {}
    students = sorted(results_by_student)
    status = {s: (results_by_student[s].get("extra_data") or {}).get("status") or "error" for s in students}
    scored = [s for s in students if status[s] in SCORED_STATUSES]
    scores = [results_by_student[s]["score"] for s in scored
              if isinstance(results_by_student[s].get("score"), (int, float))]
    max_score = max((submission_max_score(results_by_student[s]) for s in students), default=0)

    summary_rows = _summary_rows(results_by_student, status, scores, max_score)

    def flags_of(s: str) -> list:
        return (results_by_student[s].get("extra_data") or {}).get("flags") or []

    def origin_of(s: str) -> str:
        return esc((results_by_student[s].get("extra_data") or {}).get("origin") or "–", MAX_ORIGIN_CHARS)

    flagged = [[student_cell(s), esc(status[s]), _flag_list(flags_of(s))] for s in students if flags_of(s)]
    slowest = sorted(students, key=lambda s: _seconds(results_by_student[s]), reverse=True)[:SLOWEST_SHOWN]
    slow_rows = [[student_cell(s), f"{_seconds(results_by_student[s]):.1f}", esc(status[s])] for s in slowest]
    broken = [[student_cell(s), esc(status[s]), esc(results_by_student[s].get("output"), MAX_FLAG_CHARS),
               _flag_list(flags_of(s))] for s in students if status[s] in ("invalid", "error")]
    grade_rows = []
    for s in students:
        results = results_by_student[s]
        tests = results.get("tests") or []
        passed = sum(outcome_of(t) == "passed" for t in tests)
        grade_rows.append([student_cell(s), esc(status[s]), fmt_points(results.get("score")),
                           fmt_points(submission_max_score(results)), f"{passed} / {len(tests)}",
                           f"{_seconds(results):.1f}", str(len(flags_of(s))), f"<code>{origin_of(s)}</code>"])

    per_test = outcomes_per_test([results_by_student[s] for s in students])
    body = "\n".join(part for part in [
        f"<h1>Grading report: {esc(title, MAX_NAME_CHARS)}</h1>",
        _gradebook_line(run),
        f"<p>{esc(_status_sentence(status))}</p>",
        "<h2>Needs you</h2>",
        _needs_you(results_by_student, status, run),
        "<h2>Summary</h2>",
        _table(["", "count / value"], summary_rows),
        "<h2>Plots</h2>",
        f"<p>{score_histogram(scores, max_score)}</p>",
        f"<p>{pass_rate_chart(per_test)}</p>",
        f"<h2>Flagged submissions ({len(flagged)})</h2>",
        _table(["student", "status", "flags"], flagged, "No submission was flagged."),
        f"<h2>Slowest submissions (top {SLOWEST_SHOWN})</h2>",
        _table(["student", "execution time (s)", "status"], slow_rows, "No submissions."),
        f"<h2>Invalid and error submissions ({len(broken)})</h2>",
        _table(["student", "status", "summary", "flags"], broken, "None."),
        "<h2>All grades</h2>",
        _table(["student (feedback)", "status", "score", "max", "tests passed", "time (s)", "flags", "file"],
               grade_rows, "No submissions."),
    ] if part)
    return html_page(f"Grading report: {esc(title, MAX_NAME_CHARS)}", body + "\n")
