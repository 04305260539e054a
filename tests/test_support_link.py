"""Where students report a problem is set once, `c.CourseSupport.url` (tools/support_link.py): `sync`
writes it into SUPPORT.md, the lecture and the source, `check` names every file that disagrees."""
import subprocess
import sys

import nbformat
import pytest

from course import ASSIGNMENT, ROOT

sys.path.insert(0, str(ROOT / "tools"))
import support_link  # noqa: E402

OWN_URL = "https://lms.school.ac.kr/course/42/qna"
FILES = ("nbgrader_config.py", "SUPPORT.md", f"notebooks/{ASSIGNMENT}.ipynb",
         f"source/{ASSIGNMENT}/{ASSIGNMENT}.ipynb", f"release/{ASSIGNMENT}/{ASSIGNMENT}.ipynb")


def course_with_url(directory, url):
    """The files that carry the link, and the course config with `url` in place of the repository's."""
    for name in FILES:
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_bytes((ROOT / name).read_bytes())
    config = directory / "nbgrader_config.py"
    text = config.read_text()
    repository_url = support_link.support_url(ROOT)
    assert text.count(repr(repository_url).replace("'", '"')) == 1
    config.write_text(text.replace(repr(repository_url).replace("'", '"'), repr(url)))
    return directory


def tool(action, course):
    return subprocess.run([sys.executable, ROOT / "tools/support_link.py", action, ASSIGNMENT, "--course", course],
                          capture_output=True, text=True)


def test_the_repository_links_one_place(tmp_path):
    assert support_link.disagreements(ROOT, ASSIGNMENT) == []
    done = tool("check", ROOT)
    assert done.returncode == 0, done.stderr


def test_check_names_each_file_that_disagrees_and_sync_fixes_all_but_the_release(tmp_path):
    course = course_with_url(tmp_path, OWN_URL)
    before = tool("check", course)
    assert before.returncode == 1
    for name in FILES[1:]:
        assert f"{course / name}: links to {support_link.support_url(ROOT)}" in before.stderr, name
    synced = tool("sync", course)
    assert synced.returncode == 0, synced.stderr
    assert "example address" not in synced.stderr  # the course's own URL: no placeholder warning
    assert support_link.disagreements(course, ASSIGNMENT) == [
        f"{course / FILES[-1]}: links to {support_link.support_url(ROOT)}, the course config says {OWN_URL}"]
    for name in FILES[1:4]:
        assert f"[{support_link.LABEL}]({OWN_URL})" in (course / name).read_text(encoding="utf-8")
    for name in FILES[2:4]:  # still notebooks
        nbformat.validate(nbformat.read(course / name, as_version=4))


@pytest.mark.parametrize("url", ["javascript:alert(1)", "https://x.org/a b", "https://x.org/(1)", None])
def test_an_unusable_url_is_refused_naming_the_config(tmp_path, url):
    course = course_with_url(tmp_path, url)
    done = tool("check", course)
    assert done.returncode == 2
    assert f"{course / 'nbgrader_config.py'}: c.CourseSupport.url = {url!r}" in done.stderr


def test_sync_names_a_file_that_lost_its_link(tmp_path):
    course = course_with_url(tmp_path, OWN_URL)
    (course / "SUPPORT.md").write_text("# 문제를 발견했을 때\n\n강사한테 말해 줘.\n", encoding="utf-8")
    done = tool("sync", course)
    assert done.returncode == 1 and f"{course / 'SUPPORT.md'} has no [{support_link.LABEL}](...) link" in done.stderr
