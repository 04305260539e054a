"""submissions.py: the three layouts, as folders and as zips, ids, size caps, hostile zips."""
import json
import os
import struct
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
    # an LMS download of lesson08.zip: a folder named after the assignment is a wrapper, not nbgrader's
    "flat in a lesson08 folder": {"lesson08/ann.ipynb": b"A", "lesson08/ben.ipynb": b"B"},
    "per-student folders in a lesson08 folder": {"lesson08/ann/lesson08.ipynb": b"A", "lesson08/ben/lesson08.ipynb": b"B"},
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


def test_a_path_named_after_the_assignment_holding_a_lesson08_wrapper(tmp_path):
    files = {"lesson08/ann.ipynb": b"A", "lesson08/ben.ipynb": b"B"}
    for path in (make(tmp_path / "lesson08", files), zipped(tmp_path, files, "lesson08.zip")):
        assert [s.student_id for s in discover(path, "lesson08")] == ["ann", "ben"]


@pytest.mark.parametrize("damage", ["deflate data", "truncated", "crc"])
def test_a_damaged_zip_member_is_that_students_invalid_submission(tmp_path, damage):
    path = tmp_path / "subs.zip"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("ann.ipynb", NB)
        method = zipfile.ZIP_DEFLATED if damage == "deflate data" else zipfile.ZIP_STORED
        archive.writestr("bob.ipynb", NB * 50, method)
        bob = archive.getinfo("bob.ipynb")
    data = bytearray(path.read_bytes())
    start = bob.header_offset + 30 + len(bob.filename)  # writestr adds no extra field
    central = data.rindex(b"PK\x01\x02")  # bob's entry in the central directory: the last one
    if damage == "truncated":  # sizes beyond the end of the file: EOFError
        data[central + 20:central + 28] = struct.pack("<II", 10**6, 10**6)
    else:  # zlib.error for deflate, a bad CRC for stored data
        data[start] ^= 0xFF
    path.write_bytes(data)
    ann, bob = discover(path, "lesson08")
    assert ann.read() == NB
    with pytest.raises(InvalidSubmission, match=r"subs\.zip!bob\.ipynb cannot be read"):
        bob.read()


def test_undecodable_file_names_give_utf8_ids_and_origins(tmp_path):
    names = [b"b\xffob.ipynb", b"b\xfeob.ipynb", b"\xffcarl/lesson08/notes.txt"]
    try:
        for name in names:
            make(tmp_path / "subs", {os.fsdecode(name): NB})
    except (OSError, UnicodeError):
        pytest.skip("this filesystem only takes valid UTF-8 names")
    subs = discover(tmp_path / "subs", "lesson08")
    ids = [s.student_id for s in subs]
    assert len(set(ids)) == 3 and all(safe_id(i) == i for i in ids)
    for sub in subs:
        json.dumps([sub.student_id, sub.origin], ensure_ascii=False).encode("utf-8")
        try:
            assert sub.read() == NB
        except InvalidSubmission as problem:
            str(problem).encode("utf-8")
    assert "b\\xffob.ipynb" in " ".join(s.origin for s in subs)
    zip_path = zipped(tmp_path, {"bé.ipynb": NB, "ann.ipynb": NB})  # é sets the zip's UTF-8 name flag
    zip_path.write_bytes(zip_path.read_bytes().replace("bé".encode(), b"b\xff\xff"))
    with pytest.raises(SubmissionsError, match="not a readable zip"):
        discover(zip_path, "lesson08")


def test_ids_never_take_the_names_of_the_class_outputs(tmp_path):
    path = make(tmp_path, {"grades.csv.ipynb": NB, "report.html.ipynb": NB, "REPORT.HTML.ipynb": NB,
                           "_.autograder.lock.ipynb": NB, "ann.ipynb": NB})
    subs = {s.student_id: s for s in discover(path, "lesson08")}
    assert not {i.lower() for i in subs} & {"grades.csv", "report.html"}
    assert not any(i.startswith(".") for i in subs)
    assert {"grades.csv-2", "report.html-2", "ann"} <= set(subs)
    assert "output" in subs["grades.csv-2"].note and subs["ann"].note is None
