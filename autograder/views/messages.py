"""Every sentence a student reads, one table per language, and `text()` to get one.

results.json is written in English (RESULTS_LANGUAGE): Gradescope, the instructor's report and
the log read it. The feedback page is written in the course's language (nbgrader_config.py's
`c.CourseFeedback.language`); `localize()` turns a message results.json holds back into that
language when it is one of the sentences below, keeping the values filled into it.
"""
import re
import string

RESULTS_LANGUAGE = "en"

EN = {
    # results.json (grade.py, score.py): also shown on the page, via localize()
    "summary": "{score} / {max_score} points ({counts}).",
    "summary_count": "{count} {outcome}",
    "summary_provisional": " Provisional: some tests need a CUDA grading kernel and were not graded here.",
    "summary_manual": " The written answer waits for your instructor.",
    "not_graded": "Not graded: {reason}.",
    "grader_failed": ("The autograder could not grade this submission because of a problem on the grader's side, "
                      "not in your notebook. Your instructor has been told and will grade it."),
    "worker_killed": ("Not graded: the grading worker stopped every time this notebook ran (for example, it used "
                      "more memory than a worker has). Your instructor can see this and will grade it."),
    "grader_error_flag": "grader error ({kind}): its traceback is in autograder.log, beside grades.csv",
    "answer_missing": "The answer cell was missing.",
    "answer_empty": "No answer was written.",
    "answer_manual": "Graded by your instructor.",
    "test_needs_gpu": "Needs a CUDA grading kernel: not graded on this kernel.",
    "test_died": "Stopped: {note} while this test ran.",
    "test_not_run": "Not run: {note}.",
    "test_empty_cell": "the cell was empty",
    "test_interrupted": "Stopped: it {note}.",
    "test_stopped": "Stopped: {note}.",
    "hidden_failure": "{head}\n(in a hidden test)",
    "hidden_failure_at": "{head}\nat: {line}",
    "hidden_line": "[a line of a hidden test]",
    # the feedback page
    "title": "Feedback",
    "title_student": "Feedback: {student}",
    "score": "Score",
    "status": "Status",
    "results": "Results",
    "noticed": "Things we noticed",
    "more_flags": "… and {count} more",
    "tests": "Tests",
    "col_test": "test",
    "col_points": "points",
    "col_result": "result",
    "no_tests": "No tests were run on this submission.",
    "message_left_out": "(message left out to keep this page small)",
    "cut": "… [{count:,} more characters cut]",
    "hidden_test": "hidden test: {words}",
    "details": "Details",
    "next_step": "What to do next",
    "kernel": "Graded with Python {python}, torch {torch}, device: {device}.",
    "kernel_no_torch": "Graded with Python {python}, device: {device}.",
    "cpu_only": "CPU only",
    "status_graded": "graded",
    "status_provisional": ("provisional: some tests (the GPU tests) are not graded yet; your score is final "
                           "once they are graded on the course's GPU grading kernel"),
    "status_invalid": "not graded: the submission could not be read as this assignment's notebook",
    "status_error": "not graded: the autograder failed on this submission; your instructor will look at it",
    "next_invalid": ("The notebook file is damaged or is not the assignment's notebook. Save the assignment's "
                     "notebook ({notebook}) again and submit it again."),
    "next_invalid_generic": ("The notebook file is damaged or is not the assignment's notebook. Save the "
                             "assignment's notebook again and submit it again."),
    "next_error": ("Nothing to do on your side: the problem is in the autograder, not in your notebook. "
                   "Your instructor will look at it and grade your submission."),
    "outcome_passed": "passed",
    "outcome_failed": "failed",
    "outcome_timeout": "ran too long (time limit reached)",
    "outcome_error": "could not run (the grading kernel stopped or the cell raised before the test)",
    "outcome_needs_gpu": "not graded yet: needs a GPU grading kernel",
    "outcome_missing": "missing: the test cell was not found in your notebook",
    "outcome_manual": "graded by hand by your instructor",
    "count_passed": "{count} passed",
    "count_failed": "{count} failed",
    "count_timeout": "{count} ran too long",
    "count_error": "{count} could not run",
    "count_needs_gpu": "{count} waiting for a GPU",
    "count_missing": "{count} missing",
    "count_manual": "{count} graded by hand",
    "count_other": "{count} {outcome}",
    "counts": "{counts}.",
    "manual_note": "Your written answer will be graded by your instructor.",
}

KO = {
    "answer_missing": "답을 쓰는 셀이 노트북에 없었어요.",
    "answer_empty": "답이 비어 있어요.",
    "answer_manual": "강사가 직접 채점해요.",
    "test_needs_gpu": "CUDA가 있는 채점 커널이 필요해요: 이 커널에서는 채점하지 않았어요.",
    "test_died": "이 테스트가 도는 동안 멈췄어요: {note}.",
    "test_not_run": "실행되지 않았어요: {note}.",
    "test_empty_cell": "셀이 비어 있었어요",
    "test_interrupted": "멈췄어요: {note}.",
    "test_stopped": "멈췄어요: {note}.",
    "not_graded": "채점하지 못했어요: {reason}.",
    "grader_failed": ("노트북 문제가 아니라 채점기 쪽 문제로 이 제출물을 채점하지 못했어요. "
                      "강사에게 이미 알렸고, 강사가 직접 채점할 거예요."),
    "worker_killed": ("채점하지 못했어요: 이 노트북을 돌릴 때마다 채점 worker가 멈췄어요 (예: worker가 가진 것보다 "
                      "memory를 많이 썼을 때). 강사도 이걸 볼 수 있고, 직접 확인해서 채점할 거예요."),
    "title": "피드백",
    "title_student": "피드백: {student}",
    "score": "점수",
    "status": "상태",
    "results": "결과",
    "noticed": "확인해 볼 점",
    "more_flags": "… 외 {count}개 더",
    "tests": "테스트",
    "col_test": "테스트",
    "col_points": "점수",
    "col_result": "결과",
    "no_tests": "이 제출물에서는 실행된 테스트가 없어요.",
    "message_left_out": "(페이지가 너무 길어지지 않도록 메시지는 생략했어요)",
    "cut": "… [{count:,}자 더 있어서 잘랐어요]",
    "hidden_test": "숨겨진 테스트: {words}",
    "details": "자세한 내용",
    "next_step": "이렇게 해 주세요",
    "kernel": "채점 환경: Python {python}, torch {torch}, 장치: {device}.",
    "kernel_no_torch": "채점 환경: Python {python}, 장치: {device}.",
    "cpu_only": "CPU만 사용",
    "status_graded": "채점 완료",
    "status_provisional": ("임시 점수: 일부 테스트(GPU 테스트)는 아직 채점되지 않았어요. "
                           "과정의 GPU 채점 커널에서 채점되면 점수가 확정돼요"),
    "status_invalid": "채점 안 됨: 제출한 파일을 이 과제의 노트북으로 읽을 수 없었어요",
    "status_error": "채점 안 됨: 채점기에 문제가 생겼어요. 강사가 확인할 거예요",
    "next_invalid": ("노트북 파일이 손상됐거나 과제 노트북이 아니에요. "
                     "과제 노트북({notebook})을 다시 저장해서 다시 제출해 주세요."),
    "next_invalid_generic": ("노트북 파일이 손상됐거나 과제 노트북이 아니에요. "
                             "과제 노트북을 다시 저장해서 다시 제출해 주세요."),
    "next_error": ("따로 할 일은 없어요. 노트북이 아니라 채점기 쪽 문제라서, "
                   "강사가 확인하고 채점해 줄 거예요."),
    "outcome_passed": "통과",
    "outcome_failed": "실패",
    "outcome_timeout": "시간 초과: 제한 시간 안에 끝나지 않았어요",
    "outcome_error": "실행하지 못했어요: 채점 커널이 멈췄거나, 테스트 전에 셀에서 에러가 났어요",
    "outcome_needs_gpu": "아직 채점 전: GPU 채점 커널이 필요해요",
    "outcome_missing": "없음: 노트북에서 이 테스트 셀을 찾지 못했어요",
    "outcome_manual": "강사가 직접 채점해요",
    "count_passed": "통과 {count}개",
    "count_failed": "실패 {count}개",
    "count_timeout": "시간 초과 {count}개",
    "count_error": "실행 못 함 {count}개",
    "count_needs_gpu": "GPU 채점 대기 {count}개",
    "count_missing": "없음 {count}개",
    "count_manual": "강사 채점 {count}개",
    "count_other": "{outcome} {count}개",
    "manual_note": "글로 쓴 답은 강사가 직접 채점할 거예요.",
}

MESSAGES = {"en": EN, "ko": KO}
LANGUAGES = tuple(MESSAGES)

# results.json sentences the page may show as they are (a visible test's message, the summary of an
# invalid or failed submission): localize() gives them back in the page's language.
LOCALIZED_OUTPUTS = ("answer_missing", "answer_empty", "answer_manual", "test_needs_gpu", "test_died",
                     "test_not_run", "test_interrupted", "test_stopped",
                     "worker_killed", "not_graded", "grader_failed")  # worker_killed reads as a not_graded too

# Messages that only repeat what their test's outcome already says: the page leaves them out.
SAID_BY_OUTCOME = ("answer_missing", "answer_manual", "test_needs_gpu")


def text(language: str, key: str, **fields) -> str:
    """The sentence `key` in `language` (English where that language lacks it), `fields` filled in."""
    if language not in MESSAGES:
        raise ValueError(f"feedback language {language!r} is not one of {', '.join(LANGUAGES)}")
    template = MESSAGES[language].get(key, EN[key])
    return template.format(**fields) if fields else template


def for_results(key: str, **fields) -> str:
    """A sentence for results.json (always RESULTS_LANGUAGE)."""
    return text(RESULTS_LANGUAGE, key, **fields)


def _pattern(template: str) -> re.Pattern:
    """A regex that matches what `template` formats to, capturing each field by name."""
    parts = []
    for literal, name, _spec, _conversion in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if name:
            parts.append(f"(?P<{name}>.*?)")
    return re.compile("".join(parts), re.DOTALL)


_PATTERNS = [(key, _pattern(EN[key])) for key in LOCALIZED_OUTPUTS]


def match(message: str) -> tuple[str, dict] | None:
    """(key, fields) of the results.json sentence `message` is, or None."""
    for key, pattern in _PATTERNS:
        found = pattern.fullmatch(message)
        if found:
            return key, found.groupdict()
    return None


def localize(message: str, language: str) -> str:
    """A results.json sentence in `language`; any other text (a traceback, a note) as it is."""
    found = match(message) if language != RESULTS_LANGUAGE else None
    if not found:
        return message
    key, fields = found
    if key == "test_not_run" and fields["note"] == EN["test_empty_cell"]:
        fields["note"] = text(language, "test_empty_cell")
    return text(language, key, **fields)
