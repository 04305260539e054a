"""What students get: one zip, their course folder, with the released assignment and the lecture, never
source/ or samples/.

    python tools/student_bundle.py [ASSIGNMENT] [--dest dist]   ->  dist/<assignment>-student.zip

The zip holds one folder, `<course_id>/`, laid out as tools/student_setup.py describes: the lecture in
notebooks/, the assignment in `<assignment>/<assignment>.ipynb` (where the Assignments tab's Fetch puts
it, so a fetched copy and the bundle's are the same file), SUPPORT.md, the student's Jupyter and nbgrader
config, a requirements.txt with the course's pins for what a student runs, and the Korean README that
starts JupyterLab in that folder. Every file is checked for solution and hidden-test markers.
"""
import argparse
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
import student_setup  # noqa: E402
import support_link  # noqa: E402

SECRET = re.compile(r"BEGIN (SOLUTION|HIDDEN TESTS)")


def build(assignment: str, dest: Path) -> Path:
    release = ROOT / "release" / assignment / f"{assignment}.ipynb"
    if not release.is_file():
        raise SystemExit(f"student_bundle: {release} is missing (run `make release` for the release)")
    files = {**student_setup.folder_files(ROOT, assignment), student_setup.assignment_path(assignment): release}
    for name, source in files.items():
        text = source.read_text(encoding="utf-8") if isinstance(source, Path) else source
        if SECRET.search(text):
            raise SystemExit(f"student_bundle: {source if isinstance(source, Path) else name} holds a solution "
                             "or hidden-test marker: not for students")
    folder = student_setup.course_settings(ROOT).course_id
    dest.mkdir(parents=True, exist_ok=True)
    bundle = dest / f"{assignment}-student.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, source in files.items():
            if isinstance(source, Path):
                archive.write(source, f"{folder}/{name}")
            else:
                archive.writestr(f"{folder}/{name}", source)
    return bundle


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", nargs="?", default="lesson08")
    parser.add_argument("--dest", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    print(f"student bundle: {build(args.assignment, args.dest)}")
    support_link.warn_if_example(ROOT)
    return 0


if __name__ == "__main__":
    sys.exit(main())
