"""What students get (`make student-bundle`): their course folder, with the release at the path nbgrader's
fetch uses, the lecture (both its notebooks), the student's Jupyter and nbgrader config, a README that
starts JupyterLab in that folder; never source/ or samples/."""
import re
import subprocess
import sys
import zipfile

import nbformat
import pytest
from traitlets.config.loader import PyFileConfigLoader

from course import ASSIGNMENT, LECTURE, RELEASE, ROOT, SOURCE, read

sys.path.insert(0, str(ROOT / "tools"))
import student_setup  # noqa: E402
import support_link  # noqa: E402

MORE = LECTURE.with_name(f"{LECTURE.stem}_more.ipynb")
FOLDER = "pytorch-course/"  # the course id: the folder the zip unpacks to
SECRET = re.compile(r"### BEGIN (?:SOLUTION|HIDDEN TESTS).*?### END (?:SOLUTION|HIDDEN TESTS)", re.S)
FENCE = re.compile(r"^```[a-z]*\n(.*?)^```", re.S | re.M)


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    """{name inside pytorch-course/: bytes} of a bundle built by the real command."""
    dest = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, ROOT / "tools/student_bundle.py", ASSIGNMENT, "--dest", dest],
                          capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    with zipfile.ZipFile(dest / f"{ASSIGNMENT}-student.zip") as archive:
        names = archive.namelist()
        assert all(name.startswith(FOLDER) for name in names), names
        return {name[len(FOLDER):]: archive.read(name) for name in names}


def test_the_bundle_is_the_course_folder_and_holds_nothing_secret(bundle):
    assert set(bundle) == {"lesson08/lesson08.ipynb", "notebooks/lesson08.ipynb", "notebooks/lesson08_more.ipynb",
                           "SUPPORT.md", "README.md", "requirements.txt", "jupyter_server_config.py",
                           "nbgrader_config.py"}
    assert bundle["lesson08/lesson08.ipynb"] == RELEASE.read_bytes()
    assert bundle["notebooks/lesson08.ipynb"] == LECTURE.read_bytes()
    assert bundle["notebooks/lesson08_more.ipynb"] == MORE.read_bytes()
    secret = {line.strip() for cell in read(SOURCE).cells for block in SECRET.findall(cell.source)
              for line in block.splitlines()[1:-1] if len(line.strip()) > 20}
    public = {line.strip() for cell in read(RELEASE).cells for line in cell.source.splitlines()}
    secret -= public
    assert len(secret) > 30
    shipped = set()
    for name, data in bundle.items():
        text = data.decode()
        if name.endswith(".ipynb"):
            text = "\n".join(cell.source for cell in nbformat.reads(text, as_version=4).cells)
        shipped.update(line.strip() for line in text.splitlines())
    assert not secret & shipped, "a solution or hidden test reached the bundle"
    assert "torch==2.13.0" in bundle["requirements.txt"].decode()


def test_the_bundle_carries_the_student_config_made_from_the_course_config(bundle, tmp_path):
    """No instructor tools (the server config is the student's), and nbgrader names the course's id,
    exchange, time zone and timestamp format, read from the course's nbgrader_config.py."""
    assert bundle["jupyter_server_config.py"] == (ROOT / "student" / "jupyter_server_config.py").read_bytes()
    server = bundle["jupyter_server_config.py"].decode()
    assert '"nbgrader.server_extensions.formgrader": False' in server
    assert '"@jupyter/nbgrader:formgrader"' in server and '"@jupyter/nbgrader:create-assignment"' in server
    (tmp_path / "nbgrader_config.py").write_bytes(bundle["nbgrader_config.py"])
    student = PyFileConfigLoader("nbgrader_config.py", path=str(tmp_path)).load_config()
    course = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config()
    assert student.CourseDirectory.course_id == course.CourseDirectory.course_id == "pytorch-course"
    assert student.Exchange.root == course.Exchange.root
    assert student.Exchange.timezone == course.Exchange.timezone == "Asia/Seoul"
    assert student.Exchange.timestamp_format == course.Exchange.timestamp_format
    assert "CourseDirectory.root" not in bundle["nbgrader_config.py"].decode()  # the student's root is the server's


def test_the_readme_starts_jupyterlab_in_the_course_folder(bundle):
    """Every command that starts JupyterLab runs the student config from the folder (no notebook path that
    would make notebooks/ the root), and every file the README names is in the bundle."""
    readme = bundle["README.md"].decode()
    commands = [line.strip() for block in FENCE.findall(readme) for line in block.splitlines()]
    starts = [line for line in commands if re.search(r"jupyter(\.exe)? lab\b", line)]
    assert starts, "the README never starts JupyterLab"
    for line in starts:
        assert line.endswith("jupyter lab --config=jupyter_server_config.py"), line
    assert "Windows" in readme and r".venv\Scripts\jupyter lab --config=jupyter_server_config.py" in readme
    named = set(re.findall(r"`([\w./-]+\.(?:ipynb|md|py|txt))`", readme))
    assert {"notebooks/lesson08.ipynb", "lesson08/lesson08.ipynb", "SUPPORT.md"} <= named
    basenames = {name.rsplit("/", 1)[-1] for name in bundle}
    missing = {name for name in named if name not in bundle and ("/" in name or name not in basenames)}
    assert not missing, f"the README names files the bundle lacks: {missing}"
    assert student_setup.assignment_path(ASSIGNMENT) == "lesson08/lesson08.ipynb"
    assert "Fetch" in readme and "Submit" in readme and "Fetch Feedback" in readme
    assert "`notebooks/lesson08_more.ipynb`: 더 알아보기" in readme and "Validate" in readme


def test_the_readme_says_how_a_cpu_only_laptop_gets_the_cpu_build_of_torch(bundle):
    readme = bundle["README.md"].decode()
    install = readme[readme.index("## 설치"):readme.index("## 시작하기")]
    for system in ("macOS", "Linux", "Windows"):
        assert system in install
    assert "CPU" in install and "Previous PyTorch Versions" in install and "# CPU only" in install
    commands = [line for block in FENCE.findall(install) for line in block.splitlines()]
    torch_first = [i for i, line in enumerate(commands) if "pip install torch==2.13.0 --index-url" in line]
    requirements = [i for i, line in enumerate(commands) if "pip install -r requirements.txt" in line]
    assert len(torch_first) == 2 and len(requirements) == 2, "no CPU torch step for Linux and for Windows"
    assert all(t < r for t, r in zip(torch_first, requirements)), "the CPU torch step must come first"
    main_readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "CPU build of torch" in main_readme and "macOS" in main_readme


def test_the_bundle_links_where_the_course_config_says_to_report_a_problem(bundle):
    url = support_link.support_url(ROOT)
    for name in ("SUPPORT.md", "notebooks/lesson08.ipynb", "lesson08/lesson08.ipynb"):
        assert set(support_link.LINK.findall(bundle[name].decode())) == {url}, name
    assert support_link.disagreements(ROOT, ASSIGNMENT) == []


def test_the_bundle_refuses_a_file_with_a_solution_marker(tmp_path, monkeypatch):
    import student_bundle
    course = tmp_path / "course"
    needed = ("nbgrader_config.py", "requirements.txt", "notebooks/lesson08.ipynb", "release/lesson08/lesson08.ipynb")
    for name in needed:
        (course / name).parent.mkdir(parents=True, exist_ok=True)
        (course / name).write_bytes((ROOT / name).read_bytes())
    (course / "SUPPORT.md").write_text("### BEGIN SOLUTION\nanswer\n### END SOLUTION\n")
    monkeypatch.setattr(student_bundle, "ROOT", course)
    with pytest.raises(SystemExit, match="SUPPORT.md holds a solution or hidden-test marker"):
        student_bundle.build("lesson08", tmp_path / "dist")
    assert not (tmp_path / "dist" / "lesson08-student.zip").exists()
