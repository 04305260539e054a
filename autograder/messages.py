"""Every sentence the autograder can say, by code, in English and Korean; a `Message` is a code and its fields.

Results hold Messages, never sentences: whoever needs to know what happened (score.py deciding
an outcome, the feedback page choosing what to show) reads the code. A sentence is made only
where one is shown: results.json's Gradescope `output` fields and the console in English
(RESULTS_LANGUAGE), the feedback page and the report in the course's language
(course.feedback_language). A field may hold a Message or a list of them: they are rendered in
the same language.
"""
import string
from dataclasses import dataclass, field

RESULTS_LANGUAGE = "en"

EN = {
    # A test's message (results.json: tests[].output and tests[].extra_data.message)
    "answer_missing": "The answer cell was missing.",
    "answer_empty": "No answer was written.",
    "answer_manual": "Graded by your instructor.",
    "test_needs_gpu": "Needs a CUDA grading kernel: not graded on this kernel.",
    "test_died": "Stopped: {note} while this test ran.",
    "test_not_run": "Not run: {note}.",
    "test_interrupted": "Stopped: it {note}.",
    "test_stopped": "Stopped: {note}.",
    "test_error": "{error}",
    "test_error_traceback": "{error}\n\n{traceback}",
    "test_printed": "{text}",
    "hidden_failure": "{error}\n(in a hidden test)",
    "hidden_failure_at": "{error}\nat: {line}",
    "hidden_line": "[a line of a hidden test]",
    # Why a cell did not finish (a test's note, a flag's): engine/session.py, execute.py
    "empty_cell": "the cell was empty",
    "time_limit": "the notebook reached its time limit",
    "cell_interrupted": "ran past {seconds} s: interrupted",
    "stuck": "did not stop when interrupted",
    "kernel_signal": "the kernel died ({signal})",
    "kernel_exited": "the kernel exited (exit code {exit_code})",
    "kernel_died": "the kernel died",
    "memory_limit": "the kernel used more than {mib} MiB of memory and was stopped",
    "output_flood": "the kernel sent more than {mib} MiB of output and was stopped",
    "malformed_message": "the kernel sent a malformed message and was stopped",
    "connection_broke": "the kernel's connection to the grader broke and it was stopped",
    "connection_broke_size": ("the kernel's connection to the grader broke (a message over {mib} MiB is refused) "
                              "and it was stopped"),
    "sandbox_gone": "the grading sandbox stopped while this submission ran",
    "restart_failed": "the kernel had to be restarted and could not be brought back",
    # Flags: what happened that a test's outcome alone would not show (execute.py, restore.py, load.py)
    "cell_named": "cell {number} ('{grade_id}')",
    "cell_numbered": "cell {number}",
    "notebook_time_limit": "the notebook reached its time limit ({seconds} s): the cells after it were not run",
    "died_while": "{note} while {cell} ran: the cells after it were not run",
    "answer_stuck": ("{cell}: the answer's code did not stop when interrupted: the kernel was restarted "
                     "and the cells before it were run again"),
    "cell_stuck": ("{cell} ran past {seconds} s and did not stop when interrupted: the kernel was restarted "
                   "and the cells before it were run again"),
    "cell_ran_past": "{cell} ran past {seconds} s and was interrupted",
    "printed_too_much": "{cell} printed too much: {bytes} bytes of output were dropped",
    "kind_test": "test cell",
    "kind_read_only": "read-only cell",
    "kind_written": "written answer",
    "cell_duplicated": "cell '{grade_id}' appears more than once: the extra copy is graded as ordinary code",
    "metadata_unreadable": "a cell had unreadable nbgrader metadata: graded as ordinary code",
    "cell_unknown": ("a cell claims to be nbgrader cell '{grade_id}', which {assignment} does not have: "
                     "graded as ordinary code"),
    "settings_changed": "cell '{grade_id}' had its nbgrader settings changed ({changes}): restored from the source",
    "setting_changed": "{key} {old} → {new}",
    "cell_type_changed": "cell type {old} → {new}",
    "locked_edited": "{kind} '{grade_id}' was edited: restored from the source",
    "answer_cell_missing": "answer cell '{grade_id}' is missing from the notebook",
    "cell_put_back": "{kind} '{grade_id}' was missing: put back from the source",
    "wrong_kernel": "the notebook names kernel {name}, not {wanted}: graded on the course's grading kernel",
    "duplicate_ids": "duplicate cell ids ({ids}): given new ids",
    "schema_invalid": "the notebook does not follow the nbformat schema ({error}); graded anyway",
    "id_collision": "another submission also maps to student id '{base}': this one is graded as '{student_id}'",
    "id_reserved": "student id '{base}' is the name of a class-level output: this one is graded as '{student_id}'",
    "grader_error_flag": "grader error ({kind}): its traceback is in autograder.log, beside grades.csv",
    "worker_killed_flag": "killed its Dask worker every time it ran: {error}",
    "gpu_run_failed": "the GPU run could not grade this submission: {reason}",
    # Why a submission is invalid (load.py, restore.py, submissions.py)
    "file_empty": "the file is empty",
    "not_utf8": "the file is not text (not UTF-8): it is not a notebook",
    "not_json": "the file is not valid JSON: the notebook is damaged or truncated",
    "not_json_at": "the file is not valid JSON (line {line}, column {column}): the notebook is damaged or truncated",
    "nbformat_error": "nbformat cannot read it as a notebook: {error}",
    "not_notebook_json": "the file is JSON but not a Jupyter notebook",
    "nbformat_version": "nbformat {version} is not supported (expected 4)",
    "no_cells": "the notebook has no list of cells",
    "not_a_cell": "cell {number} is not a notebook cell",
    "no_source": "cell {number} has no readable source",
    "bad_metadata": "cell {number} has unreadable metadata",
    "not_this_notebook": ("no cell of {notebook} found: this is not the {assignment} notebook "
                          "(or its nbgrader metadata was removed)"),
    "zip_truncated": "{origin} cannot be read: it is truncated",
    "unreadable": "{origin} cannot be read: {error}",
    "too_large": "the file is larger than {mib} MiB",
    "no_notebook_in": "no {notebook} in {folder}",
    # Why a file under the submissions path is not a submission (submissions.py)
    "link_to_folder": "a link to a folder: not followed",
    "folders_too_deep": "too deep: folders more than {depth} levels down are not searched",
    "outside_zip": "its name points outside the zip",
    "zip_too_deep": "a zip inside {depth} zips is not opened",
    "zip_too_many": "a zip of more than {count} files is not opened",
    "zip_unreadable": "not a readable zip: {error}",
    "not_in_layout": "not {notebook}: in nbgrader's layout only {layout} is graded",
    "not_a_notebook": "not a notebook",
    "notebook_too_deep": "too deep: a notebook outside nbgrader's layout is graded at most 2 folders down ({layout})",
    "another_copy": "another copy of {student}'s notebook: {where} is graded",
    # A submission's message (results.json: output and extra_data.messages)
    "summary": "{score} / {max_score} points ({counts}).",
    "summary_count": "{count} {outcome}",
    "summary_provisional": " Provisional: some tests need a CUDA grading kernel and were not graded here.",
    "summary_manual": " The written answer waits for your instructor.",
    "not_graded": "Not graded: {reason}.",
    "grader_failed": ("The autograder could not grade this submission because of a problem on the grader's side, "
                      "not in your notebook. Your instructor has been told and will grade it."),
    "worker_killed": ("Not graded: the grading worker stopped every time this notebook ran (for example, it used "
                      "more memory than a worker has). Your instructor can see this and will grade it."),
    "merged_summary": ("{score} / {max_score} points. GPU tests graded later on {device}: {tests}; "
                       "the other tests were kept from the first run."),
    "merged_still_provisional": " Still provisional: {tests} could not be graded.",
    "a_cuda_kernel": "a CUDA kernel",
    "none": "none",
    # The feedback page
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
    "counts": "{counts}.",
    "manual_note": "Your written answer will be graded by your instructor.",
    # The class report
    "report_title": "Grading report: {title}",
    "report_recorded": "This run recorded its results into the course gradebook ({path}).",
    "report_trial": "Trial run: the course gradebook ({path}) was left unchanged.",
    "report_no_submissions": "No submissions.",
    "report_submissions": "{count} submissions: {parts}.",
    "report_one_submission": "1 submission: {parts}.",
    "report_scored": "{count} scored",
    "report_scored_split": "{count} scored ({graded} graded in full, {provisional} provisional)",
    "report_status_count": "{count} {status}",
    "report_status_graded": "graded",
    "report_status_provisional": "provisional",
    "report_status_invalid": "invalid",
    "report_status_error": "error",
    "report_needs_you": "Needs you",
    "report_nothing_needs_you": ("Nothing needs you: every submission is graded in full, no written answer waits "
                                 "for hand grading, none is flagged, and every file found was graded."),
    "report_manual": "Written answers to grade by hand in formgrader ({answers} in {count} submission(s)): {names}",
    "report_manual_trial": ("Written answers to grade by hand ({answers} in {count} submission(s)); formgrader shows "
                            "them once a run with --record has put them in the gradebook: {names}"),
    "report_provisional": "Provisional submissions ({count}): {names}",
    "report_finish_with": "; finish their GPU tests on a CUDA kernel with:",
    "report_need_cuda": "; their GPU tests need a CUDA grading kernel",
    "report_flagged": "Flagged submissions ({count}), see below: {names}",
    "report_broken": "Invalid and error submissions ({count}), not scored: {names}",
    "report_lowered": "Gradebook results this run lowered ({count}): {names}",
    "report_ignored": "Files in the submissions path that were not graded ({count}): {names}",
    "report_renamed": "Students whose id differs from their file's name ({count}): {names}",
    "report_and_more": ", … and {count} more",
    "report_from": "from",
    "report_summary": "Summary",
    "report_count_value": "count / value",
    "report_row_submissions": "submissions",
    "report_row_graded": "graded in full",
    "report_row_provisional": "provisional (GPU tests not graded yet)",
    "report_row_invalid": "invalid (could not be graded)",
    "report_row_error": "error (the grader failed)",
    "report_row_max": "max score",
    "report_row_mean": "mean score (graded + provisional)",
    "report_row_median": "median score (graded + provisional)",
    "report_row_kernel": "graded on {kernel}",
    "report_kernel": "Python {python}, torch {torch}, {device}",
    "report_no_kernel": "no kernel (not executed)",
    "report_plots": "Plots",
    "report_hist_title": "Scores (graded and provisional submissions)",
    "report_hist_x": "score (points)",
    "report_hist_y": "submissions",
    "report_hist_alt": "histogram of scores",
    "report_bars_title": "Outcome per test (share of submissions)",
    "report_bars_x": "share of submissions",
    "report_bars_alt": "outcomes per test",
    "report_no_data": "no data",
    "report_group_passed": "passed",
    "report_group_failed": "failed",
    "report_group_broken": "timeout / error",
    "report_group_missing": "missing",
    "report_group_later": "not graded yet",
    "report_flagged_title": "Flagged submissions ({count})",
    "report_none_flagged": "No submission was flagged.",
    "report_slowest_title": "Slowest submissions (top {count})",
    "report_broken_title": "Invalid and error submissions ({count})",
    "report_none": "None.",
    "report_all_title": "All grades",
    "report_col_student": "student",
    "report_col_student_link": "student (feedback)",
    "report_col_status": "status",
    "report_col_flags": "flags",
    "report_col_seconds": "execution time (s)",
    "report_col_summary": "summary",
    "report_col_score": "score",
    "report_col_max": "max",
    "report_col_passed": "tests passed",
    "report_col_time": "time (s)",
    "report_col_file": "file",
}

KO = {
    "answer_missing": "답을 쓰는 셀이 노트북에 없었어요.",
    "answer_empty": "답이 비어 있어요.",
    "answer_manual": "강사가 직접 채점해요.",
    "test_needs_gpu": "CUDA가 있는 채점 커널이 필요해요: 이 커널에서는 채점하지 않았어요.",
    "test_died": "이 테스트가 도는 동안 멈췄어요: {note}.",
    "test_not_run": "실행되지 않았어요: {note}.",
    "test_interrupted": "멈췄어요: {note}.",
    "test_stopped": "멈췄어요: {note}.",
    "test_error": "{error}",
    "test_error_traceback": "{error}\n\n{traceback}",
    "test_printed": "{text}",
    "hidden_failure": "{error}\n(숨겨진 테스트에서)",
    "hidden_failure_at": "{error}\n위치: {line}",
    "hidden_line": "[숨겨진 테스트의 한 줄]",
    "empty_cell": "셀이 비어 있었어요",
    "time_limit": "노트북 전체 제한 시간이 다 됐어요",
    "cell_interrupted": "{seconds}초를 넘겨서 interrupt됐어요",
    "stuck": "interrupt해도 멈추지 않았어요",
    "kernel_signal": "커널이 죽었어요 ({signal})",
    "kernel_exited": "커널이 종료됐어요 (exit code {exit_code})",
    "kernel_died": "커널이 죽었어요",
    "memory_limit": "커널이 memory를 {mib} MiB 넘게 써서 멈췄어요",
    "output_flood": "커널이 output을 {mib} MiB 넘게 보내서 멈췄어요",
    "malformed_message": "커널이 형식이 잘못된 메시지를 보내서 멈췄어요",
    "connection_broke": "커널과 채점기 사이 연결이 끊겨서 커널을 멈췄어요",
    "connection_broke_size": "커널과 채점기 사이 연결이 끊겨서 커널을 멈췄어요 ({mib} MiB 넘는 메시지는 받지 않아요)",
    "sandbox_gone": "이 제출물을 채점하는 동안 채점 sandbox가 멈췄어요",
    "restart_failed": "커널을 다시 시작해야 했는데, 원래 상태로 되돌리지 못했어요",
    "cell_named": "셀 {number} ('{grade_id}')",
    "cell_numbered": "셀 {number}",
    "notebook_time_limit": "노트북 전체 제한 시간({seconds}초)이 다 됐어요: 그 뒤 셀은 실행하지 않았어요",
    "died_while": "{cell}이 도는 동안 {note}: 그 뒤 셀은 실행하지 않았어요",
    "answer_stuck": "{cell}: 답 코드가 interrupt해도 멈추지 않았어요: 커널을 다시 시작하고 앞의 셀을 다시 실행했어요",
    "cell_stuck": ("{cell}이 {seconds}초를 넘겼고 interrupt해도 멈추지 않았어요: "
                   "커널을 다시 시작하고 앞의 셀을 다시 실행했어요"),
    "cell_ran_past": "{cell}이 {seconds}초를 넘겨서 interrupt했어요",
    "printed_too_much": "{cell}이 output을 너무 많이 찍었어요: {bytes} bytes는 버렸어요",
    "kind_test": "테스트 셀",
    "kind_read_only": "읽기 전용 셀",
    "kind_written": "서술형 답 셀",
    "cell_duplicated": "셀 '{grade_id}'이 두 번 이상 있어요: 나머지 복사본은 일반 코드로 채점했어요",
    "metadata_unreadable": "nbgrader metadata를 읽을 수 없는 셀이 있었어요: 일반 코드로 채점했어요",
    "cell_unknown": "어떤 셀이 {assignment}에 없는 nbgrader 셀 '{grade_id}'이라고 되어 있어요: 일반 코드로 채점했어요",
    "settings_changed": "셀 '{grade_id}'의 nbgrader 설정이 바뀌어 있었어요 ({changes}): 원본으로 되돌렸어요",
    "setting_changed": "{key} {old} → {new}",
    "cell_type_changed": "셀 종류 {old} → {new}",
    "locked_edited": "{kind} '{grade_id}'이 수정되어 있었어요: 원본으로 되돌렸어요",
    "answer_cell_missing": "답 셀 '{grade_id}'이 노트북에 없어요",
    "cell_put_back": "{kind} '{grade_id}'이 없어서 원본에서 다시 넣었어요",
    "wrong_kernel": "노트북에 적힌 커널은 {name}이고 {wanted}가 아니에요: 과정의 채점 커널로 채점했어요",
    "duplicate_ids": "셀 id가 겹쳤어요 ({ids}): 새 id를 붙였어요",
    "schema_invalid": "노트북이 nbformat schema를 따르지 않아요 ({error}): 그래도 채점했어요",
    "id_collision": "다른 제출물도 학생 id '{base}'로 이어져요: 이 제출물은 '{student_id}'로 채점했어요",
    "id_reserved": "학생 id '{base}'는 반 전체 결과 파일 이름이라서, 이 제출물은 '{student_id}'로 채점했어요",
    "grader_error_flag": "채점기 에러 ({kind}): traceback은 grades.csv 옆 autograder.log에 있어요",
    "worker_killed_flag": "돌릴 때마다 Dask worker가 죽었어요: {error}",
    "gpu_run_failed": "GPU 채점에서 이 제출물을 채점하지 못했어요: {reason}",
    "file_empty": "파일이 비어 있어요",
    "not_utf8": "텍스트(UTF-8) 파일이 아니라서 노트북이 아니에요",
    "not_json": "올바른 JSON이 아니에요: 노트북이 손상됐거나 잘렸어요",
    "not_json_at": "올바른 JSON이 아니에요 ({line}번째 줄, {column}번째 칸): 노트북이 손상됐거나 잘렸어요",
    "nbformat_error": "nbformat이 노트북으로 읽지 못했어요: {error}",
    "not_notebook_json": "JSON 파일이지만 Jupyter 노트북이 아니에요",
    "nbformat_version": "nbformat {version}은 지원하지 않아요 (4여야 해요)",
    "no_cells": "노트북에 셀 목록이 없어요",
    "not_a_cell": "{number}번째 셀이 노트북 셀 형식이 아니에요",
    "no_source": "{number}번째 셀의 source를 읽을 수 없어요",
    "bad_metadata": "{number}번째 셀의 metadata를 읽을 수 없어요",
    "not_this_notebook": ("{notebook}의 셀을 하나도 찾지 못했어요: {assignment} 노트북이 아니에요 "
                          "(또는 nbgrader metadata가 지워졌어요)"),
    "zip_truncated": "{origin}을 읽을 수 없어요: 파일이 잘렸어요",
    "unreadable": "{origin}을 읽을 수 없어요: {error}",
    "too_large": "파일이 {mib} MiB보다 커요",
    "no_notebook_in": "{folder}에 {notebook}이 없어요",
    "link_to_folder": "폴더를 가리키는 링크라서 따라가지 않았어요",
    "folders_too_deep": "너무 깊어요: {depth}단계보다 아래 폴더는 찾지 않아요",
    "outside_zip": "이름이 zip 바깥을 가리켜요",
    "zip_too_deep": "zip {depth}개 안에 든 zip은 열지 않아요",
    "zip_too_many": "파일이 {count}개 넘게 든 zip은 열지 않아요",
    "zip_unreadable": "읽을 수 있는 zip이 아니에요: {error}",
    "not_in_layout": "{notebook}이 아니에요: nbgrader 구조에서는 {layout}만 채점해요",
    "not_a_notebook": "노트북이 아니에요",
    "notebook_too_deep": "너무 깊어요: nbgrader 구조 밖의 노트북은 2단계 폴더({layout})까지만 채점해요",
    "another_copy": "{student}의 노트북이 하나 더 있어요: {where}을 채점했어요",
    "summary": "{max_score}점 중 {score}점 ({counts}).",
    "summary_count": "{outcome} {count}개",
    "summary_provisional": " 임시 점수: 일부 테스트는 CUDA 채점 커널이 필요해서 여기서는 채점하지 않았어요.",
    "summary_manual": " 서술형 답은 강사가 채점할 거예요.",
    "not_graded": "채점하지 못했어요: {reason}.",
    "grader_failed": ("노트북 문제가 아니라 채점기 쪽 문제로 이 제출물을 채점하지 못했어요. "
                      "강사에게 이미 알렸고, 강사가 직접 채점할 거예요."),
    "worker_killed": ("채점하지 못했어요: 이 노트북을 돌릴 때마다 채점 worker가 멈췄어요 (예: worker가 가진 것보다 "
                      "memory를 많이 썼을 때). 강사도 이걸 볼 수 있고, 직접 확인해서 채점할 거예요."),
    "merged_summary": ("{max_score}점 중 {score}점. GPU 테스트는 나중에 {device}에서 채점했어요: {tests}. "
                       "나머지 테스트는 첫 채점 결과를 그대로 썼어요."),
    "merged_still_provisional": " 아직 임시 점수예요: {tests}은 채점하지 못했어요.",
    "a_cuda_kernel": "CUDA 커널",
    "none": "없음",
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
    "counts": "{counts}.",
    "manual_note": "글로 쓴 답은 강사가 직접 채점할 거예요.",
    "report_title": "채점 리포트: {title}",
    "report_recorded": "이번 채점 결과를 과정 gradebook({path})에 기록했어요.",
    "report_trial": "시험 채점이에요: 과정 gradebook({path})은 그대로 뒀어요.",
    "report_no_submissions": "제출물이 없어요.",
    "report_submissions": "제출물 {count}개: {parts}.",
    "report_one_submission": "제출물 1개: {parts}.",
    "report_scored": "점수 나옴 {count}개",
    "report_scored_split": "점수 나옴 {count}개 (채점 완료 {graded}개, 임시 점수 {provisional}개)",
    "report_status_count": "{status} {count}개",
    "report_status_graded": "채점 완료",
    "report_status_provisional": "임시 점수",
    "report_status_invalid": "채점 불가",
    "report_status_error": "채점기 에러",
    "report_needs_you": "확인이 필요한 것",
    "report_nothing_needs_you": ("확인할 게 없어요: 모든 제출물이 다 채점됐고, 손으로 채점할 서술형 답도, "
                                 "표시된 제출물도 없고, 찾은 파일은 모두 채점했어요."),
    "report_manual": "formgrader에서 손으로 채점할 서술형 답 (제출물 {count}개에 {answers}개): {names}",
    "report_manual_trial": ("손으로 채점할 서술형 답 (제출물 {count}개에 {answers}개): --record로 채점해서 gradebook에 "
                            "넣으면 formgrader에 나와요: {names}"),
    "report_provisional": "임시 점수인 제출물 ({count}개): {names}",
    "report_finish_with": "; GPU 테스트는 CUDA 커널에서 이렇게 마저 채점해요:",
    "report_need_cuda": "; GPU 테스트는 CUDA 채점 커널이 있어야 채점돼요",
    "report_flagged": "표시된 제출물 ({count}개), 아래를 보세요: {names}",
    "report_broken": "점수가 안 나온 invalid·error 제출물 ({count}개): {names}",
    "report_lowered": "이번 채점으로 gradebook 점수가 내려간 제출물 ({count}개): {names}",
    "report_ignored": "제출 경로에서 채점하지 않은 파일 ({count}개): {names}",
    "report_renamed": "학생 id가 파일 이름과 다른 학생 ({count}명): {names}",
    "report_and_more": ", … 외 {count}개 더",
    "report_from": "원래 파일:",
    "report_summary": "요약",
    "report_count_value": "개수 / 값",
    "report_row_submissions": "제출물",
    "report_row_graded": "채점 완료",
    "report_row_provisional": "임시 점수 (GPU 테스트 아직 채점 전)",
    "report_row_invalid": "invalid (채점할 수 없었음)",
    "report_row_error": "error (채점기 문제)",
    "report_row_max": "만점",
    "report_row_mean": "평균 점수 (채점 완료 + 임시 점수)",
    "report_row_median": "중앙값 (채점 완료 + 임시 점수)",
    "report_row_kernel": "채점 환경: {kernel}",
    "report_kernel": "Python {python}, torch {torch}, {device}",
    "report_no_kernel": "커널 없음 (실행 안 함)",
    "report_plots": "그래프",
    "report_hist_title": "점수 분포 (채점 완료 + 임시 점수)",
    "report_hist_x": "점수",
    "report_hist_y": "제출물 수",
    "report_hist_alt": "점수 히스토그램",
    "report_bars_title": "테스트별 결과 (제출물 비율)",
    "report_bars_x": "제출물 비율",
    "report_bars_alt": "테스트별 결과",
    "report_no_data": "데이터 없음",
    "report_group_passed": "통과",
    "report_group_failed": "실패",
    "report_group_broken": "시간 초과 / 실행 못 함",
    "report_group_missing": "없음",
    "report_group_later": "아직 채점 전",
    "report_flagged_title": "표시된 제출물 ({count}개)",
    "report_none_flagged": "표시된 제출물이 없어요.",
    "report_slowest_title": "가장 오래 걸린 제출물 (상위 {count}개)",
    "report_broken_title": "invalid·error 제출물 ({count}개)",
    "report_none": "없어요.",
    "report_all_title": "전체 점수",
    "report_col_student": "학생",
    "report_col_student_link": "학생 (피드백)",
    "report_col_status": "상태",
    "report_col_flags": "표시",
    "report_col_seconds": "실행 시간 (초)",
    "report_col_summary": "요약",
    "report_col_score": "점수",
    "report_col_max": "만점",
    "report_col_passed": "통과한 테스트",
    "report_col_time": "시간 (초)",
    "report_col_file": "파일",
}

MESSAGES = {"en": EN, "ko": KO}
LANGUAGES = tuple(MESSAGES)

# A test's message that only repeats what its outcome's words already say: a page leaves it out.
SAID_BY_OUTCOME = ("answer_missing", "answer_manual", "test_needs_gpu")


def check_language(language: str) -> str:
    if language not in MESSAGES:
        raise ValueError(f"feedback language {language!r} is not one of {', '.join(LANGUAGES)}")
    return language


def field_names(code: str) -> set:
    """The fields the sentence `code` is made with (the same in every language)."""
    return {name for _, name, _, _ in string.Formatter().parse(EN[code]) if name}


@dataclass(frozen=True, eq=True)
class Message:
    """A reason code and the values its sentence is made with: data, until `text()` makes a sentence."""
    code: str
    fields: dict = field(default_factory=dict, hash=False)

    def text(self, language: str = RESULTS_LANGUAGE) -> str:
        template = MESSAGES[check_language(language)][self.code]
        values = {name: _render(value, language) for name, value in self.fields.items()}
        return template.format(**values)

    def __str__(self) -> str:  # the console's and the log's sentence
        return self.text()

    def to_dict(self) -> dict:
        return {"code": self.code, "fields": {name: _as_data(value) for name, value in self.fields.items()}}

    @classmethod
    def from_dict(cls, data) -> "Message | None":
        """The Message a results dict holds, or None when `data` is not one (an older results.json,
        a hand-edited one): the caller then shows the rendered text instead."""
        if not isinstance(data, dict) or data.get("code") not in EN or not isinstance(data.get("fields", {}), dict):
            return None
        fields = {}
        for name, value in data.get("fields", {}).items():
            value = _from_data(value)
            if value is None:
                return None
            fields[name] = value
        return cls(data["code"], fields) if set(fields) == field_names(data["code"]) else None


def say(code: str, **fields) -> Message:
    """The Message `code` with `fields`; a code or field the table doesn't know is the grader's bug."""
    if code not in EN or set(fields) != field_names(code):
        raise ValueError(f"message {code!r} takes fields {sorted(field_names(code)) if code in EN else '?'}, "
                         f"not {sorted(fields)}")
    return Message(code, fields)


def text(language: str, code: str, **fields) -> str:
    """The sentence `code` in `language`, `fields` filled in."""
    return say(code, **fields).text(language)


def _render(value, language: str):
    if isinstance(value, Message):
        return value.text(language)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_render(item, language)) for item in value)
    return value


def _as_data(value):
    if isinstance(value, Message):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_as_data(item) for item in value]
    return value


def _from_data(value):
    if isinstance(value, dict):
        return Message.from_dict(value)
    if isinstance(value, list):
        items = [_from_data(item) for item in value]
        return None if any(item is None for item in items) else items
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return value
