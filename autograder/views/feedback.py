"""Student feedback: one results dict (Gradescope's results.json form) as a small HTML page.

Everything shown comes from the results dict and is escaped. A test students never saw any of
is labelled hidden and its `output` is never read; a test with a hidden part shows its output,
which holds no hidden line (score.py). Each test's description (the first line of the test
cell's docstring, which students received) is shown with it. Messages are truncated so a student
who prints megabytes cannot make the page (or the grading machine's disk) large.

The page is in the course's language (course.feedback_language): every sentence on it is a
Message (messages.py) the results hold, rendered here; results["output"] and the flags' text
stay English for Gradescope and are shown only for results that carry no codes.
"""
import html
import re

from .. import messages, results as R
from ..assignment import MAX_DESCRIPTION_CHARS
from ..lateness import Lateness
from ..messages import Message

MAX_MESSAGE_CHARS = 4_000  # one failure message, flag or summary
MAX_PAGE_MESSAGE_CHARS = 60_000  # all failure messages on one page together
MAX_FLAGS = 30
MAX_NAME_CHARS = 200

_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")  # lone surrogates break writing


def clean_text(value, limit: int = MAX_MESSAGE_CHARS, language: str = "en") -> str:
    """Any value as printable text of at most `limit` characters (plus a note), not yet escaped."""
    text = "" if value is None else str(value)
    text = _UNPRINTABLE.sub("\ufffd", R.ANSI.sub("", text))
    if len(text) > limit:
        text = f"{text[:limit]}\n{messages.text(language, 'cut', count=len(text) - limit)}"
    return text


def esc(value, limit: int = MAX_MESSAGE_CHARS, language: str = "en") -> str:
    """Cleaned, truncated and HTML-escaped: the only way text reaches the page."""
    return html.escape(clean_text(value, limit, language), quote=True)


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
    """A test the student never saw any of: labelled hidden, its output never read. A test with a
    hidden part is not: its output holds no hidden line (score.py). An unknown test stays hidden."""
    extra = test.get("extra_data") or {}
    hidden = extra.get("fully_hidden", extra.get("hidden", True))
    return hidden is not False or test.get("visibility", "visible") != "visible"


def outcome_words(test: dict, language: str = "en") -> str:
    outcome = R.outcome_of(test)
    words = messages.text(language, f"outcome_{outcome}") if outcome in R.OUTCOMES else str(outcome)
    return messages.text(language, "hidden_test", words=words) if is_hidden(test) else words


def description_of(test: dict) -> str:
    """What the test checks: the first line of its docstring (score.py), or ''."""
    description = (test.get("extra_data") or {}).get("description")
    return description if isinstance(description, str) else ""


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


def html_page(title: str, body: str, lang: str = "en") -> str:
    """A self-contained page; `title` must already be escaped."""
    return (
        f'<!DOCTYPE html>\n<html lang="{html.escape(lang, quote=True)}">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{title}</title>\n<style>{PAGE_CSS}</style>\n</head>\n<body>\n{body}</body>\n</html>\n"
    )


def _say(language: str, key: str, **fields) -> str:
    """A sentence of messages.py in `language`, escaped for the page."""
    return esc(messages.text(language, key, **fields), language=language)


def _test_message(test: dict, language: str) -> str | None:
    """What the page says under a test's outcome, or None: its Message in `language` (none that only
    repeats the outcome), or the English output of results without codes. A hidden test's is never read."""
    if is_hidden(test):
        return None
    message = Message.from_dict((test.get("extra_data") or {}).get("message"))
    if message is not None:
        return None if message.code in messages.SAID_BY_OUTCOME else message.text(language)
    output = test.get("output")
    return output if isinstance(output, str) and output else None


def _test_rows(tests: list, language: str) -> str:
    rows, budget = [], MAX_PAGE_MESSAGE_CHARS
    for test in tests:
        outcome = R.outcome_of(test)
        cell = f'<span class="{esc(outcome, 40)}">{esc(outcome_words(test, language))}</span>'
        message = _test_message(test, language)
        if message and outcome != R.PASSED:
            if budget > 0:
                shown = clean_text(message, min(MAX_MESSAGE_CHARS, budget), language)
                budget -= len(shown)
                cell += f"<pre>{html.escape(shown)}</pre>"
            else:
                cell += f'<p class="small">{_say(language, "message_left_out")}</p>'
        name = f'<code>{esc(test.get("name"), MAX_NAME_CHARS, language)}</code>'
        description = description_of(test)
        if description:
            name += f'<br><span class="small description">{esc(description, MAX_DESCRIPTION_CHARS, language)}</span>'
        points = f'{fmt_points(test.get("score"))} / {fmt_points(test.get("max_score"))}'
        rows.append(f"<tr><td>{name}</td><td>{points}</td><td>{cell}</td></tr>")
    return "\n".join(rows)


def _counts(tests: list, language: str) -> str:
    """'3 passed, 1 failed' in `language`, outcomes in a fixed order."""
    counts = R.count_outcomes(tests)
    order = [o for o in R.OUTCOMES if o in counts] + [o for o in counts if o not in R.OUTCOMES]
    return ", ".join(messages.text(language, f"count_{o}", count=counts[o]) if o in R.OUTCOMES
                     else f"{o}: {counts[o]}" for o in order)


def _notebook_file(notebook_id) -> str | None:
    if not isinstance(notebook_id, str) or not notebook_id:
        return None
    return notebook_id if notebook_id.endswith(".ipynb") else f"{notebook_id}.ipynb"


def _summary(results: dict, status: str, tests: list, language: str, notebook_id) -> list:
    """The paragraphs under the score: counts for a graded submission; what went wrong and what to
    do next for one that was not graded."""
    parts = []
    if status in (R.GRADED, R.PROVISIONAL):
        if tests:
            counts = _say(language, "counts", counts=_counts(tests, language))
            parts.append(f'<p>{_say(language, "results")}: {counts}</p>')
        if any(R.outcome_of(t) == R.MANUAL for t in tests):
            parts.append(f"<p>{_say(language, 'manual_note')}</p>")
        return parts
    output = _details(results, language)
    if output:
        parts.append(f'<p>{_say(language, "details")}: {esc(output, language=language)}</p>')
    notebook = _notebook_file(notebook_id)
    if status == "invalid":
        step = (_say(language, "next_invalid", notebook=notebook) if notebook
                else _say(language, "next_invalid_generic"))
    elif status == "error":
        step = _say(language, "next_error")
    else:
        return parts
    parts.append(f'<p><strong>{_say(language, "next_step")}:</strong> {step}</p>')
    return parts


def output_messages(results: dict) -> list | None:
    """The submission's output as the Messages results.json holds; None for results without them."""
    found = [Message.from_dict(m) for m in (results.get("extra_data") or {}).get("messages") or []]
    return found if found and None not in found else None


def _details(results: dict, language: str) -> str | None:
    """Why a submission was not graded, in `language`; None where the status and the next step say all."""
    found = output_messages(results)
    if found is None:
        output = results.get("output")
        return output if isinstance(output, str) and output else None
    if found[0].code == "grader_failed":  # the next step says all of it
        return None
    if found[0].code == "not_graded":  # the status already says it was not graded
        reason = found[0].fields["reason"]
        return reason.text(language) if isinstance(reason, Message) else str(reason)
    return "".join(m.text(language) for m in found)


def flags_in(extra: dict, language: str) -> list:
    """The flags in `language`; their English text where the results carry no codes."""
    texts, data = extra.get("flags") or [], extra.get("flag_messages")
    found = [Message.from_dict(m) for m in data] if isinstance(data, list) else []
    if len(found) == len(texts) and None not in found:
        return [m.text(language) for m in found]
    return texts


# lateness
def _lateness(results: dict, language: str) -> list:
    """The submission's time, its deadline (the student's extension included) and any late penalty:
    a paragraph, from extra_data.lateness (none for results without one, or with one not of lateness.py)."""
    data = (results.get("extra_data") or {}).get("lateness")
    if not isinstance(data, dict):
        return []
    try:
        late = Lateness.from_dict(data)
    except ValueError:
        return []
    lines = [_say(language, "late_submitted", time=_moment(late.submitted))]
    if late.deadline is not None:
        if late.extended and late.course_deadline is not None:
            lines.append(_say(language, "late_deadline_extended", time=_moment(late.deadline),
                              course_time=_moment(late.course_deadline)))
        else:
            lines.append(_say(language, "late_deadline", time=_moment(late.deadline)))
        if not late.late:
            lines.append(_say(language, "late_on_time"))
        else:
            lines.append(_say(language, "late_by", duration=_duration(late.seconds_late, language)))
            if late.penalty > 0:
                score = results.get("score") if isinstance(results.get("score"), (int, float)) else 0
                lines.append(_say(language, "late_penalty", penalty=fmt_points(late.penalty),
                                  score=fmt_points(max(0.0, score - late.penalty)),
                                  max_score=fmt_points(submission_max_score(results))))
            else:
                lines.append(_say(language, "late_no_penalty"))
    return [f'<p class="lateness">{"<br>".join(lines)}</p>']


def _moment(moment) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S %Z")


def _duration(seconds: float, language: str) -> str:
    """'2일 3시간 5분' ('1초' under a minute): days, hours and minutes late, rounded up to the second."""
    total = max(1, int(-(-seconds // 1)))
    days, rest = divmod(total, 86_400)
    hours, rest = divmod(rest, 3_600)
    minutes, secs = divmod(rest, 60)
    parts = [("late_days", days), ("late_hours", hours), ("late_minutes", minutes)]
    words = [messages.text(language, code, count=count) for code, count in parts if count]
    return " ".join(words) if words else messages.text(language, "late_seconds", count=secs)


def render_feedback(results: dict, language: str = "en", notebook_id: str | None = None) -> str:
    """The HTML feedback page for one student's results dict, in `language` (messages.LANGUAGES).

    `notebook_id` names the notebook an invalid submission should resubmit (default: the results'
    extra_data.notebook_id, if any)."""
    messages.check_language(language)

    extra = results.get("extra_data") or {}
    tests = results.get("tests") or []
    status = extra.get("status") or "error"
    student = clean_text(extra.get("student_id") or "", MAX_NAME_CHARS, language)
    score = f'{fmt_points(results.get("score"))} / {fmt_points(submission_max_score(results))}'
    status_words = messages.text(language, f"status_{status}") if status in R.STATUSES else status

    title = _say(language, "title_student", student=student) if student else _say(language, "title")
    parts = [f"<h1>{title}</h1>"]
    parts.append(f'<p><strong>{_say(language, "score")}: {score}</strong><br>'
                 f'{_say(language, "status")}: {esc(status_words)}</p>')
    parts += _lateness(results, language)
    parts += _summary(results, status, tests, language, notebook_id or extra.get("notebook_id"))
    flags = flags_in(extra, language)
    if flags:
        items = "".join(f"<li>{esc(flag, language=language)}</li>" for flag in flags[:MAX_FLAGS])
        more = ""
        if len(flags) > MAX_FLAGS:
            more = f'<li>{_say(language, "more_flags", count=len(flags) - MAX_FLAGS)}</li>'
        parts.append(f'<h2>{_say(language, "noticed")}</h2>\n<ul>{items}{more}</ul>')
    parts.append(f'<h2>{_say(language, "tests")}</h2>')
    if tests:
        header = "".join(f"<th>{_say(language, key)}</th>" for key in ("col_test", "col_points", "col_result"))
        parts.append(f"<table>\n<tr>{header}</tr>\n{_test_rows(tests, language)}\n</table>")
    else:
        parts.append(f'<p>{_say(language, "no_tests")}</p>')
    kernel = extra.get("kernel") or {}
    if isinstance(kernel, dict) and kernel.get("python"):  # only a kernel that really ran reports its Python
        device = kernel.get("cuda_device") or messages.text(language, "cpu_only")
        fields = dict(python=clean_text(kernel["python"], 40), device=clean_text(device, 100))
        if kernel.get("torch"):
            line = messages.text(language, "kernel", torch=clean_text(kernel["torch"], 40), **fields)
        else:
            line = messages.text(language, "kernel_no_torch", **fields)
        parts.append(f'<p class="small">{esc(line)}</p>')
    return html_page(title, "\n".join(parts) + "\n", lang=language)
