"""Student feedback page: hidden tests stay hidden, text is escaped, the page stays small; it is in the
course's language, says what each test checks and what to do next."""
import html
import re
import string
from html.parser import HTMLParser

import nbformat
import pytest

from autograder import course, grade as grading, messages, results as R
from autograder.execute import CellRun, NotebookRun
from autograder.engine.session import Limits
from autograder.messages import say
from autograder.views.feedback import MAX_MESSAGE_CHARS, render_feedback
from autograder_fixtures import submission
from course import ROOT

HIDDEN_MARKER = "HIDDEN_SOURCE_assert np.shares_memory(a, t.numpy())"
XSS = '<script>alert("x")</script><img src=x onerror=alert(1)>'
ALLOWED_TAGS = {"html", "head", "meta", "title", "style", "body", "h1", "h2", "p", "strong", "br",
                "ul", "li", "table", "tr", "th", "td", "code", "span", "pre"}


def make_test(name, outcome="passed", output="", hidden=False, score=None, max_score=1.0, message=None):
    """A test as results.json holds it; `message` (a Message) gives its output and its code."""
    passed = outcome == "passed"
    test = {"name": name, "score": (max_score if passed else 0.0) if score is None else score,
            "max_score": max_score, "status": "passed" if passed else "failed",
            "output": message.text() if message else output,
            "visibility": "visible", "extra_data": {"outcome": outcome, "hidden": hidden}}
    if message:
        test["extra_data"]["message"] = message.to_dict()
    return test


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


# --- The course's language, test descriptions, next steps (results from the real grading path) ---

HANGUL = re.compile("[\uac00-\ud7a3]")
KERNEL = {"name": "pytorch-course-grader", "python": "3.11.7", "torch": "2.5.1", "cuda_device": None}


def row_of(page: str, name: str) -> str:
    """The <tr> of test `name` on a feedback page."""
    (row,) = [row for row in page.split("<tr>") if f"<code>{name}</code>" in row]
    return row


class TextCollector(HTMLParser):
    """The text a reader sees: everything outside <style>."""

    def __init__(self, page):
        super().__init__()
        self.text, self._in_style = [], False
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        self._in_style = tag == "style"

    def handle_endtag(self, tag):
        self._in_style = False

    def handle_data(self, data):
        if not self._in_style:
            self.text.append(data)


def page_text(page: str) -> str:
    """What a reader sees: the page's text outside <style>, unescaped."""
    return "".join(TextCollector(page).text)


def first_hidden_line(spec) -> int:
    """The number of the first line of `spec`'s source inside its hidden-test region."""
    return min(spec.hidden_lines) + 1


def hidden_source_lines(assignment) -> list:
    visible = "\n".join(spec.visible_source for spec in assignment.cells)
    return [line.strip() for spec in assignment.cells if spec.hidden
            for number, line in enumerate(spec.source.split("\n"), 1)
            if number in spec.hidden_lines and len(line.strip()) > 15 and line.strip() not in visible]


def graded_with(monkeypatch, assignment, failing: dict) -> dict:
    """Results from grade_submission on the reference answers (restore, score and the summary are the
    real ones); only the kernel is simulated: cell grade_id → the line its error is raised at."""
    def run_notebook(nb, assignment, limits, engine, gpu=None):
        run = NotebookRun(kernel=dict(KERNEL))
        count = 0
        for index, cell in enumerate(nb.cells):
            if cell.cell_type != "code":
                continue
            count += 1
            cell.execution_count, cell.outputs = count, []
            line = failing.get(cell.metadata.get("nbgrader", {}).get("grade_id"))
            if line is None:
                run.cells[index] = CellRun("ok", {"status": "ok"})
                continue
            line, ename, evalue = line if isinstance(line, tuple) else (line, "AssertionError", "")
            error = {"ename": ename, "evalue": evalue, "traceback": [f"Cell In[{count}], line {line}"]}
            cell.outputs = [nbformat.v4.new_output("error", **error)]
            run.cells[index] = CellRun("error", {"status": "error", **error})
        return run
    monkeypatch.setattr(grading, "run_notebook", run_notebook)
    data = submission(written_error_order="device 검사가 먼저예요.")
    return grading.grade_submission(data, assignment, "민지", engine=object()).results


def test_the_course_config_makes_feedback_korean(tmp_path):
    assert course.feedback_language(ROOT) == "ko"  # this course's nbgrader_config.py
    page = render_feedback(make_results([make_test("a"), make_test("b", "failed")]), course.feedback_language(ROOT))
    assert page.startswith('<!DOCTYPE html>\n<html lang="ko">')
    assert "<h1>피드백: alice</h1>" in page and "점수: 1 / 2" in page and "상태: 채점 완료" in page
    words = page_text(page)
    assert "Score" not in words and "Feedback" not in words and "passed" not in words and "Status" not in words
    config = tmp_path / "nbgrader_config.py"
    config.write_text('c = get_config()\nc.CourseDirectory.course_id = "x"\n')
    assert course.feedback_language(tmp_path) == "en"  # unset: English
    config.write_text('c = get_config()\nc.CourseFeedback.language = "en"\n')
    assert course.feedback_language(tmp_path) == "en"
    config.write_text('c = get_config()\nc.CourseFeedback.language = "fr"\n')
    with pytest.raises(ValueError, match="'fr'"):
        course.feedback_language(tmp_path)


def test_english_stays_an_option_and_the_default():
    results = make_results([make_test("a"), make_test("b", "needs_gpu")], status="provisional")
    for page in (render_feedback(results), render_feedback(results, "en")):
        assert page.startswith('<!DOCTYPE html>\n<html lang="en">')
        assert "Score: 1 / 2" in page and "Status: provisional" in page and "Results: 1 passed, 1 waiting for a GPU." in page
        assert not HANGUL.search(page)
    with pytest.raises(ValueError, match="'de'"):
        render_feedback(results, "de")


def test_statuses_and_outcomes_in_korean():
    page = render_feedback(make_results([
        make_test("gpu_chain", "needs_gpu"), make_test("slow", "timeout"), make_test("essay", "manual"),
        make_test("gone", "missing"), make_test("broke", "error"), make_test("bad", "failed"),
        make_test("fine", "passed"), make_test("secret", "failed", hidden=True),
    ], status="provisional"), "ko")
    assert ("상태: 임시 점수: 일부 테스트(GPU 테스트)는 아직 채점되지 않았어. "
            "과정의 GPU 채점 커널에서 채점되면 점수가 확정돼") in page
    expected = {"gpu_chain": "아직 채점 전: GPU 채점 커널이 필요해", "slow": "시간 초과", "essay": "강사가 직접 채점해",
                "gone": "없음: 노트북에서 이 테스트 셀을 찾지 못했어", "broke": "실행하지 못했어",
                "bad": ">실패<", "fine": ">통과<", "secret": ">숨겨진 테스트: 실패<"}
    for name, words in expected.items():
        assert words in row_of(page, name), name
    assert "결과: 통과 1개, 실패 2개, 시간 초과 1개, 실행 못 함 1개, GPU 채점 대기 1개, 없음 1개, 강사 채점 1개." in page
    assert "글로 쓴 답은 강사가 직접 채점할 거야." in page
    for status, words in [("graded", "채점 완료"), ("invalid", "채점 안 됨: 제출한 파일을"),
                          ("error", "채점 안 됨: 채점기에 문제가 생겼어")]:
        assert f"상태: {words}" in render_feedback(make_results([], status=status), "ko"), status


def test_a_visible_tests_message_is_rendered_from_its_code_and_a_traceback_stays_as_it_is():
    traceback = "AssertionError: float64 must stay float64"
    page = render_feedback(make_results([
        make_test("to_numpy_gpu", "needs_gpu", message=say("test_needs_gpu")),  # says it twice
        make_test("essay", "manual", message=say("answer_manual")),  # says it twice
        make_test("blank", "failed", message=say("answer_empty")),
        make_test("slow", "timeout", message=say("test_stopped", note=say("time_limit"))),
        make_test("dtypes", "failed", message=say("test_error", error=traceback)),
        make_test("older", "failed", output="Stopped: an older results.json without codes."),
    ], status="provisional"), "ko")
    assert TagCollector(page).pre_texts == ["답이 비어 있어.", "멈췄어: 노트북 전체 제한 시간이 다 됐어.", traceback,
                                            "Stopped: an older results.json without codes."]


def test_a_failed_hidden_test_says_what_it_checked_and_never_how(monkeypatch, ag_assignment):
    spec = ag_assignment.cell("shares_memory_basic")
    results = graded_with(monkeypatch, ag_assignment, {spec.grade_id: first_hidden_line(spec)})
    tests = {t["name"]: t for t in results["tests"]}
    failed = tests["shares_memory_basic"]
    assert failed["extra_data"]["outcome"] == R.FAILED and failed["extra_data"]["hidden"] is True
    description = spec.visible_source.split("\n")[0].strip().strip('"')  # e.g. "shares_memory: torch.from_numpy는 ..."
    assert description.startswith("shares_memory: ") and failed["extra_data"]["description"] == description
    for test_spec in ag_assignment.grade_cells:  # every test cell, from its docstring's first line
        if test_spec.is_test:
            first = test_spec.visible_source.split("\n")[0].strip().strip('"')
            assert tests[test_spec.grade_id]["extra_data"]["description"] == first, test_spec.grade_id
    assert "description" not in tests["written_error_order"]["extra_data"]  # an answer cell: its source is the solution

    page = render_feedback(results, "ko")
    row = row_of(page, "shares_memory_basic")
    # the student saw part of it: no "hidden" label; its hidden check failed, and that is all it says
    assert ">실패</span><pre>숨겨진 확인 하나를 통과하지 못했어.</pre>" in row and description in row and "0 / 1" in row
    assert "숨겨진 테스트" not in page and "in a hidden test" not in page
    leaked = [line for line in hidden_source_lines(ag_assignment) if html.escape(line, quote=True) in page]
    assert not leaked and len(hidden_source_lines(ag_assignment)) > 20
    assert "상태: 임시 점수" in page  # the _gpu tests wait for a CUDA kernel
    gpu = sum(1 for s in ag_assignment.grade_cells if s.needs_gpu)
    cpu = sum(1 for s in ag_assignment.grade_cells if s.is_test) - gpu
    assert gpu >= 1 and f"결과: 통과 {cpu - 1}개, 실패 1개, GPU 채점 대기 {gpu}개, 강사 채점 1개." in page
    assert "글로 쓴 답은 강사가 직접 채점할 거야." in page and results["output"] not in page
    assert "채점 환경: Python 3.11.7, torch 2.5.1, 장치: CPU만 사용." in page


def test_a_test_with_a_hidden_part_shows_what_failed_where_the_student_can_see_it(monkeypatch, ag_assignment):
    spec = ag_assignment.cell("shares_memory_views")
    visible = next(n for n, line in enumerate(spec.source.split("\n"), 1)
                   if n not in spec.hidden_lines and line.strip().startswith("assert"))
    hidden = first_hidden_line(spec)
    basic = ag_assignment.cell("shares_memory_basic")
    results = graded_with(monkeypatch, ag_assignment, {
        spec.grade_id: (visible, "AssertionError", "뷰도 공유해야 해"),  # a visible line: its message shows
        basic.grade_id: (first_hidden_line(basic), "RuntimeError", "the answer raised"),  # the answer's own error
        "shares_memory_grad": (first_hidden_line(ag_assignment.cell("shares_memory_grad")), "AssertionError", "expected 42"),
    })
    tests = {t["name"]: t for t in results["tests"]}
    checked = tests["shares_memory_grad"]  # a hidden check's own assertion: kept for the instructor, never shown
    assert checked["extra_data"]["message"] == {"code": "hidden_check_failed", "fields": {"_error": "AssertionError: expected 42"}}
    assert "expected 42" not in checked["output"] and "expected 42" not in render_feedback(results, "ko")
    page = render_feedback(results, "ko")
    row = row_of(page, spec.grade_id)
    assert "AssertionError: 뷰도 공유해야 해\n위치: " + html.escape(spec.source.split("\n")[visible - 1].strip()) in row
    assert "RuntimeError: the answer raised\n(숨겨진 테스트에서)" in row_of(page, basic.grade_id)
    assert hidden not in (visible,) and "숨겨진 테스트" not in page.replace("(숨겨진 테스트에서)", "")
    assert tests[spec.grade_id]["visibility"] == "visible" and tests[spec.grade_id]["extra_data"]["hidden"] is True
    # A test the student never saw any line of keeps its label, and its output is never read.
    secret = {**tests[spec.grade_id], "visibility": "after_published",
              "extra_data": {**tests[spec.grade_id]["extra_data"], "fully_hidden": True}}
    row = row_of(render_feedback({**results, "tests": [secret]}, "ko"), spec.grade_id)
    assert "숨겨진 테스트: 실패" in row and "<pre>" not in row


def test_an_invalid_submission_gets_a_next_step_and_no_kernel_line(ag_assignment):
    graded = grading.grade_submission(b'{"cells": [', ag_assignment, "민지", engine=object())
    results = graded.results
    assert results["extra_data"]["status"] == R.INVALID
    assert results["extra_data"]["kernel"]["python"] is None  # no kernel ran
    page = render_feedback(results, "ko", notebook_id=ag_assignment.notebook_id)
    assert ("이렇게 해 봐:</strong> 노트북 파일이 손상됐거나 과제 노트북이 아니야. "
            f"과제 노트북({ag_assignment.notebook_id}.ipynb)을 다시 저장해서 다시 제출해 줘.") in page
    assert "자세한 내용: 올바른 JSON이 아니야 (1번째 줄, 12번째 칸)" in page
    assert "채점 환경" not in page and "Python" not in page and "torch" not in page
    english = render_feedback(results, "en")
    assert "Graded with" not in english and "Python" not in english
    assert "Save the assignment's notebook again and submit it again." in page_text(english)  # no notebook id given
    assert "Details: the file is not valid JSON (line 1, column 12)" in page_text(english)
    unreadable = grading.not_readable("민지", ag_assignment, say("not_a_notebook")).results
    page = render_feedback({**unreadable, "extra_data": {**unreadable["extra_data"], "notebook_id": "week3"}}, "ko")
    assert "과제 노트북(week3.ipynb)을 다시 저장해서" in page and "채점 환경" not in page


def test_a_grader_error_tells_the_student_the_instructor_will_look(monkeypatch, ag_assignment):
    def broken(nb, assignment):
        raise KeyError("secret")
    monkeypatch.setattr(grading, "restore", broken)
    data = nbformat.writes(nbformat.v4.new_notebook()).encode()
    results = grading.grade_submission(data, ag_assignment, "민지", engine=object()).results
    assert results["extra_data"]["status"] == R.GRADER_ERROR
    page = render_feedback(results, "ko")
    assert "이렇게 해 봐:</strong> 따로 할 일은 없어." in page and "강사가 확인하고 채점해 줄 거야" in page
    assert "채점 환경" not in page and "secret" not in page
    assert "Nothing to do on your side" in render_feedback(results, "en")


SAME_IN_EVERY_LANGUAGE = {"report_kernel"}  # names and versions only: "Python 3.11, torch 2.13.0, CPU"


def test_every_message_code_has_an_english_and_a_korean_text_with_the_same_fields():
    def fields(template):
        return {name for _, name, _, _ in string.Formatter().parse(template) if name}

    assert messages.LANGUAGES == ("en", "ko")
    assert set(messages.KO) == set(messages.EN) and len(messages.EN) > 150
    for code, english in messages.EN.items():
        korean = messages.KO[code]
        assert fields(korean) == fields(english), code
        values = {name: 1234 for name in fields(english)}
        assert messages.text("en", code, **values) and messages.text("ko", code, **values), code
        assert not re.search(r"요(?=[.!?:;,)\s]|$)", korean), f"{code}: {korean!r} is not 반말, the course's voice"
        if code in SAME_IN_EVERY_LANGUAGE:
            assert korean == english, code
        elif re.search(r"[A-Za-z]{3}", re.sub(r"\{[^}]*\}", "", english)):  # words, not just fields
            assert re.search("[가-힣]", korean), f"{code}: {korean!r} is not Korean"
    with pytest.raises(ValueError, match="takes fields"):
        say("answer_cell_missing")  # a field left out is the grader's bug, caught where it is made


def test_a_message_survives_results_json_and_unknown_codes_fall_back_to_the_text():
    message = say("died_while", note=say("memory_limit", mib=4096), cell=say("cell_named", number=3, grade_id="a"))
    assert messages.Message.from_dict(message.to_dict()) == message
    assert message.text() == "the kernel used more than 4096 MiB of memory and was stopped while cell 3 ('a') ran: " \
                             "the cells after it were not run"
    for broken in [{"code": "no_such_code", "fields": {}}, {"code": "died_while", "fields": {"note": "x"}},
                   {"code": "memory_limit", "fields": {"mib": [object]}}, "text", None]:
        assert messages.Message.from_dict(broken) is None
    page = render_feedback(make_results([], flags=["an older flag"],
                                        flag_messages=[{"code": "no_such_code", "fields": {}}]), "ko")
    assert "an older flag" in page


def test_a_notebook_that_kept_killing_its_worker_is_told_so_in_korean(ag_assignment):
    graded = grading.grader_error(b"{}", ag_assignment, "민지", Limits(), say("worker_killed"),
                                  say("worker_killed_flag", error="KilledWorker: ('autograder-1', ...)"))
    page = page_text(render_feedback(graded.results, "ko"))
    assert messages.KO["worker_killed"] in page and "돌릴 때마다 Dask worker가 죽었어: KilledWorker" in page
    assert graded.results["output"] == messages.EN["worker_killed"]
