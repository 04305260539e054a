"""Student feedback page: hidden tests stay hidden, text is escaped, the page stays small."""
from html.parser import HTMLParser

from autograder.views.feedback import MAX_MESSAGE_CHARS, render_feedback

HIDDEN_MARKER = "HIDDEN_SOURCE_assert np.shares_memory(a, t.numpy())"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "strong", "br",
                "ul", "li", "table", "tr", "th", "td", "code", "span", "pre"}


def make_test(name, outcome="passed", output="", hidden=False, score=None, max_score=1.0):
    passed = outcome == "passed"
    return {"name": name, "score": (max_score if passed else 0.0) if score is None else score,
            "max_score": max_score, "status": "passed" if passed else "failed", "output": output,
            "visibility": "visible", "extra_data": {"outcome": outcome, "hidden": hidden}}


def make_results(tests, status="graded", flags=(), student="alice", **extra):
    return {"score": sum(t["score"] for t in tests), "execution_time": 4.2, "output": "",
            "tests": list(tests),
            "extra_data": {"student_id": student, "status": status, "flags": list(flags),
                           "kernel": {"python": "3.11.7", "torch": "2.13.0", "cuda_device": None},
                           **extra}}


class TagCollector(HTMLParser):
    """Start tags, their attributes, and the text inside each <pre>."""

    def __init__(self, page):
        super().__init__()
        self.tags, self.attrs, self.pre_texts, self._in_pre = set(), set(), [], False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self.tags.add(tag)
        self.attrs.update(name for name, _ in attrs)
        if tag == "pre":
            self._in_pre = True
            self.pre_texts.append("")

    def handle_endtag(self, tag):
        self._in_pre = self._in_pre and tag != "pre"

    def handle_data(self, data):
        if self._in_pre:
            self.pre_texts[-1] += data


def test_hidden_test_output_never_shown():
    results = make_results([
        make_test("to_numpy_grad", "failed", output=HIDDEN_MARKER, hidden=True),
        # says visible in Gradescope's field but hidden in ours: hidden wins
        {**make_test("shares_memory", "failed", output=HIDDEN_MARKER, hidden=True), "visibility": "visible"},
        # hidden in Gradescope's field only
        {**make_test("cpu_noop", "timeout", output=HIDDEN_MARKER), "visibility": "hidden"},
        # no extra_data at all: unknown counts as hidden
        {"name": "legacy", "score": 0, "max_score": 1, "status": "failed", "output": HIDDEN_MARKER},
    ])
    page = render_feedback(results)
    assert "HIDDEN_SOURCE" not in page
    assert page.count("hidden test: failed") == 3
    assert "hidden test: ran too long" in page
    assert "<pre>" not in page


def test_visible_failure_message_shown_in_pre():
    message = "AssertionError: expected float32, got torch.float64"
    page = render_feedback(make_results([make_test("dtype_check", "failed", output=message)]))
    assert TagCollector(page).pre_texts == [message]


def test_passed_visible_test_shows_no_message():
    page = render_feedback(make_results([make_test("ok", "passed", output="some stdout")]))
    assert "some stdout" not in page


def test_outcomes_in_words():
    page = render_feedback(make_results([
        make_test("gpu_chain", "needs_gpu"), make_test("slow", "timeout"),
        make_test("essay", "manual"), make_test("gone", "missing"), make_test("fine", "passed"),
    ], status="provisional"))
    assert "not graded yet: needs a GPU grading kernel" in page
    assert "ran too long" in page
    assert "graded by hand by your instructor" in page
    assert "test cell was not found" in page
    assert "provisional" in page


def test_score_uses_sum_of_tests_when_max_score_absent():
    page = render_feedback(make_results([make_test("a", max_score=1.0), make_test("b", "failed", max_score=2.0)]))
    assert "Score: 1 / 3" in page
    page = render_feedback(make_results([make_test("a")], max_score=20.0))
    assert "Score: 1 / 20" in page
    page = render_feedback(make_results([make_test("a"), make_test("b")], max_score=0.0))
    assert "Score: 2 / 2" in page


def test_student_text_is_escaped_everywhere():
    test = make_test(XSS, "failed", output=XSS)
    test["extra_data"]["outcome"] = 'failed" onclick="alert(1)'
    results = make_results([test], flags=[XSS], student=XSS)
    results["output"] = XSS
    page = render_feedback(results)
    parsed = TagCollector(page)
    assert parsed.tags <= ALLOWED_TAGS, parsed.tags - ALLOWED_TAGS
    assert parsed.attrs <= {"lang", "charset", "name", "content", "class"}
    assert "&lt;script&gt;" in page
    assert parsed.pre_texts == [XSS]  # escaped on the way in, the same text on the way out


def test_long_messages_are_truncated():
    page = render_feedback(make_results([make_test("spam", "failed", output="x" * 1_000_000)]))
    (shown,) = TagCollector(page).pre_texts
    assert shown.startswith("x" * MAX_MESSAGE_CHARS)
    assert "more characters cut" in shown
    assert len(shown) < MAX_MESSAGE_CHARS + 100
    assert len(page) < 15_000


def test_page_stays_small_with_many_failing_tests_and_flags():
    tests = [make_test(f"t{i}", "failed", output="y" * 100_000) for i in range(300)]
    page = render_feedback(make_results(tests, flags=["z" * 100_000] * 1_000))
    assert len(page) < 250_000
    assert "left out to keep this page small" in page
    assert "… and 970 more" in page


def test_invalid_submission_without_tests():
    results = make_results([], status="invalid", flags=["The file is not a notebook (JSON error at line 1)."])
    page = render_feedback(results)
    assert "No tests were run" in page
    assert "not graded" in page
    assert "The file is not a notebook" in page


def test_page_is_utf8_korean_friendly_and_writable():
    results = make_results([make_test("a", "failed", output="\x1b[31m오류\x1b[0m \ud800 \x00")], student="김민지")
    page = render_feedback(results)
    assert '<meta charset="utf-8">' in page
    assert "김민지" in page
    assert TagCollector(page).pre_texts == ["오류 \ufffd \ufffd"]  # ANSI colour codes stripped
    page.encode("utf-8")  # a lone surrogate would raise here
