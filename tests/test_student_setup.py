"""A student's folder on the course machine (tools/student_setup.py): made from the course's config, it
fetches and submits through the course's exchange with real nbgrader, under the student's own HOME and
in the course's time zone, and the fetched assignment lands where the bundle puts its copy. (The trial
student shares this account, so their id is written into their config, as `make student-lab` does.)"""
import os
import shutil
import subprocess
import sys

import pytest

import course
from course import ASSIGNMENT, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import student_setup  # noqa: E402

STUDENT = "kim"
COURSE_FILES = ("SUPPORT.md", "requirements.txt", f"notebooks/{ASSIGNMENT}.ipynb", f"notebooks/{ASSIGNMENT}_more.ipynb")


@pytest.fixture(scope="module")
def seoul_course(nbgrader_release, tmp_path_factory):
    """The course, released into its own exchange, its time zone Asia/Seoul (set here unless the course's
    nbgrader_config.py already sets one)."""
    root = tmp_path_factory.mktemp("seoul") / "course"
    shutil.copytree(nbgrader_release, root)
    for name in COURSE_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
    config = root / "nbgrader_config.py"
    if "c.Exchange.timezone" not in config.read_text():
        config.write_text(config.read_text() + 'c.Exchange.timezone = "Asia/Seoul"\n')
    course.nbgrader(root, "release_assignment", ASSIGNMENT)
    return root


def as_student(folder, home, *args):
    env = student_setup.student_env(home, STUDENT, {**os.environ, "PATH": course.bin_path(),
                                                    "JUPYTER_CONFIG_DIR": "/nonexistent/instructor"})
    done = subprocess.run(course.nbgrader_command(*args), cwd=folder, env=env, capture_output=True, text=True)
    assert done.returncode == 0, f"nbgrader {' '.join(args)} as {STUDENT}:\n{done.stdout}\n{done.stderr}"
    return done


def test_the_student_config_is_the_course_config_for_a_student(seoul_course, tmp_path):
    settings = student_setup.course_settings(seoul_course)
    assert settings == student_setup.CourseSettings("pytorch-course", str(seoul_course / "exchange"), "Asia/Seoul")
    folder = student_setup.make_folder(tmp_path / STUDENT, seoul_course, ASSIGNMENT)
    text = (folder / "nbgrader_config.py").read_text()
    assert f"c.Exchange.root = {str(seoul_course / 'exchange')!r}" in text
    assert "c.Exchange.timezone = 'Asia/Seoul'" in text and "c.CourseDirectory.course_id = 'pytorch-course'" in text
    assert "student_id" not in text  # a real student's id is their account's
    no_course_id = tmp_path / "other"
    no_course_id.mkdir()
    (no_course_id / "nbgrader_config.py").write_text("c = get_config()\n")
    with pytest.raises(ValueError, match=r"other/nbgrader_config.py: c.CourseDirectory.course_id is not set"):
        student_setup.course_settings(no_course_id)


def test_a_student_fetches_into_the_bundles_place_and_submits_in_seoul_time(seoul_course, tmp_path):
    home = tmp_path / STUDENT
    folder = student_setup.make_folder(home, seoul_course, ASSIGNMENT, student_id=STUDENT)
    assert folder == home / "pytorch-course" and not (folder / ASSIGNMENT).exists()
    assert (folder / "jupyter_server_config.py").read_bytes() == (ROOT / "student/jupyter_server_config.py").read_bytes()

    as_student(folder, home, "fetch_assignment", ASSIGNMENT)
    fetched = folder / student_setup.assignment_path(ASSIGNMENT)  # where the bundle ships its copy
    assert fetched.read_bytes() == (seoul_course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()

    as_student(folder, home, "submit", ASSIGNMENT)
    inbound = list((seoul_course / "exchange" / "pytorch-course" / "inbound").glob(f"{STUDENT}+{ASSIGNMENT}+*"))
    assert len(inbound) == 1, inbound
    assert (inbound[0] / f"{ASSIGNMENT}.ipynb").read_bytes() == fetched.read_bytes()
    assert (inbound[0] / "timestamp.txt").read_text().strip().endswith("KST")  # Asia/Seoul, not UTC
    cache = home / ".local/share/jupyter/nbgrader_cache/pytorch-course"  # the student's HOME, no one else's
    assert len(list(cache.glob(f"{STUDENT}+{ASSIGNMENT}+*"))) == 1


def test_a_students_processes_inherit_no_jupyter_location():
    env = student_setup.student_env("/home/kim", "kim", {"PATH": "/usr/bin", "JUPYTER_CONFIG_DIR": "/srv/x",
                                                         "JUPYTER_DATA_DIR": "/srv/y", "IPYTHONDIR": "/srv/z"})
    assert env == {"PATH": "/usr/bin", "HOME": "/home/kim", "USER": "kim", "LOGNAME": "kim"}
