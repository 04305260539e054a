"""Writing files so that a run killed at any instant leaves either the old file or the new one."""
import os
import tempfile
from pathlib import Path

TEMP_SUFFIX = ".partial"


def write_atomic(path: str | os.PathLike, text: str) -> None:
    path = Path(path)
    handle, temp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=TEMP_SUFFIX)
    try:
        with os.fdopen(handle, "w", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temp, path)
    except BaseException:
        os.unlink(temp)
        raise


def remove_partials(folder: str | os.PathLike) -> None:
    """Temporary files a killed run left behind."""
    for leftover in Path(folder).glob(f"**/.*{TEMP_SUFFIX}"):
        leftover.unlink(missing_ok=True)
