"""A student's folder on the course machine (tools/student_setup.py): made from the course's config, it
fetches and submits through the course's exchange with real nbgrader, under the student's own HOME and
in the course's time zone, and the fetched assignment lands where the bundle puts its copy. (The trial
student shares this account, so their id is written into their config, as `make student-lab` does.)"""
import os
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
from nbgrader.utils import parse_utc
from traitlets.config.loader import PyFileConfigLoader

import course
from course import ASSIGNMENT, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import student_setup  # noqa: E402

STUDENT = "kim"
SERVER_CONFIG = "jupyter_server_config.py"
COURSE_FILES = ("SUPPORT.md", "requirements.txt", f"notebooks/{ASSIGNMENT}.ipynb", f"notebooks/{ASSIGNMENT}_more.ipynb")


@pytest.fixture(scope="module")
def seoul_course(nbgrader_release, tmp_path_factory):
    """The course (its nbgrader_config.py as committed: Asia/Seoul), released into its own exchange."""
    root = tmp_path_factory.mktemp("seoul") / "course"
    shutil.copytree(nbgrader_release, root)
    for name in COURSE_FILES:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(ROOT / name, root / name)
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
    course_config = PyFileConfigLoader("nbgrader_config.py", path=str(ROOT)).load_config().Exchange
    assert settings == student_setup.CourseSettings("pytorch-course", str(seoul_course / "exchange"), "Asia/Seoul",
                                                    course_config.timestamp_format)
    folder = student_setup.make_folder(tmp_path / STUDENT, seoul_course, ASSIGNMENT)
    text = (folder / "nbgrader_config.py").read_text()
    assert f"c.Exchange.root = {str(seoul_course / 'exchange')!r}" in text
    assert "c.Exchange.timezone = 'Asia/Seoul'" in text and "c.CourseDirectory.course_id = 'pytorch-course'" in text
    assert f"c.Exchange.timestamp_format = {course_config.timestamp_format!r}" in text
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
    assert (folder / SERVER_CONFIG).read_bytes() == (ROOT / "student" / SERVER_CONFIG).read_bytes()

    as_student(folder, home, "fetch_assignment", ASSIGNMENT)
    fetched = folder / student_setup.assignment_path(ASSIGNMENT)  # where the bundle ships its copy
    assert fetched.read_bytes() == (seoul_course / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb").read_bytes()

    course_config = PyFileConfigLoader("nbgrader_config.py", path=str(seoul_course)).load_config().Exchange
    as_student(folder, home, "submit", ASSIGNMENT)
    inbound = list((seoul_course / "exchange" / "pytorch-course" / "inbound").glob(f"{STUDENT}+{ASSIGNMENT}+*"))
    assert len(inbound) == 1, inbound
    assert (inbound[0] / f"{ASSIGNMENT}.ipynb").read_bytes() == fetched.read_bytes()
    # Stamped in the course's zone and format, so nbgrader (and the grader) read the true instant, not 9 h off.
    stamped = parse_utc((inbound[0] / "timestamp.txt").read_text().strip())
    assert abs(stamped - datetime.now(timezone.utc).replace(tzinfo=None)) < timedelta(minutes=5), stamped
    assert (inbound[0] / "timestamp.txt").read_text().strip().endswith(course_config.timestamp_format.split()[-1])
    cache = home / ".local/share/jupyter/nbgrader_cache/pytorch-course"  # the student's HOME, no one else's
    assert len(list(cache.glob(f"{STUDENT}+{ASSIGNMENT}+*"))) == 1


def test_a_students_processes_inherit_no_jupyter_location():
    env = student_setup.student_env("/home/kim", "kim", {"PATH": "/usr/bin", "JUPYTER_CONFIG_DIR": "/srv/x",
                                                         "JUPYTER_DATA_DIR": "/srv/y", "IPYTHONDIR": "/srv/z"})
    assert env == {"PATH": "/usr/bin", "HOME": "/home/kim", "USER": "kim", "LOGNAME": "kim"}


def student_server_config(folder):
    """The student's jupyter_server_config.py as Jupyter loads it, run in `folder`."""
    shutil.copy(ROOT / "student" / SERVER_CONFIG, folder / SERVER_CONFIG)
    return PyFileConfigLoader(SERVER_CONFIG, path=str(folder)).load_config().ServerApp


@pytest.mark.parametrize("has_exchange", [True, False])
def test_the_student_server_keeps_the_assignments_tab_only_where_the_exchange_is(tmp_path, has_exchange):
    """On the course machine: no formgrader, no Create Assignment. On a laptop (no exchange): Assignments,
    Courses and the menu that holds them are off too, as nbgrader could only show its error there."""
    exchange = tmp_path / "exchange"
    if has_exchange:
        exchange.mkdir()
    settings = student_setup.CourseSettings("pytorch-course", str(exchange), "Asia/Seoul")
    (tmp_path / "nbgrader_config.py").write_text(student_setup.nbgrader_config_text(settings))
    server = student_server_config(tmp_path)
    assert server.root_dir == str(tmp_path)
    extensions = server.jpserver_extensions
    assert extensions["nbgrader.server_extensions.formgrader"] is False
    assert extensions["nbgrader.server_extensions.validate_assignment"] is True
    assert extensions["nbgrader.server_extensions.assignment_list"] is has_exchange
    assert extensions["nbgrader.server_extensions.course_list"] is has_exchange
    page_config = server.tornado_settings["page_config_hook"](None, {"disabledExtensions": ["some:plugin"]})
    exchange_plugins = {"@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:course-list", "@jupyter/nbgrader:menu"}
    assert set(page_config["disabledExtensions"]) == (
        {"some:plugin", "@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"}
        | (set() if has_exchange else exchange_plugins))


def test_the_plugins_the_student_server_turns_off_are_nbgraders():
    """Each plugin id is one nbgrader's installed lab extension names (a renamed plugin would stay on)."""
    static = Path(sys.prefix) / "share/jupyter/labextensions/@jupyter/nbgrader/static"
    registered = set(re.findall(r'"(@jupyter/nbgrader:[\w-]+)"', "".join(
        path.read_text(errors="replace") for path in static.glob("*.js"))))
    assert "@jupyter/nbgrader:validate-assignment" in registered, registered
    turned_off = set(re.findall(r'"(@jupyter/nbgrader:[\w-]+)"', (ROOT / "student" / SERVER_CONFIG).read_text()))
    assert len(turned_off) == 5 and turned_off <= registered, turned_off - registered
