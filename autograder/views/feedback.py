"""Student feedback: one results dict (Gradescope's results.json form) as a small HTML page.

Everything shown comes from the results dict and is escaped. A hidden test's `output` is
never read: it can quote the hidden test's source. Messages are truncated so a student who
prints megabytes cannot make the page (or the grading machine's disk) large.
"""
import html
import re

MAX_MESSAGE_CHARS = 4_000  # one failure message, flag or summary
MAX_PAGE_MESSAGE_CHARS = 60_000  # all failure messages on one page together
MAX_FLAGS = 30
MAX_NAME_CHARS = 200

OUTCOME_WORDS = {
    "passed": "passed",
    "failed": "failed",
    "timeout": "ran too long (time limit reached)",
    "error": "could not run (the grading kernel stopped or the cell raised before the test)",
    "needs_gpu": "not graded yet: needs a GPU grading kernel",
    "missing": "missing: the test cell was not found in your notebook",
    "manual": "graded by hand by your instructor",
}
STATUS_WORDS = {
    "graded": "graded",
    "provisional": "provisional: some tests are not graded yet, so your score may still change",
    "invalid": "not graded: the submission could not be read as this assignment's notebook",
    "error": "not graded: the autograder failed on this submission; your instructor will look at it",
}

_ANSI_ESCAPE = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # colour codes in Jupyter tracebacks
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # lone surrogates break writing


def clean_text(value, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Any value as printable text of at most `limit` characters (plus a note), not yet escaped."""
    text = "" if value is None else str(value)
    text = _UNPRINTABLE.sub("\ufffd", _ANSI_ESCAPE.sub("", text))
    if len(text) > limit:
        text = f"{text[:limit]}\n… [{len(text) - limit:,} more characters cut]"
    return text


def esc(value, limit: int = MAX_MESSAGE_CHARS) -> str:
    """Cleaned, truncated and HTML-escaped: the only way text reaches the page."""
    return html.escape(clean_text(value, limit), quote=True)


def fmt_points(value) -> str:
    """1.0 → '1', 0.5 → '0.5', None → '–'."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return "–"
    return f"{value:.2f}".rstrip("0").rstrip(".")


def submission_max_score(results: dict) -> float:
    """The submission's max_score, or the sum of its tests' when results.json leaves it out (or 0)."""
    declared = (results.get("extra_data") or {}).get("max_score")
    if isinstance(declared, (int, float)) and declared > 0:
        return declared
    return sum(t.get("max_score") or 0 for t in results.get("tests") or [])


def is_hidden(test: dict) -> bool:
    """Hidden unless the test says plainly that it is visible: an unknown test stays hidden."""
    extra = test.get("extra_data") or {}
    return extra.get("hidden", True) is not False or test.get("visibility", "visible") != "visible"


def outcome_of(test: dict) -> str:
    return (test.get("extra_data") or {}).get("outcome") or test.get("status") or "error"


def outcome_words(test: dict) -> str:
    outcome = outcome_of(test)
    words = OUTCOME_WORDS.get(outcome, outcome)
    return f"hidden test: {words}" if is_hidden(test) else words


PAGE_CSS = """
body{font-family:system-ui,"Apple SD Gothic Neo","Malgun Gothic","Noto Sans KR",sans-serif;
 max-width:60rem;margin:2rem auto;padding:0 1rem;line-height:1.5;color:#222}
table{border-collapse:collapse;width:100%}th,td{border:1px solid #ccc;padding:.3rem .5rem;
 text-align:left;vertical-align:top}th{background:#f3f3f3}
pre{white-space:pre-wrap;word-break:break-word;background:#f7f7f7;padding:.5rem;margin:.3rem 0 0;
 max-height:20rem;overflow:auto;font-size:.85rem}
.passed{color:#176b2c}.failed,.timeout,.error,.missing{color:#a31515}
.needs_gpu,.manual{color:#7a5b00}.small{color:#666;font-size:.85rem}img{max-width:100%}
"""


def html_page(title: str, body: str) -> str:
    """A self-contained page; `title` must already be escaped."""
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def _test_rows(tests: list) -> str:
    rows, budget = [], MAX_PAGE_MESSAGE_CHARS
    for test in tests:
        outcome = outcome_of(test)
        cell = f'<span class="{esc(outcome, 40)}">{esc(outcome_words(test))}</span>'
        message = test.get("output") if not is_hidden(test) else None  # hidden: never read
        if message and outcome != "passed":
            if budget > 0:
                shown = clean_text(message, min(MAX_MESSAGE_CHARS, budget))
                budget -= len(shown)
                cell += f"<pre>{html.escape(shown)}</pre>"
            else:
                cell += '<p class="small">(message left out to keep this page small)</p>'
        points = f'{fmt_points(test.get("score"))} / {fmt_points(test.get("max_score"))}'
        rows.append(
            f'<tr><td><code>{esc(test.get("name"), MAX_NAME_CHARS)}</code></td>'
            f"<td>{points}</td><td>{cell}</td></tr>"
        )
    return "\n".join(rows)


def render_feedback(results: dict) -> str:
    """The HTML feedback page for one student's results dict."""
    extra = results.get("extra_data") or {}
    tests = results.get("tests") or []
    status = extra.get("status") or "error"
    student = esc(extra.get("student_id") or "", MAX_NAME_CHARS)
    score = f'{fmt_points(results.get("score"))} / {fmt_points(submission_max_score(results))}'

    parts = [f"<h1>Feedback{': ' + student if student else ''}</h1>"]
    parts.append(f"<p><strong>Score: {score}</strong><br>Status: {esc(STATUS_WORDS.get(status, status))}</p>")
    if results.get("output"):
        parts.append(f'<p>{esc(results["output"])}</p>')
    flags = extra.get("flags") or []
    if flags:
        items = "".join(f"<li>{esc(flag)}</li>" for flag in flags[:MAX_FLAGS])
        more = f"<li>… and {len(flags) - MAX_FLAGS} more</li>" if len(flags) > MAX_FLAGS else ""
        parts.append(f"<h2>Things we noticed</h2>\n<ul>{items}{more}</ul>")
    parts.append("<h2>Tests</h2>")
    if tests:
        parts.append(
            "<table>\n<tr><th>test</th><th>points</th><th>result</th></tr>\n"
            f"{_test_rows(tests)}\n</table>"
        )
    else:
        parts.append("<p>No tests were run on this submission.</p>")
    kernel = extra.get("kernel") or {}
    if kernel:
        device = kernel.get("cuda_device") or "CPU only"
        parts.append(
            f'<p class="small">Graded with Python {esc(kernel.get("python"), 40)}, '
            f'torch {esc(kernel.get("torch"), 40)}, device: {esc(device, 100)}.</p>'
        )
    title = f"Feedback{': ' + student if student else ''}"
    return html_page(title, "\n".join(parts) + "\n")
