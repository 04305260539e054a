"""The course's pinned versions (requirements.txt) and how an installed torch compares.

Standard library only: tools/wheelhouse.py reads the pins before any venv exists.
"""
import re
from pathlib import Path

REQUIREMENTS = "requirements.txt"
PIN = re.compile(r"^\s*([A-Za-z0-9_.\-]+)\s*==\s*([^\s;#]+)", re.M)


def canonical(name: str) -> str:
    """A distribution name as pip compares them: torch, jupyter-client, ..."""
    return re.sub(r"[-_.]+", "-", name).lower()


def read_pins(path: Path) -> dict[str, str]:
    """name -> version for every `name==version` line."""
    return {canonical(name): version for name, version in PIN.findall(Path(path).read_text())}


def same_release(installed: str, pinned: str) -> bool:
    """2.13.0+cpu and 2.13.0+cu130 are both the pinned 2.13.0: the local build tag is not the version."""
    return installed.split("+")[0] == pinned.split("+")[0]


def torch_against_pin(installed: str, course_root: Path) -> str:
    """doctor's line on the kernel's torch against the course's pin."""
    path = Path(course_root) / REQUIREMENTS
    if not path.is_file():
        return f"unknown: no {REQUIREMENTS} in {course_root}"
    pinned = read_pins(path).get("torch")
    if pinned is None:
        return f"unknown: {path} does not pin torch"
    if same_release(installed, pinned):
        return f"torch=={pinned} ({path}): the kernel's torch matches"
    return (f"torch=={pinned} ({path}): the kernel's torch {installed} DIFFERS. Grading compares each "
            f"answer with what this kernel's own torch does, so its grades hold for {installed}; "
            f"students' laptops run {pinned}")
