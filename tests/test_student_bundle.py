"""What students get (`make student-bundle`): the release and the lecture (both its notebooks), never
source/ or samples/."""
import re
import subprocess
import sys
import zipfile

import nbformat

from course import LECTURE, RELEASE, ROOT, SOURCE, read

MORE = LECTURE.with_name(f"{LECTURE.stem}_more.ipynb")

SECRET = re.compile(r"### BEGIN (?:SOLUTION|HIDDEN TESTS).*?### END (?:SOLUTION|HIDDEN TESTS)", re.S)


def test_the_bundle_holds_the_release_and_the_lecture_and_nothing_secret(tmp_path):
    done = subprocess.run([sys.executable, ROOT / "tools/student_bundle.py", "lesson08", "--dest", tmp_path],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(tmp_path / "lesson08-student.zip") as bundle:
        names = set(bundle.namelist())
        files = {name: bundle.read(name) for name in names}
    assert names == {"lesson08/release/lesson08/lesson08.ipynb", "lesson08/notebooks/lesson08.ipynb",
                     "lesson08/notebooks/lesson08_more.ipynb",
                     "lesson08/SUPPORT.md", "lesson08/README.md", "lesson08/requirements.txt"}
    assert files["lesson08/release/lesson08/lesson08.ipynb"] == RELEASE.read_bytes()
    assert files["lesson08/notebooks/lesson08.ipynb"] == LECTURE.read_bytes()
    assert files["lesson08/notebooks/lesson08_more.ipynb"] == MORE.read_bytes()
    secret = {line.strip() for cell in read(SOURCE).cells for block in SECRET.findall(cell.source)
              for line in block.splitlines()[1:-1] if len(line.strip()) > 20}
    public = {line.strip() for cell in read(RELEASE).cells for line in cell.source.splitlines()}
    secret -= public
    assert len(secret) > 30
    shipped = set()
    for name, data in files.items():
        text = data.decode()
        if name.endswith(".ipynb"):
            text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
        shipped.update(line.strip() for line in text.splitlines())
    assert not secret & shipped, "a solution or hidden test reached the bundle"
    assert "torch==2.13.0" in files["lesson08/requirements.txt"].decode()
    readme = files["lesson08/README.md"].decode()
    assert "pip install -r requirements.txt" in readme and "Validate" in readme
    assert "`notebooks/lesson08_more.ipynb`: 더 알아보기" in readme


def test_the_bundle_refuses_a_file_with_a_solution_marker(tmp_path, monkeypatch):
    sys.path.insert(0, str(ROOT / "tools"))
    import student_bundle
    leaky = tmp_path / "SUPPORT.md"
    leaky.write_text("### BEGIN SOLUTION\nanswer\n### END SOLUTION\n")
    monkeypatch.setattr(student_bundle, "ROOT", tmp_path)
    (tmp_path / "release/lesson08").mkdir(parents=True)
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "release/lesson08/lesson08.ipynb").write_bytes(RELEASE.read_bytes())
    (tmp_path / "notebooks/lesson08.ipynb").write_bytes(LECTURE.read_bytes())
    try:
        student_bundle.build("lesson08", tmp_path / "dist")
    except SystemExit as refusal:
        assert "holds a solution or hidden-test marker" in str(refusal)
    else:
        raise AssertionError("a bundle was built with a solution in it")
    assert not (tmp_path / "dist" / "lesson08-student.zip").exists()
