"""Small pieces of the autograder that need no kernel: the answer names, output budget, progress,
results and grades.csv, atomic writes."""
import csv
import io

from autograder import results as R
from autograder.batch import grades_csv
from autograder.cli import grade_table
from autograder.files import remove_partials, write_atomic
from autograder.assignment import bound_names
from autograder.messages import say
from autograder.views.progress import Progress
from autograder.engine.session import Outputs


def test_answer_names_are_what_the_source_answer_cells_define(ag_assignment):
    assert ag_assignment.answer_names == ("numpy_error", "numpy_to_tensor_copy", "numpy_to_tensor_shared",
                                          "predict_numpy", "shares_memory", "to_numpy")


def test_bound_names_are_what_a_setup_cell_defines():
    source = "import numpy as np\nimport torch\nfrom torch import nn\nimport os.path\nx = 1\n" \
             "def helper():\n    inner = 2\nclass K: pass\nfor i in range(3): pass"
    assert bound_names(source) == ("K", "helper", "nn", "np", "os", "torch", "x")
    assert bound_names("this is ( not python") == ()


def stream(text, name="stdout"):
    return {"msg_type": "stream", "content": {"name": name, "text": text}, "header": {"msg_type": "stream"}}


def test_outputs_are_coalesced_and_cut_at_the_budget_but_errors_are_kept():
    outputs = Outputs(cell_budget=100, notebook_left=10_000)
    for _ in range(50):
        outputs.add(stream("0123456789"))
    outputs.add({"msg_type": "error", "header": {"msg_type": "error"},
                 "content": {"ename": "E", "evalue": "v", "traceback": ["line"] * 500}})
    items = outputs.finish()
    assert items[0].text.startswith("0123456789" * 10) and len(items[0].text) == 100
    assert items[1].output_type == "error" and len(items[1].traceback) <= 60
    assert "output truncated: 400 more bytes" in items[2].text
    assert outputs.used == 100


def test_progress_redraws_a_bar_on_a_terminal_and_prints_lines_otherwise():
    class Terminal(io.StringIO):
        def isatty(self):
            return True
    result = {"score": 3, "extra_data": {"max_score": 4, "status": "graded"}}
    tty, plain = Terminal(), io.StringIO()
    for out in (tty, plain):
        progress = Progress(2, out)
        for student in ("ann", "ben"):
            progress.start(student)
            progress.done(student, result, reused=student == "ben")
        progress.finish()
    assert "\r" in tty.getvalue() and "[###############...............] 1/2" in tty.getvalue()
    assert plain.getvalue().splitlines()[:2] == ["[1/2] ann: 3/4 graded", "[2/2] ben: 3/4 graded (kept from an earlier run)"]


def test_results_follow_gradescope_and_grades_csv_has_one_row_each():
    result = R.Result("ann", "lesson08", R.GRADED, max_score=3.0)
    long = say("test_stopped", note=say("memory_limit", mib="x" * 10_000))
    result.tests = [R.TestResult("t_basic", 1.0, 1.0, R.PASSED), R.TestResult("t_more", 0.0, 2.0, R.TIMEOUT, long, True)]
    result.flag(say("answer_cell_missing", grade_id="a"))
    result.flag(say("answer_cell_missing", grade_id="a"))
    data = result.to_dict()
    flag = "answer cell 'a' is missing from the notebook"
    assert data["score"] == 1.0 and data["extra_data"]["flags"] == [flag]
    assert data["extra_data"]["flag_messages"] == [{"code": "answer_cell_missing", "fields": {"grade_id": "a"}}]
    assert [t["status"] for t in data["tests"]] == ["passed", "failed"]
    assert data["tests"][1]["extra_data"] == {"outcome": "timeout", "hidden": True, "fully_hidden": False,
                                              "message": long.to_dict()}
    assert len(data["tests"][1]["output"]) < 4_100
    assert R.Result.from_dict(data) == result  # an earlier run's results.json reads back as it was
    invalid = R.Result("ben", "lesson08", R.INVALID, max_score=3.0).to_dict()
    text = grades_csv({"ben": invalid, "ann": data})
    assert text.splitlines() == ["\ufeffstudent_id,score,max_score,status,flags", f"ann,1,3,graded,{flag}",
                                 "ben,0,3,invalid,"]
    assert grade_table({"ann": data}).splitlines()[1].split() == ["ann", "1", "3", "graded", "1"]


def test_grades_csv_opens_in_excel_and_writes_every_number_alike(tmp_path):
    def row(student, score, max_score):
        return {"score": score, "extra_data": {"student_id": student, "max_score": max_score, "status": "graded",
                                               "flags": ["참고: 플래그"]}}
    everyone = {"김민수": row("김민수", 27.5, 28.0), "ann": row("ann", 28.0, 28), "ben": row("ben", 1 / 3, 28.0),
                "cy": row("cy", -0.0, 28.0)}
    write_atomic(tmp_path / "grades.csv", grades_csv(everyone))
    data = (tmp_path / "grades.csv").read_bytes()
    assert data.startswith(b"\xef\xbb\xbfstudent_id,") and "김민수".encode() in data
    with open(tmp_path / "grades.csv", newline="", encoding="utf-8-sig") as handle:
        rows = {r["student_id"]: (r["score"], r["max_score"]) for r in csv.DictReader(handle)}
    assert rows == {"ann": ("28", "28"), "ben": ("0.3333", "28"), "cy": ("0", "28"), "김민수": ("27.5", "28")}


def test_atomic_writes_leave_no_partial_files(tmp_path):
    write_atomic(tmp_path / "a.json", "{}")
    (tmp_path / ".a.json.x.partial").write_text("half")
    remove_partials(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["a.json"]


def test_the_samples_are_current_with_the_release():
    import importlib.util
    from course import ROOT
    spec = importlib.util.spec_from_file_location("make_samples", ROOT / "samples" / "make_samples.py")
    make_samples = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(make_samples)
    assert make_samples.main(["--check"]) == 0, "run: python samples/make_samples.py"
