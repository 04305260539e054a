"""submissions.py: the three layouts, as folders and as zips, ids, size caps, hostile zips, nested and legacy
zips, copies in per-student folders, and survey() accounting for every file."""
import io
import json
import os
import struct
import zipfile

import pytest

from autograder.load import InvalidSubmission
from autograder import submissions
from autograder.submissions import Ignored, SubmissionsError, discover, safe_id, survey
from autograder.messages import say

NB = b'{"nbformat": 4}'


def make(root, files):
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    return root


def zipped(tmp_path, files, name="subs.zip"):
    path = tmp_path / name
    path.write_bytes(zip_bytes(files))
    return path


def zip_bytes(files):
    """A zip of FILES; a dict value is itself zipped (a zip in the zip)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for member, data in files.items():
            archive.writestr(member, zip_bytes(data) if isinstance(data, dict) else data)
    return buffer.getvalue()


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
    assert subs["grades.csv-2"].note.code == "id_reserved" and subs["ann"].note is None


def test_survey_of_a_mixed_folder_opens_the_zip_and_gives_a_reason_for_the_rest(tmp_path):
    path = make(tmp_path / "subs", {"alice.ipynb": b"A", "김 민수.ipynb": b"K", "README.txt": b"read me",
                                    ".DS_Store": b"x", "late.zip": zip_bytes({"gina.ipynb": b"G",
                                                                              "__MACOSX/._gina.ipynb": b"x"})})
    found = survey(path, "lesson08")
    assert [s.student_id for s in found.submissions] == ["alice", "gina", "김_민수"]
    assert [s.raw_id for s in found.submissions] == ["alice", "gina", "김 민수"]
    assert [s.read() for s in found.submissions] == [b"A", b"G", b"K"]
    gina = found.submissions[1]
    assert gina.origin == str(path / "late.zip") + "!gina.ipynb"
    assert (gina.path, gina.chain, gina.member) == (str(path / "late.zip"), (), "gina.ipynb")
    assert found.ignored == [Ignored(str(path / "README.txt"), say("not_a_notebook"))]  # hidden files: silently skipped
    assert discover(path, "lesson08") == found.submissions


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_zips_in_zips_are_read_to_a_depth_cap(tmp_path, as_zip):
    deepest = {"z.ipynb": b"Z"}
    inner = {"x.ipynb": b"X", "deeper.zip": {"y.ipynb": b"Y", "deepest.zip": deepest}}
    outer = zipped(tmp_path, {"ann.ipynb": b"A", "inner.zip": inner}, "outer.zip")
    path = outer if as_zip else make(tmp_path / "subs", {"outer.zip": outer.read_bytes()})
    found = survey(path, "lesson08")
    zip_path = str(outer if as_zip else path / "outer.zip")
    subs = {s.student_id: s for s in found.submissions}
    assert sorted(subs) == ["ann", "x", "y"]
    assert subs["x"].origin == f"{zip_path}!inner.zip!x.ipynb"
    assert (subs["x"].path, subs["x"].chain, subs["x"].member) == (zip_path, ("inner.zip",), "x.ipynb")
    assert subs["y"].chain == ("inner.zip", "deeper.zip")
    assert [s.read() for s in found.submissions] == [b"A", b"X", b"Y"]
    assert found.ignored == [Ignored(f"{zip_path}!inner.zip!deeper.zip!deepest.zip", say("zip_too_deep", depth=2))]


def test_legacy_zip_names_are_read_as_utf8_then_cp949(tmp_path):
    names = {"김민수": "cp949", "박지성": "utf-8", "café": "cp437"}  # as tools write them, with no UTF-8 flag
    placeholders = {name: str(i).rjust(len(name.encode(code)), "Q") for i, (name, code) in enumerate(names.items())}
    path = zipped(tmp_path, {f"{placeholders[name]}.ipynb": name.encode() for name in names})
    data = path.read_bytes()
    for name, encoding in names.items():
        assert data.count(placeholders[name].encode()) == 2  # the local header and the central directory
        data = data.replace(placeholders[name].encode(), name.encode(encoding))
    path.write_bytes(data)
    assert "김민수.ipynb".encode("cp949") in path.read_bytes()
    with zipfile.ZipFile(path) as archive:  # what zipfile itself makes of them
        assert not any(info.flag_bits & 0x800 for info in archive.infolist())
        assert "김민수.ipynb".encode("cp949").decode("cp437") in archive.namelist()
    subs = discover(path, "lesson08")
    assert sorted(s.student_id for s in subs) == sorted(names)
    assert {s.student_id: s.read() for s in subs} == {name: name.encode() for name in names}
    assert f"{path}!김민수.ipynb" in [s.origin for s in subs]
    assert {s.member for s in subs} == set(archive.namelist())  # read as zipfile names them


COPIES = {"kim/lesson08 (1).ipynb": b"K", "lee/Lesson08.ipynb": b"L",
          "park/lesson08 (2).ipynb": b"old", "park/lesson08.ipynb": b"P",
          "choi/Lesson08 - Copy.ipynb": b"old", "choi/lesson08 (1).ipynb": b"old", "choi/lesson08(3).ipynb": b"C",
          "choi/lesson08 copy.ipynb": b"old",
          "lesson08 (1).ipynb": b"T"}  # at the top of a flat folder: a student named so, as before


@pytest.mark.parametrize("as_zip", [False, True], ids=["folder", "zip"])
def test_copies_and_case_in_per_student_folders_count_for_the_student(tmp_path, as_zip):
    path = zipped(tmp_path, COPIES) if as_zip else make(tmp_path / "subs", COPIES)
    found = survey(path, "lesson08")
    subs = {s.student_id: s for s in found.submissions}
    assert sorted(subs) == ["choi", "kim", "lee", "lesson08_1", "park"]
    assert {i: s.read() for i, s in subs.items()} == {"choi": b"C", "kim": b"K", "lee": b"L", "park": b"P",
                                                       "lesson08_1": b"T"}
    assert subs["kim"].raw_id == "kim" and subs["lesson08_1"].raw_id == "lesson08 (1)"
    reasons = {i.origin.removeprefix(str(path) + ("!" if as_zip else os.sep)): str(i.reason) for i in found.ignored}
    choi = "another copy of choi's notebook: choi/lesson08(3).ipynb is graded"
    assert reasons == {"choi/Lesson08 - Copy.ipynb": choi, "choi/lesson08 (1).ipynb": choi,
                       "choi/lesson08 copy.ipynb": choi,
                       "park/lesson08 (2).ipynb": "another copy of park's notebook: park/lesson08.ipynb is graded"}


def test_a_zip_at_the_top_holding_the_notebook_is_named_after_the_zip(tmp_path):
    path = make(tmp_path, {"kim.zip": zip_bytes({"lesson08.ipynb": b"K"}),
                           "lee/upload.zip": zip_bytes({"Lesson08 (1).ipynb": b"L"})})
    assert {s.student_id: s.read() for s in discover(path, "lesson08")} == {"kim": b"K", "lee": b"L"}


def test_a_corrupt_or_oversized_inner_zip_is_ignored_with_the_reason(tmp_path, monkeypatch):
    monkeypatch.setattr(submissions, "MAX_ZIP_BYTES", 1000)
    late = {"bad.zip": b"junk", "big.zip": {"x.ipynb": os.urandom(2000)}, "bob.ipynb": b"B"}
    path = make(tmp_path / "subs", {"ann.ipynb": b"A", "broken.zip": b"PK\x03\x04 not really",
                                    "late.zip": zip_bytes(late)})
    found = survey(path, "lesson08")
    assert [(s.student_id, s.read()) for s in found.submissions] == [("ann", b"A"), ("bob", b"B")]
    reasons = {i.origin.removeprefix(str(path) + os.sep): str(i.reason) for i in found.ignored}
    assert set(reasons) == {"broken.zip", "late.zip!bad.zip", "late.zip!big.zip"}
    assert all(r.startswith("not a readable zip: ") for r in reasons.values())
    assert "larger than" in reasons["late.zip!big.zip"]


def test_a_notebook_in_a_damaged_inner_zip_is_that_students_invalid_submission(tmp_path):
    inner = bytearray(zip_bytes({"bob.ipynb": NB * 50}))
    inner[30 + len("bob.ipynb")] ^= 0xFF  # the first byte of bob's stored data: a bad CRC
    path = zipped(tmp_path, {"ann.ipynb": NB, "late.zip": bytes(inner)})
    ann, bob = discover(path, "lesson08")
    assert ann.read() == NB
    with pytest.raises(InvalidSubmission, match=r"subs\.zip!late\.zip!bob\.ipynb cannot be read"):
        bob.read()


def _leaves(origin, data=None):
    """Every file the way survey names it: hidden ones left out, readable zips opened."""
    if data is None and os.path.isdir(origin):
        return [leaf for name in sorted(os.listdir(origin)) if not name.startswith(".")
                for leaf in _leaves(os.path.join(origin, name))]
    if origin.endswith(".zip"):
        try:
            with zipfile.ZipFile(io.BytesIO(data) if data is not None else origin) as archive:
                return [leaf for info in archive.infolist() if not info.is_dir()
                        and not any(p.startswith(".") and p != ".." or p == "__MACOSX"
                                    for p in info.filename.split("/"))
                        for leaf in _leaves(f"{origin}!{info.filename}", archive.read(info))]
        except zipfile.BadZipFile:
            pass
    return [origin]


def test_every_file_is_a_submission_or_ignored(tmp_path):
    path = make(tmp_path / "subs", {
        "bob.ipynb": NB, "notes.txt": b"x", "grades.csv": b"x", ".hidden.ipynb": NB,
        "ann/lesson08/lesson08.ipynb": NB, "ann/lesson08/scratch.ipynb": NB, "ann/lesson08/data.csv": b"x",
        "ann/lesson08/.ipynb_checkpoints/lesson08-checkpoint.ipynb": NB, "cy/lesson08/notes.txt": b"x",
        "kim/lesson08.ipynb": NB, "kim/Lesson08 (1).ipynb": NB,
        "a/b/c/deep.ipynb": NB, "a/b/c/d/deeper.ipynb": NB, "a/b/c/d/e/deepest.ipynb": NB,
        "broken.zip": b"junk", "late.zip": zip_bytes({"gina.ipynb": NB, "x/y/z/w.ipynb": NB, "../evil.ipynb": NB,
                                                      "in.zip": {"hal.ipynb": NB, "a.txt": b"x"}}),
    })
    found = survey(path, "lesson08")
    assert not any(s.origin.endswith("lesson08-checkpoint.ipynb") or "hidden" in s.origin for s in found.submissions)
    graded = [s.origin for s in found.submissions if not s.problem]
    entries = graded + [i.origin for i in found.ignored]
    assert len(set(entries)) == len(entries) == 17  # 6 submissions and 11 ignored, a folder among them
    leaves = _leaves(str(path))
    assert len(leaves) == 18
    covering = {leaf: [e for e in entries if leaf == e or leaf.startswith(e + os.sep)] for leaf in leaves}
    assert all(len(c) == 1 for c in covering.values()), covering
    assert {e for c in covering.values() for e in c} == set(entries)
    assert sorted(s.student_id for s in found.submissions) == ["ann", "bob", "cy", "gina", "hal", "kim"]
    assert all(s.raw_id for s in found.submissions)
    reasons = {i.origin.removeprefix(str(path) + os.sep): str(i.reason) for i in found.ignored}
    assert reasons["ann/lesson08/scratch.ipynb"] == ("not lesson08.ipynb: in nbgrader's layout only "
                                                      "<student>/lesson08/lesson08.ipynb is graded")
    assert reasons["kim/Lesson08 (1).ipynb"] == "another copy of kim's notebook: kim/lesson08.ipynb is graded"
    assert reasons["a/b/c/d"].startswith("too deep") and reasons["a/b/c/deep.ipynb"].startswith("too deep")
    assert reasons["late.zip!../evil.ipynb"] == "its name points outside the zip"
    assert reasons["notes.txt"] == reasons["grades.csv"] == reasons["late.zip!in.zip!a.txt"] == "not a notebook"
