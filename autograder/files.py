"""Writing files so that a run killed at any instant leaves either the old file or the new one.

Files get the modes the instructor's umask gives (0644 under the usual 022), as `open` would.
Also here, light enough for the command line's first checks: whether the course's gradebook lock is
held (gradebook_busy), by a grading run or the grading service.
"""
import fcntl
import os
import tempfile
import time
from pathlib import Path

TEMP_SUFFIX = ".partial"
LOG_FILE = "autograder.log"
GRADEBOOK_LOCK = ".autograder-gradebook.lock"  # in the course root: held by the gradebook's one writer


def _read_umask() -> int:
    """The process's umask, without changing it where Linux tells it (another thread may be creating files)."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("Umask:"):
                    return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)  # elsewhere: set and put back at once, while the module is imported
    os.umask(mask)
    return mask


UMASK = _read_umask()
FILE_MODE = 0o666 & ~UMASK


def write_atomic(path: str | os.PathLike, text: str | bytes) -> None:
    path = Path(path)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        os.fchmod(handle, FILE_MODE)  # mkstemp makes it 0600
        with (os.fdopen(handle, "wb") if isinstance(text, bytes) else os.fdopen(handle, "w", encoding="utf-8")) as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def append_log(folder: str | os.PathLike, student_id: str, text: str) -> None:
    """Append an entry to the instructor's FOLDER/autograder.log (a grader failure's traceback)."""
    entry = f"== {time.strftime('%Y-%m-%d %H:%M:%S')} {student_id}\n{text.rstrip()}\n\n"
    with open(Path(folder) / LOG_FILE, "a", encoding="utf-8") as log:
        log.write(entry)


def remove_partials(folder: str | os.PathLike) -> None:
    """Temporary files a killed run left behind."""
    for leftover in Path(folder).glob(f"**/.*{TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)


def gradebook_busy(course_root: str | os.PathLike) -> str | None:
    """Why the course's gradebook can't be written now (another run or the grading service holds its lock),
    or None: a probe, the lock taken and let go at once (batch.gradebook_lock holds it for a run)."""
    root = Path(course_root).resolve()
    try:
        with open(root / GRADEBOOK_LOCK, "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return gradebook_busy_message(root)
    except OSError:
        return None  # the run itself says what is wrong with the folder
    return None


def gradebook_busy_message(root) -> str:
    return (f"another grading run is writing to the gradebook of {root} (a `grade` run, or the grading service "
            "`python -m autograder serve`, which writes it for as long as it runs)")
