"""Instructor report: summary numbers, embedded plots, tables, and the edge cases of a batch."""
import base64
import io
import re
import subprocess
import sys
from html.parser import HTMLParser

import matplotlib.image
import pytest

from autograder.views.report import outcomes_per_test, render_report

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMG_SRC = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">')
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "br",
                "table", "tr", "th", "td", "code", "img"}


def make_results(student, score=5.0, status="graded", seconds=1.0, flags=(), outcomes=("passed", "failed")):
    tests = [{"name": f"test_{i}", "score": 1.0 if o == "passed" else 0.0, "max_score": 1.0,
              "status": "passed" if o == "passed" else "failed", "output": "", "visibility": "visible",
              "extra_data": {"outcome": o, "hidden": False}} for i, o in enumerate(outcomes)]
    return {"score": score, "execution_time": seconds, "output": f"summary for {student}", "tests": tests,
            "extra_data": {"student_id": student, "status": status, "flags": list(flags),
                           "kernel": {"python": "3.11.7", "torch": "2.13.0", "cuda_device": None},
                           "max_score": 20.0}}


def section(page, heading_start):
    """The HTML from the <h2> that starts with `heading_start` to the next <h2>."""
    (match,) = [part for part in page.split("<h2>") if part.startswith(heading_start)]
    return match


def embedded_pngs(page):
    return [(base64.b64decode(data), alt) for data, alt in IMG_SRC.findall(page)]


def summary_value(page, name):
    match = re.search(rf"<tr><td>{re.escape(name)}</td><td>([^<]*)</td></tr>", page)
    return match.group(1)


def test_plots_are_embedded_valid_pngs():
    page = render_report({f"s{i}": make_results(f"s{i}", score=i) for i in range(8)})
    images = embedded_pngs(page)
    assert len(images) >= 2
    for data, _ in images:
        assert data.startswith(PNG_SIGNATURE)
        assert matplotlib.image.imread(io.BytesIO(data), format="png").shape[0] > 50


def test_summary_counts_and_mean_median_of_scored_submissions():
    page = render_report({
        "a": make_results("a", 4.0), "b": make_results("b", 6.0, status="provisional"),
        "c": make_results("c", 20.0), "d": make_results("d", 0.0, status="invalid", outcomes=()),
        "e": make_results("e", 0.0, status="error", outcomes=()),
    })
    assert summary_value(page, "submissions") == "5"
    assert [summary_value(page, s) for s in ("graded", "provisional", "invalid", "error")] == ["2", "1", "1", "1"]
    assert summary_value(page, "mean score (graded + provisional)") == "10"
    assert summary_value(page, "median score (graded + provisional)") == "6"


def test_flagged_students_listed():
    page = render_report({
        "alice": make_results("alice", flags=["Test cell to_numpy_grad was edited; the original was used."]),
        "bob": make_results("bob"),
    })
    flagged = section(page, "Flagged submissions")
    assert "alice" in flagged and "to_numpy_grad was edited" in flagged
    assert "bob" not in flagged


def test_slowest_top_ten_in_descending_order():
    seconds = {f"s{i:02d}": float(t) for i, t in enumerate([3, 50, 7, 1, 99, 12, 8, 40, 2, 65, 30, 0.5])}
    page = render_report({s: make_results(s, seconds=t) for s, t in seconds.items()})
    slow = section(page, "Slowest submissions")
    listed = re.findall(r"<code>(s\d\d)</code>", slow)
    assert listed == sorted(seconds, key=seconds.get, reverse=True)[:10]
    assert "99.0" in slow


def test_empty_input_renders_with_no_data_plots():
    page = render_report({})
    assert summary_value(page, "submissions") == "0"
    images = embedded_pngs(page)
    assert len(images) == 2 and all("no data" in alt for _, alt in images)
    assert all(data.startswith(PNG_SIGNATURE) for data, _ in images)


def test_all_invalid_submissions():
    batch = {s: make_results(s, 0.0, status="invalid", outcomes=(), flags=["Not a notebook."]) for s in "xyz"}
    for results in batch.values():
        del results["extra_data"]["max_score"]  # absent, and no tests to sum
        # what the autograder writes for a notebook it could not read: the kernel, never started
        results["extra_data"]["kernel"] = {"name": "lesson08-grader", "python": None, "torch": None,
                                           "cuda_device": None}
    page = render_report(batch)
    assert summary_value(page, "invalid") == "3"
    assert summary_value(page, "graded on no kernel (not executed)") == "3"
    assert summary_value(page, "mean score (graded + provisional)") == "–"
    assert all("no data" in alt for _, alt in embedded_pngs(page))
    assert section(page, "Invalid and error submissions").count("<code>") == 3


def test_outcomes_per_test_counts_in_notebook_order():
    per_test = outcomes_per_test([make_results("a", outcomes=("passed", "timeout", "needs_gpu")),
                                  make_results("b", outcomes=("failed", "timeout"))])
    assert list(per_test) == ["test_0", "test_1", "test_2"]
    assert per_test["test_0"] == {"passed": 1, "failed": 1}
    assert per_test["test_1"] == {"timeout": 2}


def test_student_text_is_escaped():
    xss = '<script>alert(1)</script>'
    page = render_report({xss: make_results(xss, status="invalid", flags=[xss])}, title=xss)

    class Tags(HTMLParser):
        found = set()

        def handle_starttag(self, tag, attrs):
            self.found.add(tag)

    Tags().feed(page)
    assert Tags.found <= ALLOWED_TAGS, Tags.found - ALLOWED_TAGS
    assert "&lt;script&gt;" in page


def test_report_leaves_pyplot_alone():
    code = ("import sys; from autograder.views.report import render_report; render_report({}); "
            "assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_malformed_results_fail_loudly_naming_the_student():
    with pytest.raises(TypeError, match="'carol'"):
        render_report({"carol": "not a dict"})
