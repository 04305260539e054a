"""Where students report a problem: set once, as nbgrader_config.py's `c.CourseSupport.url`.

    python tools/support_link.py sync  [ASSIGNMENT] [--course ROOT]   (`make release` runs it)
    python tools/support_link.py check [ASSIGNMENT] [--course ROOT]   (exit 1 when a file disagrees)

SUPPORT.md, the lecture and the assignment's source carry it as the markdown link
`[문제 알리는 곳](URL)`. `sync` writes the config's URL into each of them (the release follows
from the source: `make release` runs `nbgrader generate_assignment` right after); `check` names
every file, the release included, whose link is missing or differs. CourseSupport is a section
nbgrader ignores. The URL is https:// or mailto:, with no spaces, quotes or brackets, so it
sits unchanged in markdown and in a notebook's JSON.
"""
from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.course import CONFIG_FILE, read_config  # noqa: E402

LABEL = "문제 알리는 곳"
LINK = re.compile(r"\[" + re.escape(LABEL) + r"\]\(([^)\s]*)\)")
VALID_URL = re.compile(r"(https://|mailto:)[^\s()<>\"'\\`\[\]]+")
# Reserved for examples (RFC 2606): the default until an instructor sets the course's own.
EXAMPLE_HOST = re.compile(r"^https://([^/]*\.)?example\.(org|com|net)(/|$)|^mailto:[^@]*@example\.(org|com|net)$")


def support_url(root: str | Path) -> str:
    """The course's `c.CourseSupport.url`; ValueError naming the file when it is unset or unusable."""
    url = read_config(root).CourseSupport.get("url")
    if not isinstance(url, str) or not VALID_URL.fullmatch(url):
        raise ValueError(f"{Path(root) / CONFIG_FILE}: c.CourseSupport.url = {url!r} is not a link students can "
                         "open: set an https:// address (an LMS board, an issue tracker) or a mailto: address")
    return url


def is_example(url: str) -> bool:
    return bool(EXAMPLE_HOST.match(url))


def carriers(root: str | Path, assignment: str) -> list[Path]:
    """The files `sync` writes: SUPPORT.md, the lecture, the assignment's source."""
    root = Path(root)
    return [root / "SUPPORT.md", root / "notebooks" / f"{assignment}.ipynb",
            root / "source" / assignment / f"{assignment}.ipynb"]


def checked(root: str | Path, assignment: str) -> list[Path]:
    """The files `check` reads: the carriers and the release generated from the source."""
    return carriers(root, assignment) + [Path(root) / "release" / assignment / f"{assignment}.ipynb"]


def disagreements(root: str | Path, assignment: str) -> list[str]:
    """One line per file whose support link is missing or is not the config's URL."""
    url = support_url(root)
    problems = []
    for path in checked(root, assignment):
        found = set(LINK.findall(path.read_text(encoding="utf-8"))) if path.is_file() else None
        if found is None:
            problems.append(f"{path}: missing")
        elif not found:
            problems.append(f"{path}: no [{LABEL}](...) link")
        elif found != {url}:
            problems.append(f"{path}: links to {', '.join(sorted(found))}, the course config says {url}")
    return problems


def sync(root: str | Path, assignment: str) -> list[Path]:
    """Write the config's URL into every carrier's support link; the files changed. A carrier without
    the link is an error (SystemExit naming it): the link's text is how sync finds it."""
    url = support_url(root)
    changed = []
    for path in carriers(root, assignment):
        text = path.read_text(encoding="utf-8")
        if not LINK.search(text):
            raise SystemExit(f"support_link: {path} has no [{LABEL}](...) link to keep up to date")
        new = LINK.sub(lambda _: f"[{LABEL}]({url})", text)
        if new != text:
            path.write_text(new, encoding="utf-8")
            changed.append(path)
    return changed


def warn_if_example(root: str | Path) -> None:
    url = support_url(root)
    if is_example(url):
        print(f"support_link: c.CourseSupport.url is still the example address {url}: set your course's own "
              f"in {Path(root) / CONFIG_FILE} before students get the release or the bundle", file=sys.stderr)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("action", choices=("sync", "check"))
    parser.add_argument("assignment", nargs="?", default="lesson08")
    parser.add_argument("--course", type=Path, default=ROOT, metavar="ROOT")
    args = parser.parse_args(argv)
    try:
        if args.action == "sync":
            for path in sync(args.course, args.assignment):
                print(f"support link: {path.relative_to(args.course)} now links to {support_url(args.course)}")
            warn_if_example(args.course)
            return 0
        problems = disagreements(args.course, args.assignment)
    except ValueError as error:
        print(f"support_link: {error}", file=sys.stderr)
        return 2
    for line in problems:
        print(f"support link: {line}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
