"""The instructor's report: all students' results dicts as one self-contained HTML page, in the
course's language (messages.py), English on request.

Plots are drawn on `matplotlib.figure.Figure` objects (Agg, no pyplot), so rendering touches
no global matplotlib state and is safe inside a batch run. Each plot is embedded as a base64 PNG;
its words are in the page's language where matplotlib has a font for it.
"""
import base64
import io
import statistics
from collections import Counter
from functools import cache
from urllib.parse import quote

from matplotlib import font_manager
from matplotlib.figure import Figure
from matplotlib.ticker import MaxNLocator

from .. import messages, results as R
from ..messages import Message
from .feedback import MAX_NAME_CHARS, esc, flags_in, fmt_points, html_page, output_messages, submission_max_score

SCORED_STATUSES = (R.GRADED, R.PROVISIONAL)  # mean, median and histogram use these only
SLOWEST_SHOWN = 10
NEEDS_SHOWN = 50  # names listed per "Needs you" item, the rest counted
MAX_ORIGIN_CHARS = 300
# Outcome groups for the per-test bar, left to right: (words, outcomes, colour).
OUTCOME_GROUPS = (
    ("report_group_passed", (R.PASSED,), "#2e8b57"),
    ("report_group_failed", (R.FAILED,), "#c0392b"),
    ("report_group_broken", (R.TIMEOUT, R.ERROR), "#e67e22"),
    ("report_group_missing", (R.MISSING,), "#7f8c8d"),
    ("report_group_later", (R.NEEDS_GPU, R.MANUAL), "#c8c8c8"),
)
# Fonts for the plots' words: the first that has Hangul, then matplotlib's own.
COMMON_FAILURES = 3  # failure messages shown per test in the item analysis
ITEM_MESSAGE_CHARS = 200
SLOT = "\ue000"  # where HTML goes into an escaped sentence (a private-use character: no text has it)
HANGUL_FONTS = ("NanumGothic", "Noto Sans CJK KR", "Noto Sans KR", "UnDotum", "Malgun Gothic")


class _Words:
    """The report's sentences in one language; `plot` is the language matplotlib can draw."""

    def __init__(self, language: str):
        self.language = messages.check_language(language)
        hangul = _hangul_font()
        self.plot = language if language == "en" or hangul else "en"
        self.fonts = [hangul, "DejaVu Sans"] if hangul and self.plot != "en" else ["DejaVu Sans"]

    def __call__(self, code: str, **fields) -> str:
        return messages.text(self.language, code, **fields)

    def plotted(self, code: str, **fields) -> str:
        return messages.text(self.plot, code, **fields)


@cache
def _hangul_font() -> str | None:
    installed = {font.name for font in font_manager.fontManager.ttflist}
    return next((name for name in HANGUL_FONTS if name in installed), None)


def _png_img(fig: Figure, alt: str) -> str:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight", metadata={"Software": None})
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img src="data:image/png;base64,{data}" alt="{esc(alt)}">'


def _no_data(fig: Figure, title: str, words: _Words) -> None:
    ax = fig.add_subplot()
    ax.set_title(title, fontfamily=words.fonts)
    ax.text(0.5, 0.5, words.plotted("report_no_data"), ha="center", va="center", fontsize=16, color="#888",
            fontfamily=words.fonts)
    ax.set_axis_off()


def score_histogram_figure(scores: list[float], max_score: float, language: str = "en") -> Figure:
    words = _Words(language)
    fig = Figure(figsize=(6, 3))
    title = words.plotted("report_hist_title")
    if not scores:
        _no_data(fig, title, words)
        return fig
    ax = fig.add_subplot()
    top = max(max_score, *scores, 1)
    ax.hist(scores, bins=min(20, max(5, int(top) + 1)), range=(0, top), color="#4c72b0")
    ax.set_title(title, fontfamily=words.fonts)
    ax.set_xlabel(words.plotted("report_hist_x"), fontfamily=words.fonts)
    ax.set_ylabel(words.plotted("report_hist_y"), fontfamily=words.fonts)
    ax.yaxis.set_major_locator(MaxNLocator(integer=True))  # counts: no 0.5 of a submission
    return fig


def score_histogram(scores: list[float], max_score: float, words: _Words) -> str:
    alt = words("report_hist_alt") + ("" if scores else f": {words('report_no_data')}")
    return _png_img(score_histogram_figure(scores, max_score, words.language), alt)


def outcomes_per_test(results_list: list[dict]) -> dict[str, Counter]:
    """Test name → Counter of outcomes, tests in the order they first appear."""
    per_test: dict[str, Counter] = {}
    for results in results_list:
        for test in results.get("tests") or []:
            name = str(test.get("name"))[:MAX_NAME_CHARS]
            per_test.setdefault(name, Counter())[R.outcome_of(test)] += 1
    return per_test


def pass_rate_chart(per_test: dict[str, Counter], words: _Words) -> str:
    """Stacked horizontal bars: the share of each outcome per test, pass rate labelled."""
    fig = Figure(figsize=(7, 1.5 + 0.3 * max(1, len(per_test))), layout="constrained")
    title = words.plotted("report_bars_title")
    if not per_test:
        _no_data(fig, title, words)
        return _png_img(fig, f"{words('report_bars_alt')}: {words('report_no_data')}")
    ax = fig.add_subplot()
    names = list(per_test)[::-1]  # first test at the top
    totals = [sum(per_test[n].values()) for n in names]
    left = [0.0] * len(names)
    for label, outcomes, colour in OUTCOME_GROUPS:
        shares = [sum(per_test[n][o] for o in outcomes) / t for n, t in zip(names, totals)]
        ax.barh(names, shares, left=left, color=colour, label=words.plotted(label))
        left = [a + b for a, b in zip(left, shares)]
    for y, name in enumerate(names):
        ax.text(1.01, y, f"{per_test[name][R.PASSED] / totals[y]:.0%}", va="center", fontsize=8)
    ax.set_title(title, fontfamily=words.fonts)
    ax.set_xlabel(words.plotted("report_bars_x"), fontfamily=words.fonts)
    ax.set_xlim(0, 1)
    fig.legend(loc="outside lower center", ncols=len(OUTCOME_GROUPS), fontsize=8, frameon=False,
               prop={"family": words.fonts, "size": 8})
    return _png_img(fig, words("report_bars_alt"))


def failure_message(test: dict, language: str) -> str | None:
    """What a failed test said, as the item analysis groups it: the error itself (`Name: text`, a
    hidden check's assertion included: the report is the instructor's), never where it happened
    (for a test with a hidden part that would be a line of the test); None for a test that did not
    fail."""
    if R.outcome_of(test) in (R.PASSED, R.NEEDS_GPU, R.MANUAL):
        return None
    message = Message.from_dict((test.get("extra_data") or {}).get("message"))
    error = message and (message.fields.get("error") or message.fields.get("_error"))
    if isinstance(error, str):  # "_error": a hidden check's own assertion, for the instructor only
        text = error
    elif message is not None:
        text = message.text(language)
    else:  # results without codes: the first line of their English output
        text = str(test.get("output") or "").split("\n", 1)[0]
    return text.strip()[:ITEM_MESSAGE_CHARS] or None


def item_analysis(results_list: list[dict], language: str) -> dict[str, tuple[float, list]]:
    """Test name → (pass rate, [(failure message, how many submissions), the commonest first, at most
    COMMON_FAILURES]), tests in the order they first appear. Where a class went wrong, test by test."""
    per_test: dict[str, tuple[Counter, Counter]] = {}
    for results in results_list:
        for test in results.get("tests") or []:
            outcomes, failures = per_test.setdefault(str(test.get("name"))[:MAX_NAME_CHARS], (Counter(), Counter()))
            outcomes[R.outcome_of(test)] += 1
            failure = failure_message(test, language)
            if failure:
                failures[failure] += 1
    return {name: (outcomes[R.PASSED] / sum(outcomes.values()), failures.most_common(COMMON_FAILURES))
            for name, (outcomes, failures) in per_test.items()}


def _item_rows(analysis: dict, words: _Words) -> list:
    rows = []
    for name, (rate, failures) in analysis.items():
        common = "<br>".join(f"{esc(words('report_item_failure', count=n))} <code>{esc(text, ITEM_MESSAGE_CHARS)}</code>"
                             for text, n in failures)
        rows.append([f"<code>{esc(name, MAX_NAME_CHARS)}</code>", f"{rate:.0%}", common or "–"])
    return rows


def _table(headers: list[str], rows: list[list[str]], empty: str) -> str:
    """Cells must already be escaped; `empty` is said when there are no rows."""
    if not rows:
        return f"<p>{esc(empty)}</p>"
    head = "".join(f"<th>{esc(h)}</th>" for h in headers)
    body = "\n".join("<tr>" + "".join(f"<td>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table>\n<tr>{head}</tr>\n{body}\n</table>"


def student_cell(student: str) -> str:
    """The student's id, linked to DIR/<student>/feedback.html next to the report."""
    href = quote(str(student), safe="") + "/feedback.html"
    return f'<a href="{esc(href, 4 * MAX_ORIGIN_CHARS)}"><code>{esc(student, MAX_NAME_CHARS)}</code></a>'


def _flag_list(flags: list) -> str:
    return "<br>".join(esc(flag, R.MAX_FLAG_CHARS) for flag in flags)


def _seconds(results: dict) -> float:
    value = results.get("execution_time")
    return value if isinstance(value, (int, float)) else 0.0


def _kernel_words(results: dict, words: _Words) -> str:
    kernel = (results.get("extra_data") or {}).get("kernel") or {}
    if not kernel.get("python"):  # an invalid submission names the kernel but never ran on it
        return words("report_no_kernel")
    device = kernel.get("cuda_device") or words("cpu_only")
    return words("report_kernel", python=kernel.get("python"), torch=kernel.get("torch"), device=device)


def _status_word(status: str, words: _Words) -> str:
    return words(f"report_status_{status}") if status in R.STATUSES else str(status)


def _status_sentence(status: dict, words: _Words) -> str:
    """E.g. '5 submission(s): 3 scored (2 graded in full, 1 provisional), 1 invalid, 1 error.'"""
    if not status:
        return words("report_no_submissions")
    counts = Counter(status.values())
    scored = sum(counts[name] for name in SCORED_STATUSES)
    parts = []
    if scored:
        parts.append(words("report_scored_split", count=scored, graded=counts[R.GRADED],
                           provisional=counts[R.PROVISIONAL]) if counts[R.PROVISIONAL]
                     else words("report_scored", count=scored))
    parts += [words("report_status_count", count=n, status=_status_word(name, words))
              for name, n in counts.items() if name not in SCORED_STATUSES]
    if len(status) == 1:
        return words("report_one_submission", parts=", ".join(parts))
    return words("report_submissions", count=len(status), parts=", ".join(parts))


def _summary_rows(results_by_student: dict, status: dict, scores: list, max_score: float, words: _Words) -> list:
    counts = Counter(status.values())
    summary = [(words("report_row_submissions"), len(status))]
    summary += [(words(f"report_row_{name}"), counts[name]) for name in R.STATUSES if counts[name]]
    summary += [(name, n) for name, n in counts.items() if name not in R.STATUSES]
    summary += [(words("report_row_max"), fmt_points(max_score)),
                (words("report_row_mean"), fmt_points(statistics.fmean(scores)) if scores else "–"),
                (words("report_row_median"), fmt_points(statistics.median(scores)) if scores else "–")]
    stamped = [(r.get("extra_data") or {}).get("lateness") for r in results_by_student.values()]
    stamped = [lateness for lateness in stamped if isinstance(lateness, dict)]
    if stamped:  # lateness
        summary.append((words("report_row_late"), sum(1 for x in stamped if (x.get("seconds_late") or 0) > 0)))
    kernels = Counter(_kernel_words(results, words) for results in results_by_student.values())
    summary += [(words("report_row_kernel", kernel=kernel), n) for kernel, n in kernels.most_common()]  # a mixed batch
    return [[esc(name), esc(value)] for name, value in summary]


def _gradebook_line(run: dict, words: _Words) -> str:
    if "recorded" not in run:
        return ""
    path = f'<code>{esc(run.get("gradebook") or "?", MAX_ORIGIN_CHARS)}</code>'
    sentence = esc(words("report_recorded" if run["recorded"] else "report_trial", path=SLOT))
    return "<p>" + sentence.replace(SLOT, path) + "</p>"


def _names(cells: list, words: _Words) -> str:
    shown = ", ".join(cells[:NEEDS_SHOWN])
    return shown + (esc(words("report_and_more", count=len(cells) - NEEDS_SHOWN)) if len(cells) > NEEDS_SHOWN else "")


def _item(words: _Words, code: str, names: list, **fields) -> str:
    """A sentence of `code` whose {names} are already-escaped HTML cells."""
    return esc(words(code, names=SLOT, **fields)).replace(SLOT, _names(names, words))


def _reason(reason, words: _Words) -> str:
    return reason.text(words.language) if isinstance(reason, Message) else str(reason)


def _needs_you(results_by_student: dict, status: dict, run: dict, words: _Words) -> str:
    """What the instructor still has to do, one list item each; or a line saying there is nothing."""
    items = []
    manual = {s: sum(R.outcome_of(t) == R.MANUAL for t in results_by_student[s].get("tests") or []) for s in status}
    manual = {s: n for s, n in manual.items() if n}
    if manual:
        in_formgrader = run.get("recorded", True)  # a trial run leaves the gradebook, and formgrader, as they were
        items.append(_item(words, "report_manual" if in_formgrader else "report_manual_trial",
                           [f"{student_cell(s)} ({n})" for s, n in manual.items()],
                           answers=sum(manual.values()), count=len(manual)))
    provisional = [s for s in status if status[s] == R.PROVISIONAL]
    if provisional:
        command = run.get("only_gpu_command")
        finish = (f"{esc(words('report_finish_with'))}<pre><code>{esc(command)}</code></pre>" if command
                  else esc(words("report_need_cuda")))
        items.append(_item(words, "report_provisional", [student_cell(s) for s in provisional], count=len(provisional))
                     + finish)
    flagged = [s for s in status if (results_by_student[s].get("extra_data") or {}).get("flags")]
    if flagged:
        items.append(_item(words, "report_flagged", [student_cell(s) for s in flagged], count=len(flagged)))
    broken = [s for s in status if status[s] in (R.INVALID, R.GRADER_ERROR)]
    if broken:
        items.append(_item(words, "report_broken", [f"{student_cell(s)} ({esc(_status_word(status[s], words))})"
                                                    for s in broken], count=len(broken)))
    lowered = run.get("lowered") or []
    if lowered:
        items.append(_item(words, "report_lowered", [f"{student_cell(s)} {fmt_points(old)} → {fmt_points(new)}"
                                                     for s, old, new in lowered], count=len(lowered)))
    ignored = run.get("ignored") or []
    if ignored:
        items.append(_item(words, "report_ignored", [
            f"<code>{esc(origin, MAX_ORIGIN_CHARS)}</code> ({esc(_reason(reason, words), R.MAX_FLAG_CHARS)})"
            for origin, reason in ignored], count=len(ignored)))
    renamed = run.get("renamed") or []
    if renamed:
        items.append(_item(words, "report_renamed", [
            f"{student_cell(s)} {esc(words('report_from'))} <code>{esc(origin, MAX_ORIGIN_CHARS)}</code>"
            for s, origin in renamed], count=len(renamed)))
    if not items:
        return f"<p>{esc(words('report_nothing_needs_you'))}</p>"
    return "<ul>\n" + "\n".join(f"<li>{item}</li>" for item in items) + "\n</ul>"


def _not_graded_why(results: dict, words: _Words) -> str:
    """Why a submission was not scored, in the report's language (its English output without codes)."""
    found = output_messages(results)
    if found is not None:
        return "".join(m.text(words.language) for m in found)
    return str(results.get("output") or "")


def render_report(results_by_student: dict[str, dict], title: str, run: dict | None = None,
                  language: str = "en") -> str:
    """The instructor's HTML report for a whole batch, in `language`: what needs the instructor,
    summary, plots, tables.

    `run` says what the batch did besides grading; every key is optional: "ignored" [(origin, reason
    Message)], "renamed" [(student_id, origin)], "lowered" [(student_id, old_score, new_score)],
    "only_gpu_command" (str or None), "recorded" (bool) and "gradebook" (its path).
    """
    words = _Words(language)
    for student, results in results_by_student.items():
        if not isinstance(results, dict):
            raise TypeError(f"results for student {student!r} is {type(results).__name__}, not a dict")
    run = run or {}
    students = sorted(results_by_student)
    status = {s: (results_by_student[s].get("extra_data") or {}).get("status") or R.GRADER_ERROR for s in students}
    scored = [s for s in students if status[s] in SCORED_STATUSES]
    scores = [results_by_student[s]["score"] for s in scored
              if isinstance(results_by_student[s].get("score"), (int, float))]
    max_score = max((submission_max_score(results_by_student[s]) for s in students), default=0)

    def flags_of(s: str) -> list:
        return flags_in(results_by_student[s].get("extra_data") or {}, language)

    def origin_of(s: str) -> str:
        return esc((results_by_student[s].get("extra_data") or {}).get("origin") or "–", MAX_ORIGIN_CHARS)

    def status_of(s: str) -> str:
        return esc(_status_word(status[s], words))

    flagged = [[student_cell(s), status_of(s), _flag_list(flags_of(s))] for s in students if flags_of(s)]
    slowest = sorted(students, key=lambda s: _seconds(results_by_student[s]), reverse=True)[:SLOWEST_SHOWN]
    slow_rows = [[student_cell(s), f"{_seconds(results_by_student[s]):.1f}", status_of(s)] for s in slowest]
    broken = [[student_cell(s), status_of(s), esc(_not_graded_why(results_by_student[s], words), R.MAX_FLAG_CHARS),
               _flag_list(flags_of(s))] for s in students if status[s] in (R.INVALID, R.GRADER_ERROR)]
    grade_rows = []
    for s in students:
        results = results_by_student[s]
        tests = results.get("tests") or []
        passed = sum(R.outcome_of(t) == R.PASSED for t in tests)
        grade_rows.append([student_cell(s), status_of(s), fmt_points(results.get("score")),
                           fmt_points(submission_max_score(results)), f"{passed} / {len(tests)}",
                           f"{_seconds(results):.1f}", str(len(flags_of(s))), f"<code>{origin_of(s)}</code>"])

    per_test = outcomes_per_test([results_by_student[s] for s in students])
    heading = esc(words("report_title", title=str(title)[:MAX_NAME_CHARS]))
    body = "\n".join(part for part in [
        f"<h1>{heading}</h1>",
        _gradebook_line(run, words),
        f"<p>{esc(_status_sentence(status, words))}</p>",
        f"<h2>{esc(words('report_needs_you'))}</h2>",
        _needs_you(results_by_student, status, run, words),
        f"<h2>{esc(words('report_summary'))}</h2>",
        _table(["", words("report_count_value")], _summary_rows(results_by_student, status, scores, max_score, words),
               words("report_none")),
        f"<h2>{esc(words('report_plots'))}</h2>",
        f"<p>{score_histogram(scores, max_score, words)}</p>",
        f"<p>{pass_rate_chart(per_test, words)}</p>",
        f"<h2>{esc(words('report_items_title'))}</h2>",
        _table([words("report_col_test"), words("report_col_pass_rate"), words("report_col_failures")],
               _item_rows(item_analysis([results_by_student[s] for s in students], language), words),
               words("report_none")),
        f"<h2>{esc(words('report_flagged_title', count=len(flagged)))}</h2>",
        _table([words("report_col_student"), words("report_col_status"), words("report_col_flags")], flagged,
               words("report_none_flagged")),
        f"<h2>{esc(words('report_slowest_title', count=SLOWEST_SHOWN))}</h2>",
        _table([words("report_col_student"), words("report_col_seconds"), words("report_col_status")], slow_rows,
               words("report_no_submissions")),
        f"<h2>{esc(words('report_broken_title', count=len(broken)))}</h2>",
        _table([words("report_col_student"), words("report_col_status"), words("report_col_summary"),
                words("report_col_flags")], broken, words("report_none")),
        f"<h2>{esc(words('report_all_title'))}</h2>",
        _table([words(f"report_col_{key}") for key in ("student_link", "status", "score", "max", "passed", "time",
                                                       "flags", "file")], grade_rows, words("report_no_submissions")),
    ] if part)
    return html_page(heading, body + "\n", lang=language)
