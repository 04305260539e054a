"""`python -m autograder grade` on class folders of its own (the samples' shared run is
test_batch.py's): a run that cannot start, a trial run beside recording ones, a mixed folder."""
import zipfile

import pytest
from nbgrader.api import Gradebook

from autograder_fixtures import SAMPLES, grade_samples_way, submission
from course import COURSE_ID, copy_course

pytestmark = pytest.mark.slow


def test_a_run_that_cannot_start_exits_non_zero(ag_course, tmp_path):
    root = ag_course[0]
    missing = grade_samples_way(root, tmp_path / "nowhere", tmp_path / "out")
    assert missing.returncode == 2 and "does not exist" in missing.stderr
    (tmp_path / "empty").mkdir()
    empty = grade_samples_way(root, tmp_path / "empty", tmp_path / "out")
    assert empty.returncode == 1 and "no lesson08.ipynb submissions" in empty.stderr
    no_kernel = grade_samples_way(root, SAMPLES, tmp_path / "out", "--kernel", "no-such-kernel")
    assert no_kernel.returncode == 1 and "no-such-kernel" in no_kernel.stderr


def test_only_a_recording_run_changes_the_gradebook_and_a_lowered_result_is_told(ag_answers, tmp_path):
    root = copy_course(tmp_path / "course")
    folder = tmp_path / "class"
    folder.mkdir()
    (folder / "ana.ipynb").write_bytes(submission())
    recorded = grade_samples_way(root, folder, tmp_path / "official", "--record")
    assert recorded.returncode == 0, recorded.stderr
    assert recorded.stderr.startswith("recording: results go to")

    def in_gradebook():
        with Gradebook(f"sqlite:///{root / 'gradebook.db'}", COURSE_ID) as gb:
            return {s.student.id: s.score for s in gb.assignment_submissions("lesson08")}
    before = in_gradebook()
    assert before["ana"] > 0
    trial = grade_samples_way(root, folder, tmp_path / "trial", "--cell-timeout", "1", "--notebook-timeout", "1")
    assert trial.returncode == 0, trial.stderr
    assert trial.stderr.startswith("trial run: results go to") and "--record" in trial.stderr.splitlines()[0]
    assert in_gradebook() == before, "a trial run leaves the gradebook as it was"
    (folder / "ana.ipynb").write_bytes(submission(to_numpy="def to_numpy(tensor):\n    return tensor.numpy()"))
    lowered = grade_samples_way(root, folder, tmp_path / "official", "--record")
    assert lowered.returncode == 0, lowered.stderr
    assert in_gradebook()["ana"] < before["ana"]
    assert f"ana: the gradebook held {before['ana']:g} automatic points; this run recorded" in lowered.stderr


def test_every_file_of_a_mixed_folder_is_graded_or_listed_with_a_reason(tmp_path):
    folder = tmp_path / "class"
    (folder / "kim").mkdir(parents=True)
    (folder / "alice.ipynb").write_bytes(submission())
    (folder / "김 민수.ipynb").write_bytes(submission())
    (folder / "README.txt").write_text("instructions")
    (folder / "kim" / "lesson08 (1).ipynb").write_bytes(submission())
    with zipfile.ZipFile(folder / "late.zip", "w") as late:
        late.writestr("gina.ipynb", submission())
    out = tmp_path / "out"
    done = grade_samples_way(copy_course(tmp_path / "course"), folder, out, "--workers", "1")  # one warm parent
    assert done.returncode == 0, done.stderr
    assert {p.parent.name for p in out.glob("*/results.json")} == {"alice", "김_민수", "kim", "gina"}
    assert f"not graded: {folder / 'README.txt'}: not a notebook" in done.stderr
    assert "student id '김_민수' comes from" in done.stderr and "김 민수.ipynb" in done.stderr
    report = (out / "report.html").read_text()
    assert "README.txt" in report and "노트북이 아니야" in report  # the course's language
