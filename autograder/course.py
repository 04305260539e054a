"""The nbgrader course the grader works in: its config, directories and gradebook URL.

Reading the config needs only traitlets; nbgrader (seconds to import) is imported by `load`,
so the CLI can check its arguments before any of that.
"""
from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from traitlets.config import Config
from traitlets.config.loader import PyFileConfigLoader

if TYPE_CHECKING:
    from nbgrader.coursedir import CourseDirectory

CONFIG_FILE = "nbgrader_config.py"


def read_config(root: str | os.PathLike) -> Config:
    """The course's nbgrader_config.py, read without nbgrader (quick: for checks before any work)."""
    root = Path(root).resolve()
    return PyFileConfigLoader(CONFIG_FILE, path=str(root)).load_config() if (root / CONFIG_FILE).is_file() else Config()


def course_id(root: str | os.PathLike) -> str:
    """The course's id (nbgrader's CourseDirectory.course_id), or its folder's name when unset."""
    return read_config(root).CourseDirectory.get("course_id") or Path(root).resolve().name


def feedback_language(root: str | os.PathLike) -> str:
    """The language of students' feedback pages: nbgrader_config.py's `c.CourseFeedback.language`
    (a section nbgrader ignores), "en" when unset. ValueError for a language without messages."""
    from .messages import LANGUAGES
    language = read_config(root).CourseFeedback.get("language") or "en"
    if language not in LANGUAGES:
        raise ValueError(f"{CONFIG_FILE}: c.CourseFeedback.language = {language!r} is not one of "
                         f"{', '.join(map(repr, LANGUAGES))}")
    return language


def load(root: str | os.PathLike) -> CourseDirectory:
    """nbgrader's CourseDirectory as the course's nbgrader_config.py sets it up."""
    from nbgrader.coursedir import CourseDirectory
    root = Path(root).resolve()
    config = read_config(root)
    config.CourseDirectory.root = str(root)  # the config may name another machine's path
    _put_scripts_on_path()
    return CourseDirectory(config=config)


def _put_scripts_on_path() -> None:
    """nbgrader runs `alembic` by name when it creates a gradebook: find the venv's copy."""
    scripts = str(Path(sys.executable).parent)
    if scripts not in os.environ.get("PATH", "").split(os.pathsep):
        os.environ["PATH"] = os.pathsep.join([scripts, os.environ.get("PATH", "")])


def notebook_path(coursedir: CourseDirectory, directory: str, assignment_id: str, notebook_id: str,
                  student_id: str = ".") -> Path:
    folder = coursedir.format_path(directory, student_id, assignment_id)
    return Path(folder) / f"{notebook_id}.ipynb"
