"""Instructor report: summary numbers, embedded plots, tables, and the edge cases of a batch."""
import base64
import html
import inspect
import io
import re
import subprocess
import sys
from html.parser import HTMLParser

import matplotlib.image
import pytest

from autograder.views.progress import Progress
from autograder.views.report import outcomes_per_test, render_report, score_histogram_figure

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
IMG_SRC = re.compile(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)" alt="([^"]*)">')
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "br",
                "table", "tr", "th", "td", "code", "img", "a", "ul", "li", "pre"}
TITLE = "pytorch-course · lesson08"


def make_results(student, score=5.0, status="graded", seconds=1.0, flags=(), outcomes=("passed", "failed"),
                 origin=None):
    tests = [{"name": f"test_{i}", "score": 1.0 if o == "passed" else 0.0, "max_score": 1.0,
              "status": "passed" if o == "passed" else "failed", "output": "", "visibility": "visible",
              "extra_data": {"outcome": o, "hidden": False}} for i, o in enumerate(outcomes)]
    return {"score": score, "execution_time": seconds, "output": f"summary for {student}", "tests": tests,
            "extra_data": {"student_id": student, "status": status, "flags": list(flags),
                           "kernel": {"python": "3.11.7", "torch": "2.13.0", "cuda_device": None},
                           "max_score": 20.0, "origin": origin or f"submissions/{student}.ipynb"}}


def report(results_by_student, run=None):
    return render_report(results_by_student, TITLE, run)


def section(page, heading_start):
    """The HTML from the <h2> that starts with `heading_start` to the next <h2>."""
    (match,) = [part for part in page.split("<h2>") if part.startswith(heading_start)]
    return match


def embedded_pngs(page):
    return [(base64.b64decode(data), alt) for data, alt in IMG_SRC.findall(page)]


def summary_value(page, name):
    match = re.search(rf"<tr><td>{re.escape(name)}</td><td>([^<]*)</td></tr>", page)
    return match and match.group(1)


def needs_you(page):
    return section(page, "Needs you")


class Links(HTMLParser):
    def __init__(self, page):
        super().__init__()
        self.hrefs = []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        if tag == "a":
            self.hrefs.append(dict(attrs)["href"])


def test_plots_are_embedded_valid_pngs():
    page = report({f"s{i}": make_results(f"s{i}", score=i) for i in range(8)})
    images = embedded_pngs(page)
    assert len(images) >= 2
    for data, _ in images:
        assert data.startswith(PNG_SIGNATURE)
        assert matplotlib.image.imread(io.BytesIO(data), format="png").shape[0] > 50


def test_summary_counts_and_mean_median_of_scored_submissions():
    page = report({
        "a": make_results("a", 4.0), "b": make_results("b", 6.0, status="provisional"),
        "c": make_results("c", 20.0), "d": make_results("d", 0.0, status="invalid", outcomes=()),
        "e": make_results("e", 0.0, status="error", outcomes=()),
    })
    assert summary_value(page, "submissions") == "5"
    labels = ("graded in full", "provisional (GPU tests not graded yet)", "invalid (could not be graded)",
              "error (the grader failed)")
    assert [summary_value(page, s) for s in labels] == ["2", "1", "1", "1"]
    assert "<p>5 submissions: 3 scored (2 graded in full, 1 provisional), 1 invalid, 1 error.</p>" in page
    assert summary_value(page, "mean score (graded + provisional)") == "10"
    assert summary_value(page, "median score (graded + provisional)") == "6"


def test_flagged_students_listed():
    page = report({
        "alice": make_results("alice", flags=["Test cell to_numpy_grad was edited; the original was used."]),
        "bob": make_results("bob"),
    })
    flagged = section(page, "Flagged submissions")
    assert "alice" in flagged and "to_numpy_grad was edited" in flagged
    assert "bob" not in flagged


def test_slowest_top_ten_in_descending_order():
    seconds = {f"s{i:02d}": float(t) for i, t in enumerate([3, 50, 7, 1, 99, 12, 8, 40, 2, 65, 30, 0.5])}
    page = report({s: make_results(s, seconds=t) for s, t in seconds.items()})
    slow = section(page, "Slowest submissions")
    listed = re.findall(r"<code>(s\d\d)</code>", slow)
    assert listed == sorted(seconds, key=seconds.get, reverse=True)[:10]
    assert "99.0" in slow


def test_empty_input_renders_with_no_data_plots():
    page = report({})
    assert summary_value(page, "submissions") == "0"
    images = embedded_pngs(page)
    assert len(images) == 2 and all("no data" in alt for _, alt in images)
    assert all(data.startswith(PNG_SIGNATURE) for data, _ in images)


def test_all_invalid_submissions():
    batch = {s: make_results(s, 0.0, status="invalid", outcomes=(), flags=["Not a notebook."]) for s in "xyz"}
    for results in batch.values():
        del results["extra_data"]["max_score"]  # absent, and no tests to sum
        # what the autograder writes for a notebook it could not read: the kernel, never started
        results["extra_data"]["kernel"] = {"name": "pytorch-course-grader", "python": None, "torch": None,
                                           "cuda_device": None}
    page = report(batch)
    assert summary_value(page, "invalid (could not be graded)") == "3"
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
    run = {"ignored": [(xss, xss)], "renamed": [(xss, xss)], "lowered": [(xss, 2, 1)], "only_gpu_command": xss,
           "recorded": False, "gradebook": xss}
    page = render_report({xss: make_results(xss, status="invalid", flags=[xss], outcomes=("manual",), origin=xss)},
                         title=xss, run=run)

    class Tags(HTMLParser):
        found = set()

        def handle_starttag(self, tag, attrs):
            self.found.add(tag)

    Tags().feed(page)
    assert Tags.found <= ALLOWED_TAGS, Tags.found - ALLOWED_TAGS
    assert "&lt;script&gt;" in page


def test_report_leaves_pyplot_alone():
    code = ("import sys; from autograder.views.report import render_report; render_report({}, 'x'); "
            "assert 'matplotlib.pyplot' not in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_malformed_results_fail_loudly_naming_the_student():
    with pytest.raises(TypeError, match="'carol'"):
        report({"carol": "not a dict"})


def test_title_is_the_callers_and_names_no_assignment_by_default():
    assert inspect.signature(render_report).parameters["title"].default is inspect.Parameter.empty
    assert "<h1>Grading report: pytorch-course · lesson08</h1>" in report({"a": make_results("a")})
    assert "lesson08" not in render_report({"a": make_results("a")}, "course · hw3")


def test_every_student_links_to_their_feedback_and_shows_their_file():
    odd = ["김민수", "two words", "a&b#1?"]
    page = report({s: make_results(s, origin=f"inbox/{s}.zip!{s}/lesson08.ipynb") for s in odd})
    hrefs = set(Links(section(page, "All grades")).hrefs)
    assert hrefs == {"%EA%B9%80%EB%AF%BC%EC%88%98/feedback.html", "two%20words/feedback.html",
                     "a%26b%231%3F/feedback.html"}
    rows = section(page, "All grades").split("<tr>")[2:]
    assert len(rows) == 3
    for s in odd:
        (row,) = [r for r in rows if f"<code>{html.escape(s)}</code>" in r]
        assert f"inbox/{html.escape(s)}.zip!{html.escape(s)}/lesson08.ipynb" in row


def test_needs_you_lists_everything_left_for_the_instructor():
    command = "python -m autograder grade lesson08 --submissions 'in box' --only-gpu"
    run = {"ignored": [("inbox/notes.txt", "not a notebook")], "renamed": [("minsu", "inbox/Minsu (1).ipynb")],
           "lowered": [("carol", 18.0, 12.5)], "only_gpu_command": command, "recorded": True,
           "gradebook": "/course/gradebook.db"}
    page = report({
        "alice": make_results("alice", outcomes=("passed", "manual", "manual")),
        "bob": make_results("bob", status="provisional", outcomes=("passed", "needs_gpu")),
        "carol": make_results("carol", flags=["Test cell test_grad was edited; the original was used."]),
        "dave": make_results("dave", 0.0, status="invalid", outcomes=()),
        "erin": make_results("erin", 0.0, status="error", outcomes=()),
        "frank": make_results("frank"),
    }, run)
    items = needs_you(page).split("<li>")[1:]
    assert len(items) == 7

    def item(start):
        (found,) = [i for i in items if i.startswith(start)]
        return found
    assert "alice</code></a> (2)" in item("Written answers to grade by hand in formgrader (2 in 1 submission(s))")
    provisional = item("Provisional submissions (1)")
    assert "bob" in provisional and f"<pre><code>{html.escape(command)}</code></pre>" in provisional
    assert "carol" in item("Flagged submissions (1)")
    broken = item("Invalid and error submissions (2)")
    assert "dave</code></a> (invalid)" in broken and "erin</code></a> (error)" in broken
    assert "carol</code></a> 18 → 12.5" in item("Gradebook results this run lowered (1)")
    assert "<code>inbox/notes.txt</code> (not a notebook)" in item("Files in the submissions path that were not")
    assert "minsu</code></a> from <code>inbox/Minsu (1).ipynb</code>" in item("Students whose id differs")
    assert "frank" not in needs_you(page)
    assert page.index("Needs you") < page.index("<h2>Summary")


def test_needs_you_says_when_nothing_is_left():
    run = {"ignored": [], "renamed": [], "lowered": [], "only_gpu_command": None, "recorded": True,
           "gradebook": "gradebook.db"}
    page = report({"a": make_results("a"), "b": make_results("b")}, run)
    assert "<ul>" not in needs_you(page) and "Nothing needs you" in needs_you(page)
    page = report({"a": make_results("a", status="provisional", outcomes=("needs_gpu",))}, run)
    assert "Nothing needs you" not in needs_you(page)
    assert "need a CUDA grading kernel" in needs_you(page) and "<pre>" not in page  # no command to show


def test_says_whether_the_gradebook_was_recorded():
    batch = {"a": make_results("a")}
    recorded = report(batch, {"recorded": True, "gradebook": "/course/gradebook.db"})
    trial = report(batch, {"recorded": False, "gradebook": "/course/gradebook.db"})
    assert "This run recorded its results into the course gradebook (<code>/course/gradebook.db</code>)" in recorded
    assert "Trial run: the course gradebook (<code>/course/gradebook.db</code>) was left unchanged" in trial
    assert "Trial run" not in recorded and "recorded its results" not in trial
    written = {"a": make_results("a", outcomes=("passed", "manual"))}  # formgrader holds them only once recorded
    assert "to grade by hand in formgrader" in report(written, {"recorded": True, "gradebook": "g.db"})
    trial = report(written, {"recorded": False, "gradebook": "g.db"})
    assert "in formgrader" not in trial and "once a run with --record has put them in the gradebook" in trial


def test_summary_never_reads_as_nothing_graded():
    page = report({s: make_results(s, status="provisional", outcomes=("passed", "needs_gpu")) for s in "abc"})
    assert "<p>3 submissions: 3 scored (0 graded in full, 3 provisional).</p>" in page
    assert summary_value(page, "graded") is None and summary_value(page, "graded in full") is None
    page = report({"a": make_results("a", 0.0, status="invalid", outcomes=())})
    assert "<p>1 submission: 1 invalid.</p>" in page


def test_histogram_counts_have_whole_number_ticks():
    fig = score_histogram_figure([3.0, 7.5], 20.0)
    fig.canvas.draw()
    ticks = fig.axes[0].get_yticks()
    assert len(ticks) >= 2 and all(t == int(t) for t in ticks), ticks


def test_progress_finish_counts_graded_now_and_kept():
    out = io.StringIO()
    progress = Progress(5, out)
    result = {"score": 3, "extra_data": {"max_score": 4, "status": "graded"}}
    for i, student in enumerate("abcde"):
        progress.start(student)
        progress.done(student, result, reused=i < 2)
    progress.finish()
    lines = out.getvalue().splitlines()
    assert lines[1] == "[2/5] b: 3/4 graded (kept from an earlier run)" and lines[4] == "[5/5] e: 3/4 graded"
    assert re.fullmatch(r"5 submission\(s\) done in \d+ s: 3 graded now, 2 kept from an earlier run", lines[5])


def test_the_item_analysis_shows_where_the_mutants_went_wrong(warm_class, ag_assignment):
    from autograder.views.report import item_analysis
    from mutants import MUTANTS
    _, everyone = warm_class
    analysis = item_analysis(list(everyone.values()), "ko")
    hidden_lines = {line.strip() for spec in ag_assignment.cells for n, line in enumerate(spec.source.split("\n"), 1)
                    if n in spec.hidden_lines and len(line.strip()) > 8}
    for mutant in MUTANTS:
        if mutant.gpu:
            continue
        for name in mutant.loses:
            if ag_assignment.cell(name).needs_gpu:  # not graded on this machine's kernel
                continue
            rate, failures = analysis[name]
            outcomes = [by_name(results)[name]["extra_data"]["outcome"] for results in everyone.values()
                        if results["tests"]]  # an invalid submission has no tests
            failed = sum(outcome != "passed" for outcome in outcomes)
            assert rate == pytest.approx(1 - failed / len(outcomes)), name
            assert failures and sum(n for _, n in failures) <= failed and len(failures) <= 3, name
            assert failures == sorted(failures, key=lambda f: -f[1]), name
            assert not any(line in text for text, _ in failures for line in hidden_lines), name  # never the line
    assert analysis["shares_memory_basic"][0] < 1
    page = render_report(everyone, "course", {}, "ko")
    assert "테스트별로 본 반 전체" in page and "통과율" in page


def by_name(results):
    return {test["name"]: test for test in results["tests"]}
