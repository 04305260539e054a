"""Finding submissions: nbgrader's layout, a flat folder (an LMS bulk download), or a .zip of either.

    nbgrader layout   <student_id>/<assignment>/<notebook>.ipynb
    flat              <student_id>.ipynb
    per-student dirs  <student_id>/<notebook>.ipynb       (Moodle-style downloads)

Any of these may sit inside one wrapper folder. A .zip found inside (a late submission, a zip in a
zip) is opened as if its files lay where it lies; one at the top holding <notebook>.ipynb itself is
that student's, named after the zip. A zip is never extracted: members are read into memory one at a
time, with a size cap, so no member name can write outside anything. survey() accounts for every
file: each is a submission or is ignored with a reason.
"""
import io
import os
import re
import unicodedata
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from .load import InvalidSubmission
from .messages import Message, say

MAX_NOTEBOOK_BYTES = 20 * 2**20
MAX_ZIP_BYTES = 200 * 2**20  # a zip inside a zip is read into memory
MAX_ZIP_MEMBERS = 50_000
MAX_ZIP_DEPTH = 3  # zips in zips
MAX_FOLDER_DEPTH = 3  # folders below PATH that are searched
# hidden files, .ipynb_checkpoints, macOS resource forks: noise, skipped without being listed as ignored
IGNORED_PARTS = re.compile(r"^(\.|__MACOSX$)")
# the batch writes these next to the per-student folders (its lock and temp files start with '.', which safe_id strips)
OUTPUT_NAMES = {"grades.csv", "report.html"}
# what a browser or a file manager appends to a name: " (1)", "(2)", " - Copy", " copy", " copy 2"
COPY_SUFFIX = re.compile(r"(?:\s*\((\d+)\)|\s*-\s*copy|\s+copy(?:\s+(\d+))?)$", re.IGNORECASE)
UTF8_NAME_FLAG = 0x800


class SubmissionsError(Exception):
    """PATH cannot be read at all: the run cannot start."""


@dataclass(frozen=True)
class Submission:
    student_id: str
    origin: str  # where it came from, for people: a path, or zip!member, or zip!inner.zip!member
    path: str  # the file, or the zip holding it
    member: str | None = None  # the zip member (innermost), as zipfile spells it
    problem: Message | None = None  # known unreadable before reading (e.g. no notebook in the folder)
    note: Message | None = None  # something the batch should flag (an id collision)
    chain: tuple[str, ...] = ()  # the members of the zips in PATH, outermost first, that hold MEMBER
    raw_id: str = ""  # the name student_id comes from (NFC), before safe_id and collisions

    def read(self, limit: int = MAX_NOTEBOOK_BYTES) -> bytes:
        """The notebook's bytes; InvalidSubmission if it is missing, too large or unreadable."""
        if self.problem:
            raise InvalidSubmission(self.problem)
        try:
            if self.member is None:
                with open(self.path, "rb") as handle:
                    data = handle.read(limit + 1)
            else:
                with _open_zip(self.path, self.chain) as archive, archive.open(self.member) as handle:
                    data = handle.read(limit + 1)
        except EOFError:
            raise InvalidSubmission(say("zip_truncated", origin=self.origin)) from None
        except Exception as error:  # OSError, and a damaged zip member's zlib.error, BadZipFile (bad CRC), ...
            raise InvalidSubmission(say("unreadable", origin=self.origin, error=_utf8(str(error)))) from None
        if len(data) > limit:
            raise InvalidSubmission(say("too_large", mib=limit // 2**20))
        return data


@dataclass(frozen=True)
class Ignored:
    origin: str  # a file, a zip member, or a folder (everything in it)
    reason: Message


@dataclass(frozen=True)
class Survey:
    submissions: list[Submission]  # sorted by student id
    ignored: list[Ignored]  # sorted by origin


@dataclass(frozen=True)
class _File:
    parts: tuple  # its place, as classified: a nested zip's files lie where the zip lies
    origin: str
    parent: str  # its folder's origin
    path: str
    chain: tuple = ()
    member: str | None = None
    holder: str | None = None  # the stem of the nested zip whose top level holds it


def discover(path: str | os.PathLike, assignment_id: str, notebook_id: str | None = None) -> list:
    """Every submission under PATH, sorted by student id."""
    return survey(path, assignment_id, notebook_id).submissions


def survey(path: str | os.PathLike, assignment_id: str, notebook_id: str | None = None) -> Survey:
    """Every submission under PATH, and every other file with the reason it is not one."""
    notebook = f"{notebook_id or assignment_id}.ipynb"
    path, ignored = Path(path), []
    if not path.exists():
        raise SubmissionsError(f"{path} does not exist")
    if path.is_file() and zipfile.is_zipfile(path):
        try:
            archive = zipfile.ZipFile(path)
        except (zipfile.BadZipFile, OSError, UnicodeDecodeError) as error:  # a name flagged UTF-8 that is not
            raise SubmissionsError(f"{path} is not a readable zip: {error}") from None
        with archive:
            if len(archive.infolist()) > MAX_ZIP_MEMBERS:
                raise SubmissionsError(f"{path} has more than {MAX_ZIP_MEMBERS} files")
            files = _zip_files(archive, str(path), str(path), (), (), None, 1, ignored)
    elif path.is_dir():
        files = _dir_files(path, ignored)
    elif path.suffix == ".ipynb":
        files = [_File((path.name,), str(path), str(path.parent), str(path))]
    else:
        raise SubmissionsError(f"{path} is neither a folder, a .zip nor a notebook")
    found = _classify(files, assignment_id, notebook, ignored)
    ignored = [Ignored(_utf8(i.origin), i.reason) for i in ignored]
    return Survey(_unique(found), sorted(ignored, key=lambda i: i.origin))


def _dir_files(root: Path, ignored: list) -> list:
    files = []
    for folder, dirs, names in os.walk(root):
        rel = Path(folder).relative_to(root)
        links = [d for d in dirs if os.path.islink(os.path.join(folder, d))]  # os.walk does not follow them
        ignored += [Ignored(os.path.join(folder, d), say("link_to_folder")) for d in links]
        dirs[:] = sorted(d for d in dirs if not IGNORED_PARTS.match(d) and d not in links)
        if len(rel.parts) >= MAX_FOLDER_DEPTH:
            ignored += [Ignored(os.path.join(folder, d), say("folders_too_deep", depth=MAX_FOLDER_DEPTH))
                        for d in dirs]
            dirs[:] = []
        for name in sorted(n for n in names if not IGNORED_PARTS.match(n)):
            file = os.path.join(folder, name)
            if name.lower().endswith(".zip"):
                files += _nested(lambda: zipfile.ZipFile(file), file, file, (), rel.parts, name, 1, ignored)
            else:
                files.append(_File((*rel.parts, name), file, folder, file))
    return files


def _zip_files(archive, origin: str, path: str, chain: tuple, folder: tuple, holder, depth: int, ignored) -> list:
    """The files in ARCHIVE (at ORIGIN, read as PATH!CHAIN, DEPTH zips deep), placed in FOLDER."""
    files = []
    for info in archive.infolist():
        if info.is_dir():
            continue
        shown = _member_name(info)
        where, name = f"{origin}!{shown}", PurePosixPath(shown.replace("\\", "/"))
        if name.is_absolute() or ".." in name.parts:
            ignored.append(Ignored(where, say("outside_zip")))
        elif any(IGNORED_PARTS.match(part) for part in name.parts):
            continue
        elif name.suffix.lower() == ".zip":
            load = lambda info=info: zipfile.ZipFile(io.BytesIO(_read_capped(archive, info, MAX_ZIP_BYTES)))
            files += _nested(load, where, path, (*chain, info.filename), (*folder, *name.parent.parts), name.name,
                             depth + 1, ignored)
        else:
            parent = f"{origin}!{name.parent}" if len(name.parts) > 1 else origin
            files.append(_File((*folder, *name.parts), where, parent, path, chain, info.filename,
                               holder if len(name.parts) == 1 else None))
    return files


def _nested(load, origin: str, path: str, chain: tuple, folder: tuple, name: str, depth: int, ignored) -> list:
    """The files of the zip NAME found in FOLDER; none, and the zip ignored with the reason, if it cannot be read."""
    if depth > MAX_ZIP_DEPTH:
        ignored.append(Ignored(origin, say("zip_too_deep", depth=MAX_ZIP_DEPTH - 1)))
        return []
    try:
        with load() as archive:
            if len(archive.infolist()) > MAX_ZIP_MEMBERS:
                ignored.append(Ignored(origin, say("zip_too_many", count=MAX_ZIP_MEMBERS)))
                return []
            return _zip_files(archive, origin, path, chain, folder, PurePosixPath(name).stem, depth, ignored)
    except Exception as error:  # BadZipFile, OSError, too large, a damaged member, a name flagged UTF-8 that is not
        ignored.append(Ignored(origin, say("zip_unreadable", error=_utf8(str(error)))))
        return []


def _read_capped(archive, member, cap: int) -> bytes:
    info = member if isinstance(member, zipfile.ZipInfo) else archive.getinfo(member)
    if info.file_size > cap:
        raise ValueError(f"it is larger than {cap // 2**20} MiB")
    with archive.open(info) as handle:
        data = handle.read(cap + 1)
    if len(data) > cap:
        raise ValueError(f"it is larger than {cap // 2**20} MiB")
    return data


def _open_zip(path: str, chain: tuple = ()):
    """The zip at PATH, or the one nested in it through the members of CHAIN, read into memory."""
    archive = zipfile.ZipFile(path)
    for member in chain:
        with archive:
            data = _read_capped(archive, member, MAX_ZIP_BYTES)
        archive = zipfile.ZipFile(io.BytesIO(data))
    return archive


def _member_name(info: zipfile.ZipInfo) -> str:
    """A member's name as its writer meant it. zipfile reads a name without the UTF-8 flag as cp437, but
    most tools wrote the system's code page: UTF-8, or CP949 on Korean Windows."""
    if info.flag_bits & UTF8_NAME_FLAG:
        return info.filename
    try:
        raw = info.filename.encode("cp437")
    except UnicodeEncodeError:  # not read as cp437 after all
        return info.filename
    for encoding in ("utf-8", "cp949"):
        try:
            return raw.decode(encoding)
        except UnicodeDecodeError:
            pass
    return info.filename


def _copy_number(name: str, notebook: str) -> int | None:
    """None unless NAME is NOTEBOOK but for case and copy suffixes; else the copy's number (0: none)."""
    stem, wanted = PurePosixPath(name), PurePosixPath(notebook)
    if stem.suffix.lower() != wanted.suffix.lower():
        return None
    stem, number = stem.stem, 0
    while stem.lower() != wanted.stem.lower():
        match = COPY_SUFFIX.search(stem)
        if not match:
            return None
        number = max(number, int(match.group(1) or match.group(2) or 0))
        stem = stem[:match.start()]
    return number


def _classify(files, assignment_id: str, notebook: str, ignored: list) -> list:
    """(raw student id, _File, problem) for each submission the file list holds; the rest to IGNORED."""
    found, nbgrader_students, copies = [], {}, {}
    for file in files:
        parts, name = file.parts, file.parts[-1]
        is_notebook = name.lower().endswith(".ipynb")
        if len(parts) >= 3 and parts[-2] == assignment_id:  # nbgrader layout
            student = nbgrader_students.setdefault(parts[-3], ([], file.parent))[0]
            if name == notebook:
                student.append(file)
            else:
                layout = f"<student>/{assignment_id}/{notebook}"
                ignored.append(Ignored(file.origin, say("not_in_layout", notebook=notebook, layout=layout)
                                       if is_notebook else say("not_a_notebook")))
        elif not is_notebook:
            ignored.append(Ignored(file.origin, say("not_a_notebook")))
        elif len(parts) > 3:
            ignored.append(Ignored(file.origin, say("notebook_too_deep", layout=f"<wrapper>/<student>/{notebook}")))
        elif (number := _copy_number(name, notebook)) is not None and (len(parts) >= 2 or file.holder):
            # per-student folder (or a zip named after the student): one notebook for it
            copies.setdefault(parts[:-1] or (file.holder,), []).append((name != notebook, -number, len(name), file))
        else:
            found.append((PurePosixPath(name).stem, file, None))
    for folder, candidates in copies.items():
        graded, *others = [c[-1] for c in sorted(candidates, key=lambda c: c[:3])]  # stable: sorted files
        found.append((folder[-1], graded, None))
        _other_copies(folder[-1], graded, others, 2, ignored)
    for student, (notebooks, parent) in sorted(nbgrader_students.items()):
        if notebooks:
            found.append((student, notebooks[0], None))
            _other_copies(student, notebooks[0], notebooks[1:], 3, ignored)
        else:
            found.append((student, _File((), parent, parent, parent),
                          say("no_notebook_in", notebook=notebook, folder=_utf8(f"{student}/{assignment_id}/"))))
    return found


def _other_copies(student: str, graded: _File, others: list, shown: int, ignored: list):
    where = "/".join(graded.parts[-shown:]) if len(graded.parts) >= shown else graded.origin
    for other in others:
        ignored.append(Ignored(other.origin, say("another_copy", student=_utf8(student), where=_utf8(where))))


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
    for raw, file, problem in sorted(found, key=lambda f: (safe_id(f[0]), f[1].origin)):
        student_id = base = safe_id(raw)
        number, note = 1, None
        while student_id in taken or student_id.lower() in OUTPUT_NAMES:
            number += 1
            student_id = f"{base}-{number}"
            note = say("id_reserved" if base.lower() in OUTPUT_NAMES else "id_collision", base=base,
                       student_id=student_id)
        taken.add(student_id)
        subs.append(Submission(student_id, _utf8(file.origin), file.path, file.member, problem,
                               note, file.chain, unicodedata.normalize("NFC", _utf8(raw))))
    return subs
