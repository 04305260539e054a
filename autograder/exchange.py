"""nbgrader's exchange as the grading service sees it: inbound submissions in, feedback pages out.

    <root>/<course>/inbound/<student>+<assignment>+<timestamp>+<random>/   written by `nbgrader submit`
    <root>/<course>/feedback/<notebook_hash(secret, notebook_id)>.html     read by `nbgrader fetch_feedback`

A submission folder is complete once its submission_secret.txt holds the secret: nbgrader submit
writes it after the notebooks and timestamp.txt. Everything in an inbound folder was written by a
student's process: it is read without following links, only regular files, each size-capped.
Modes are nbgrader's own (release_assignment.py, release_feedback.py): the root 0777, the
course folder and outbound/ 0755, inbound/ 2733 (students write, only the instructor lists),
feedback/ 0711 (a student reads only the page whose hashed name they know), pages 0644.
"""
import fnmatch
import os
import re
import shutil
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .files import UMASK

ROOT_MODE, COURSE_MODE, INBOUND_MODE, FEEDBACK_MODE, PAGE_MODE = 0o777, 0o755, 0o2733, 0o711, 0o644
SECRET_FILE, TIMESTAMP_FILE = "submission_secret.txt", "timestamp.txt"
SECRET = re.compile(r"[0-9a-f]{32,256}")  # nbgrader's secrets.token_hex(64): 128 hex digits
MAX_FILE_BYTES = 20 * 2**20  # a file of a submission that is collected (submissions.MAX_NOTEBOOK_BYTES)
MAX_FILES = 200  # files collected from one submission folder
MAX_DEPTH = 3
IGNORED = (".ipynb_checkpoints", "*.pyc", "__pycache__", "feedback")  # nbgrader's CourseDirectory.ignore


@dataclass(frozen=True)
class Exchange:
    root: Path  # c.Exchange.root
    course_id: str

    @property
    def course(self) -> Path:
        return self.root / self.course_id

    @property
    def inbound(self) -> Path:
        return self.course / "inbound"

    @property
    def feedback(self) -> Path:
        return self.course / "feedback"


def of_course(config, course_id: str) -> Exchange:
    """The exchange a course's nbgrader_config (traitlets Config) names; nbgrader's default root otherwise."""
    return Exchange(Path(config.Exchange.get("root") or "/srv/nbgrader/exchange"), course_id)


def create(exchange: Exchange) -> list[str]:
    """The exchange's folders with nbgrader's modes, created or their modes put right; what changed."""
    changed = []
    for folder, mode in ((exchange.root, ROOT_MODE), (exchange.course, COURSE_MODE),
                         (exchange.course / "outbound", COURSE_MODE), (exchange.inbound, INBOUND_MODE),
                         (exchange.feedback, FEEDBACK_MODE)):
        if not folder.is_dir():
            folder.mkdir(parents=True)
            changed.append(f"created {folder}")
        if stat.S_IMODE(folder.stat().st_mode) != mode:
            os.chmod(folder, mode)  # mkdir's mode passes through the umask; chmod does not
            changed.append(f"{folder}: mode {mode:04o}")
    return changed


@dataclass(frozen=True)
class Inbound:
    """One submission folder's name, as nbgrader collect reads it: the student and the claimed time
    come from the student's process and are not trusted for anything but routing."""
    name: str
    student_id: str
    assignment_id: str
    claimed: str  # the folder name's timestamp


def parse_name(name: str) -> Inbound | None:
    """nbgrader collect's split (rsplit on '+', so a student id may hold '+'); None for other names."""
    parts = name.rsplit("+", 3)
    if len(parts) < 3 or not parts[0] or name.startswith("."):
        return None
    return Inbound(name, parts[0], parts[1], parts[2])


def secret_of(folder: Path) -> str | None:
    """The submission's secret once nbgrader submit has written it (the folder is then complete), else None."""
    try:
        text = read_capped(folder / SECRET_FILE, 1024).decode("ascii").strip()
    except (OSError, ValueError):
        return None
    return text if SECRET.fullmatch(text) else None


class TooLarge(ValueError):
    pass


def read_capped(path: Path, limit: int) -> bytes:
    """A regular file's bytes, never through a link, never blocking on a FIFO; ValueError if it is none,
    TooLarge if it is over `limit` bytes; OSError (FileNotFoundError, ...) if it can't be opened."""
    handle = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    try:
        status = os.fstat(handle)
        if not stat.S_ISREG(status.st_mode):
            raise ValueError(f"{path} is not a regular file")
        if status.st_size > limit:
            raise TooLarge(f"{path} is larger than {limit // 2**20} MiB")
        with os.fdopen(handle, "rb", closefd=False) as file:
            data = file.read(limit + 1)
    finally:
        os.close(handle)
    if len(data) > limit:
        raise TooLarge(f"{path} is larger than {limit // 2**20} MiB")
    return data


def notebook_names(folder: Path) -> list[str]:
    """The notebooks at the folder's top, by name without .ipynb: what fetch_feedback looks feedback up by."""
    try:
        return sorted(entry.name[:-6] for entry in os.scandir(folder)
                      if entry.name.endswith(".ipynb") and entry.is_file(follow_symlinks=False))
    except OSError:
        return []


def collect(source: Path, target: Path, skipped: list) -> None:
    """nbgrader collect's copy of a submission folder into submitted/<student>/<assignment>/, made
    safe: regular files only (a link or a FIFO is skipped), each at most MAX_FILE_BYTES, at most
    MAX_FILES, MAX_DEPTH folders deep. What is left out is appended to `skipped` ("path: why")."""
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{target.name}.", suffix=".partial"))
    try:
        os.chmod(staging, 0o777 & ~UMASK)  # as nbgrader collect's copy makes it (mkdtemp: 0700)
        count = 0
        for folder, dirs, names in os.walk(source):  # os.walk follows no link to a folder
            relative = Path(folder).relative_to(source)
            dirs[:] = [d for d in dirs if not _ignored(d)] if len(relative.parts) < MAX_DEPTH else []
            (staging / relative).mkdir(exist_ok=True)
            for name in sorted(n for n in names if not _ignored(n)):
                if count >= MAX_FILES:
                    skipped.append(f"{relative / name}: more than {MAX_FILES} files")
                    continue
                try:
                    data = read_capped(Path(folder) / name, MAX_FILE_BYTES)
                except (OSError, ValueError) as error:
                    skipped.append(f"{relative / name}: {error}")
                    continue
                (staging / relative / name).write_bytes(data)
                count += 1
        if target.exists():
            _remove_tree(target)
        os.replace(staging, target)
    except BaseException:
        _remove_tree(staging)
        raise


def _ignored(name: str) -> bool:
    return any(fnmatch.fnmatch(name, pattern) for pattern in IGNORED)


def _remove_tree(path: Path) -> None:
    shutil.rmtree(path, ignore_errors=True)


def feedback_path(exchange: Exchange, secret: str, notebook_id: str) -> Path:
    """Where `nbgrader fetch_feedback` looks for a notebook's page (fetch_feedback.py: notebook_hash)."""
    from nbgrader.utils import notebook_hash
    return exchange.feedback / f"{notebook_hash(secret=secret, notebook_id=notebook_id)}.html"


def release(path: Path, page: bytes) -> bool:
    """Put the page at `path`, atomically (a temp name, then a rename), mode 0644. False, writing
    nothing, when the very page is there already (a restart after the rename): never released twice."""
    try:
        if path.read_bytes() == page:
            return False
    except OSError:
        pass
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=".", suffix=".html.partial")
    try:
        os.fchmod(handle, PAGE_MODE)
        with os.fdopen(handle, "wb") as out:
            out.write(page)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise
    return True


def main(argv=None) -> int:
    """`python -m autograder.exchange [COURSE_ROOT]` (make exchange): the course's exchange, idempotently."""
    import sys
    from . import course
    root = (argv if argv is not None else sys.argv[1:] or ["."])[0]
    exchange = of_course(course.read_config(root), course.course_id(root))
    for line in create(exchange) or [f"{exchange.course}: in place, with nbgrader's modes"]:
        print(f"exchange: {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
