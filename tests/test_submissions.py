"""submissions.py: the three layouts, as folders and as zips, ids, size caps, hostile zips."""
import zipfile

import pytest

from autograder.load import InvalidSubmission
from autograder.submissions import SubmissionsError, discover, safe_id

NB = b'{"nbformat": 4}'


def make(root, files):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def zipped(tmp_path, files, name="subs.zip"):
    path = tmp_path / name
    with zipfile.ZipFile(path, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, data)
    return path


LAYOUTS = {
    "nbgrader": {"ann/lesson08/lesson08.ipynb": b"A", "ben/lesson08/lesson08.ipynb": b"B",
                 "ben/lesson08/data.csv": b"x", "ann/lesson08/.ipynb_checkpoints/lesson08-checkpoint.ipynb": b"old"},
    "flat": {"ann.ipynb": b"A", "ben.ipynb": b"B", "__MACOSX/._ann.ipynb": b"junk", ".DS_Store": b"x"},
    "per-student folders": {"ann/lesson08.ipynb": b"A", "ben/lesson08.ipynb": b"B"},
    "wrapped flat": {"bulk download/ann.ipynb": b"A", "bulk download/ben.ipynb": b"B"},
    "wrapped nbgrader": {"submitted/ann/lesson08/lesson08.ipynb": b"A", "submitted/ben/lesson08/lesson08.ipynb": b"B"},
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_each_layout_finds_each_student_once(tmp_path, layout, as_zip):
    files = LAYOUTS[layout]
    path = zipped(tmp_path, files) if as_zip else make(tmp_path / "subs", files)
    subs = discover(path, "lesson08")
    assert [s.student_id for s in subs] == ["ann", "ben"]
    assert [s.read() for s in subs] == [b"A", b"B"]


def test_a_student_folder_without_the_notebook_is_an_invalid_submission(tmp_path):
    path = make(tmp_path, {"ann/lesson08/lesson08.ipynb": NB, "ben/lesson08/notes.txt": b"x"})
    ben = discover(path, "lesson08")[1]
    assert ben.student_id == "ben"
    with pytest.raises(InvalidSubmission, match="no lesson08.ipynb"):
        ben.read()


def test_zip_members_cannot_escape_and_oversized_ones_are_invalid(tmp_path):
    path = zipped(tmp_path, {"../evil.ipynb": NB, "/abs/evil2.ipynb": NB, "ann.ipynb": NB,
                             "big.ipynb": b"x" * 2048})
    subs = {s.student_id: s for s in discover(path, "lesson08")}
    assert set(subs) == {"ann", "big"}
    assert not (tmp_path.parent / "evil.ipynb").exists()
    with pytest.raises(InvalidSubmission, match="larger than"):
        subs["big"].read(limit=1024)
    assert subs["ann"].read(limit=1024) == NB


def test_ids_are_safe_folder_names_and_collisions_are_flagged(tmp_path):
    path = make(tmp_path, {"김철수.ipynb": NB, "a b.ipynb": NB, "a_b.ipynb": NB, "..ipynb": NB})
    subs = discover(path, "lesson08")
    ids = [s.student_id for s in subs]
    assert "김철수" in ids and len(set(ids)) == len(ids) == 3  # ..ipynb is a hidden file
    assert all("/" not in i and not i.startswith(".") for i in ids)
    assert sum(s.note is not None for s in subs) == 1
    assert safe_id("../../etc/passwd") == "etc_passwd"


def test_unusable_paths_stop_the_run(tmp_path):
    with pytest.raises(SubmissionsError):
        discover(tmp_path / "nope", "lesson08")
    (tmp_path / "bad.zip").write_bytes(b"PK\x03\x04 not really")
    with pytest.raises(SubmissionsError):
        discover(tmp_path / "bad.zip", "lesson08")
