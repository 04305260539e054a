"""The student's side: the course folder a student works in, and the JupyterLab they start there.

    python tools/student_setup.py lab ASSIGNMENT --home DIR [--student ID] [JUPYTER ARGS]   (make student-lab)
    python tools/student_setup.py folder ASSIGNMENT --home DIR [--student ID]              (the folder only)

A student's course folder, `<course_id>/` (the unzipped bundle, or `<HOME>/<course_id>/` made here):

    README.md, SUPPORT.md, requirements.txt   how to start (Korean), where to report a problem, the pins
    jupyter_server_config.py                  student/jupyter_server_config.py: the folder is the root,
                                              no instructor tools
    nbgrader_config.py                        course id, exchange root, time zone and timestamp format, from
                                              the course's config
    notebooks/<a>.ipynb (+ <a>_more.ipynb)    the lecture
    <a>/<a>.ipynb                             the assignment: the bundle ships it here, which is where the
                                              Assignments tab's Fetch puts it (so there is only ever one copy)

`lab` makes that folder for a student on this machine, without the assignment (they fetch it from the
course's exchange), and starts their JupyterLab there with HOME=DIR (nbgrader's cache and the student's
Jupyter settings live under it). nbgrader takes a student's id from their account; trial students share
yours, so `lab` writes `--student ID` into the folder's nbgrader config (the bundle never does). The
browser tests start the same server through `make_folder`, `student_env` and `lab_command`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.course import CONFIG_FILE, read_config  # noqa: E402
from autograder.pins import read_pins  # noqa: E402

STUDENT = ROOT / "student"  # what every student folder holds as it is
SERVER_CONFIG = "jupyter_server_config.py"
README_TEMPLATE = STUDENT / "README.template.md"
STUDENT_PACKAGES = ("torch", "numpy", "matplotlib", "jupyterlab", "nbgrader", "ipykernel")
NBGRADER_DEFAULT_EXCHANGE = "/usr/local/share/nbgrader/exchange"
MORE = "- `notebooks/{name}`: 더 알아보기 (선택). 강의가 링크해 둔 깊은 얘기.\n"
# Jupyter's own locations follow HOME unless these say otherwise: a student's server must not inherit them.
JUPYTER_PATH_VARIABLES = ("JUPYTER_CONFIG_DIR", "JUPYTER_DATA_DIR", "JUPYTER_RUNTIME_DIR", "JUPYTER_CONFIG_PATH",
                          "JUPYTER_PATH", "IPYTHONDIR", "XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME")


@dataclass(frozen=True)
class CourseSettings:
    """What a student's nbgrader needs of the course's nbgrader_config.py."""
    course_id: str
    exchange_root: str
    timezone: str | None  # c.Exchange.timezone; nbgrader's default (UTC) when unset
    timestamp_format: str | None = None  # c.Exchange.timestamp_format: how submit stamps a submission


def course_settings(root: str | Path) -> CourseSettings:
    root = Path(root).resolve()
    config = read_config(root)
    course_id = config.CourseDirectory.get("course_id")
    if not course_id:
        raise ValueError(f"{root / CONFIG_FILE}: c.CourseDirectory.course_id is not set: students' nbgrader "
                         "needs it to find the course in the exchange")
    exchange = Path(config.Exchange.get("root") or NBGRADER_DEFAULT_EXCHANGE)
    return CourseSettings(course_id, str(exchange if exchange.is_absolute() else root / exchange),
                          config.Exchange.get("timezone"), config.Exchange.get("timestamp_format"))


def nbgrader_config_text(settings: CourseSettings, student_id: str | None = None) -> str:
    lines = [
        f'"""nbgrader for a student of {settings.course_id}: written by tools/student_setup.py from the',
        'course\'s nbgrader_config.py (ask the instructor for a new one rather than editing it)."""',
        "c = get_config()  # noqa: F821  (injected by traitlets)",
        "",
        f"c.CourseDirectory.course_id = {settings.course_id!r}",
        f"c.Exchange.root = {settings.exchange_root!r}",
    ]
    if settings.timezone:
        lines.append(f"c.Exchange.timezone = {settings.timezone!r}  # submission times, read against deadlines")
    if settings.timestamp_format:
        lines.append(f"c.Exchange.timestamp_format = {settings.timestamp_format!r}")
        zone_name = settings.timestamp_format.split()[-1]
        if zone_name.isalpha():  # an IANA name nbgrader reads and dateutil, checking the format, warns about
            lines[2:2] = ["import warnings", ""]
            lines.append(f'warnings.filterwarnings("ignore", message="tzname {zone_name} identified")')
    if student_id:
        lines.append(f"c.CourseDirectory.student_id = {student_id!r}  # a trial student on the instructor's account")
    return "\n".join(lines) + "\n"


def readme_text(root: str | Path, assignment: str) -> str:
    root = Path(root)
    more = root / "notebooks" / f"{assignment}_more.ipynb"
    return README_TEMPLATE.read_text(encoding="utf-8").format(
        assignment=assignment, course_id=course_settings(root).course_id,
        torch=read_pins(root / "requirements.txt")["torch"],
        more=MORE.format(name=more.name) if more.is_file() else "")


def requirements_text(root: str | Path) -> str:
    pins = read_pins(Path(root) / "requirements.txt")
    return "".join(f"{name}=={pins[name]}\n" for name in STUDENT_PACKAGES)


def assignment_path(assignment: str) -> str:
    """The assignment's place in the student's folder: where nbgrader's fetch puts it (Exchange.assignment_dir
    is the server's root, and path_includes_course is off)."""
    return f"{assignment}/{assignment}.ipynb"


def folder_files(root: str | Path, assignment: str, student_id: str | None = None) -> dict[str, Path | str]:
    """Everything in a student's folder but the assignment: {name in the folder: source file or text}."""
    root = Path(root)
    files: dict[str, Path | str] = {
        "README.md": readme_text(root, assignment),
        "SUPPORT.md": root / "SUPPORT.md",
        "requirements.txt": requirements_text(root),
        SERVER_CONFIG: STUDENT / SERVER_CONFIG,
        "nbgrader_config.py": nbgrader_config_text(course_settings(root), student_id),
        f"notebooks/{assignment}.ipynb": root / "notebooks" / f"{assignment}.ipynb",
    }
    more = root / "notebooks" / f"{assignment}_more.ipynb"  # the lecture's optional part, linked from it
    if more.is_file():
        files[f"notebooks/{more.name}"] = more
    for name, source in files.items():
        if isinstance(source, Path) and not source.is_file():
            raise SystemExit(f"student_setup: {source} is missing (needed for the student's {name})")
    return files


def make_folder(home: str | Path, root: str | Path = ROOT, assignment: str = "lesson08",
                student_id: str | None = None) -> Path:
    """`<home>/<course_id>/` with the folder's files (written afresh; the student's own files are kept).
    `student_id`: nbgrader's id for a trial student who shares the instructor's account."""
    folder = Path(home) / course_settings(root).course_id
    for name, source in folder_files(root, assignment, student_id).items():
        target = folder / name
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(source, Path):
            shutil.copyfile(source, target)
        else:
            target.write_text(source, encoding="utf-8")
    return folder


def student_env(home: str | Path, student: str, base: dict | None = None) -> dict:
    """The environment of a student's processes on this machine: their HOME and user name, and no
    Jupyter location of whoever started them."""
    env = {key: value for key, value in (os.environ if base is None else base).items()
           if key not in JUPYTER_PATH_VARIABLES}
    env.update(HOME=str(home), USER=student, LOGNAME=student)
    return env


def lab_command(folder: str | Path, jupyter: str | Path | None = None) -> list[str]:
    """The README's start command, typed in the student's folder (`--config` is relative to it)."""
    jupyter = jupyter or Path(sys.executable).parent / "jupyter"
    return [str(jupyter), "lab", f"--config={SERVER_CONFIG}"]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("lab", "folder"), help="lab: make the folder and start JupyterLab "
                        "there; folder: only make it")
    parser.add_argument("assignment", nargs="?", default="lesson08")
    parser.add_argument("--home", type=Path, required=True, help="the student's HOME (made if missing)")
    parser.add_argument("--student", default="student1", help="the trial student's id for nbgrader")
    parser.add_argument("--course", type=Path, default=ROOT, metavar="ROOT")
    args, jupyter_args = parser.parse_known_args(argv)
    home = args.home.resolve()
    try:
        folder = make_folder(home, args.course, args.assignment, args.student)
    except ValueError as error:
        print(f"student_setup: {error}", file=sys.stderr)
        return 2
    print(f"student folder: {folder} (HOME={home}, student id {args.student})")
    if args.action == "folder":
        return 0
    exchange = course_settings(args.course).exchange_root
    if not Path(exchange).is_dir():
        print(f"student_setup: the course's exchange {exchange} does not exist yet (`make release` makes it): "
              "until it does, the student's Assignments tab is off", file=sys.stderr)
    if os.geteuid() == 0:
        jupyter_args.append("--allow-root")
    command = lab_command(folder) + [arg for arg in jupyter_args if arg != "--"]
    os.chdir(folder)
    os.execvpe(command[0], command, student_env(home, args.student))


if __name__ == "__main__":
    sys.exit(main())
