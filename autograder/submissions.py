"""Finding submissions: nbgrader's layout, a flat folder (an LMS bulk download), or a .zip of either.

    nbgrader layout   <student_id>/<assignment>/<notebook>.ipynb
    flat              <student_id>.ipynb
    per-student dirs  <student_id>/<notebook>.ipynb       (Moodle-style downloads)

Any of these may sit inside one wrapper folder. A zip is never extracted: members are read
into memory one at a time, with a size cap, so no member name can write outside anything.
"""
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .load import InvalidSubmission

MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_ZIP_MEMBERS = 50_000
IGNORED_PARTS = re.compile(r"^(\.|__MACOSX$)")  # hidden files, .ipynb_checkpoints, macOS resource forks
# the batch writes these next to the per-student folders (its lock and temp files start with '.', which safe_id strips)
OUTPUT_NAMES = {"grades.csv", "report.html"}


class SubmissionsError(Exception):
    """PATH cannot be read at all: the run cannot start."""


@dataclass(frozen=True)
class Submission:
    student_id: str
    origin: str  # where it came from, for people: a path, or zip!member
    path: str  # the file, or the zip holding it
    member: str | None = None  # the zip member
    problem: str | None = None  # known unreadable before reading (e.g. no notebook in the folder)
    note: str | None = None  # something the batch should flag (an id collision)

    def read(self, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
        """The notebook's bytes; InvalidSubmission if it is missing, too large or unreadable."""
        if self.problem:
            raise InvalidSubmission(self.problem)
        try:
            if self.member is None:
                with open(self.path, "rb") as handle:
                    data = handle.read(limit + 1)
            else:
                with zipfile.ZipFile(self.path) as archive, archive.open(self.member) as handle:
                    data = handle.read(limit + 1)
        except EOFError:
            raise InvalidSubmission(f"{self.origin} cannot be read: it is truncated") from None
        except Exception as error:  # OSError, and a damaged zip member's zlib.error, BadZipFile (bad CRC), ...
            raise InvalidSubmission(f"{self.origin} cannot be read: {error}") from None
        if len(data) > limit:
            raise InvalidSubmission(f"the file is larger than {limit // 2**20} MiB")
        return data


def discover(path: str | os.PathLike, assignment_id: str, notebook_id: str | None = None) -> list:
    """Every submission under PATH, sorted by student id."""
    notebook = f"{notebook_id or assignment_id}.ipynb"
    path = Path(path)
    if not path.exists():
        raise SubmissionsError(f"{path} does not exist")
    if path.is_file() and zipfile.is_zipfile(path):
        found = _classify(_zip_files(path), assignment_id, notebook, str(path), zipped=True)
    elif path.is_dir():
        found = _classify(_dir_files(path), assignment_id, notebook, str(path), zipped=False)
    elif path.suffix == ".ipynb":
        found = [(path.stem, str(path), None, None)]
    else:
        raise SubmissionsError(f"{path} is neither a folder, a .zip nor a notebook")
    return _unique(found)


def _dir_files(root: Path) -> list:
    files = []
    for folder, dirs, names in os.walk(root):
        depth = len(Path(folder).relative_to(root).parts)
        dirs[:] = sorted(d for d in dirs if not IGNORED_PARTS.match(d)) if depth < 3 else []
        rel = Path(folder).relative_to(root)
        files += [PurePosixPath(*rel.parts, n) for n in sorted(names) if not IGNORED_PARTS.match(n)]
    return files


def _zip_files(path: Path) -> list:
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as error:  # a name flagged UTF-8 that is not
        raise SubmissionsError(f"{path} is not a readable zip: {error}") from None
    if len(infos) > MAX_ZIP_MEMBERS:
        raise SubmissionsError(f"{path} has more than {MAX_ZIP_MEMBERS} files")
    files = []
    for info in infos:
        name = PurePosixPath(info.filename.replace("\\", "/"))
        if info.is_dir() or name.is_absolute() or ".." in name.parts:
            continue
        if any(IGNORED_PARTS.match(part) for part in name.parts):
            continue
        files.append((name, info.filename))
    return files


def _classify(files, assignment_id: str, notebook: str, base: str, zipped: bool) -> list:
    """(raw student id, origin, member, problem) for each submission the file list holds."""
    found, nbgrader_students = [], {}
    for entry in files:
        name, member = entry if zipped else (entry, None)
        where = f"{base}!{member}" if zipped else str(Path(base, *name.parts))
        parts = name.parts
        if len(parts) >= 3 and parts[-2] == assignment_id:  # nbgrader layout
            student = nbgrader_students.setdefault(parts[-3], [])
            if parts[-1] == notebook:
                student.append((parts[-3], where, member))
        elif name.suffix == ".ipynb" and len(parts) <= 3:
            folder_is_student = len(parts) >= 2 and name.name == notebook
            found.append((parts[-2] if folder_is_student else name.stem, where, member, None))
    for student, notebooks in sorted(nbgrader_students.items()):
        if notebooks:
            found.append((*notebooks[0], None))
        else:
            found.append((student, f"{base}/{student}/{assignment_id}", None,
                          f"no {notebook} in {student}/{assignment_id}/"))
    return found


def _utf8(text: str) -> str:
    """text with the bytes of a file name that is not UTF-8 (os's surrogate escapes) written as \\xff."""
    try:
        return text.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")
    except UnicodeEncodeError:  # a surrogate that is no escaped byte: os never makes one, but never fail
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def safe_id(raw: str) -> str:
    """A student id usable as a folder name: letters (any script), digits, . _ @ -."""
    text = unicodedata.normalize("NFC", _utf8(raw))
    text = re.sub(r"[^\w.@-]+", "_", text).strip("._") or "student"
    return text[:100]


def _unique(found) -> list:
    subs, taken = [], set()
    for raw, origin, member, problem in sorted(found, key=lambda f: (safe_id(f[0]), f[1])):
        student_id = base = safe_id(raw)
        number, note = 1, None
        while student_id in taken or student_id.lower() in OUTPUT_NAMES:
            number += 1
            student_id = f"{base}-{number}"
            note = f"another submission also maps to student id '{base}': this one is graded as '{student_id}'"
            if base.lower() in OUTPUT_NAMES:
                note = f"student id '{base}' is the name of a class-level output: this one is graded as '{student_id}'"
        taken.add(student_id)
        path = origin.split("!", 1)[0] if member else origin  # as os and zipfile spell it, to open it
        subs.append(Submission(student_id, _utf8(origin), path, member, problem and _utf8(problem), note))
    return subs
