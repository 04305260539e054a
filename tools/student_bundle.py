"""What students get: one zip with the released assignment and the lecture, never source/ or samples/.

    python tools/student_bundle.py [ASSIGNMENT] [--dest dist]   ->  dist/<assignment>-student.zip

The zip keeps the repository's layout for what it holds (release/<a>/<a>.ipynb,
notebooks/<a>.ipynb, the lecture's optional part notebooks/<a>_more.ipynb where there is one,
SUPPORT.md), so the notebooks' relative links work in both, and adds a
student README (Korean) and a requirements.txt with the course's pins for what a student runs:
JupyterLab with nbgrader's Validate button, the kernel, torch, numpy and matplotlib.
Standard library only.
"""
import argparse
import re
import sys
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from autograder.pins import read_pins  # noqa: E402  (standard library only)

STUDENT_PACKAGES = ("torch", "numpy", "matplotlib", "jupyterlab", "nbgrader", "ipykernel")
SECRET = re.compile(r"BEGIN (SOLUTION|HIDDEN TESTS)")

README = """# {assignment}: 학생용 묶음

이 묶음에는 강의 노트북과 과제 노트북이 들어 있어.

- `notebooks/{assignment}.ipynb`: 강의. 먼저 읽고 cell을 직접 돌려 봐.
{more}- `release/{assignment}/{assignment}.ipynb`: 과제. 이 파일을 채워서 이름 그대로 제출해.
- `SUPPORT.md`: 문제가 있을 때 알리는 방법.

## 시작하기 (Python 3.11, GPU 없어도 돼)

```bash
python3 -m venv .venv && .venv/bin/pip install -r requirements.txt
.venv/bin/python -m ipykernel install --sys-prefix --name pytorch-course --display-name "PyTorch course"
.venv/bin/jupyter lab notebooks/{assignment}.ipynb
```

과제를 다 채웠으면 **Kernel → Restart Kernel and Run All Cells**, 그다음 툴바의 **Validate** 버튼.
GPU 없는 컴퓨터에서는 `_gpu` test들이 건너뛰었다고 찍히는데, 그게 정상이야: 과정의 GPU 채점 kernel에서 채점돼.
"""


MORE = "- `notebooks/{name}`: 더 알아보기 (선택). 강의가 링크해 둔 깊은 얘기.\n"


def build(assignment: str, dest: Path) -> Path:
    files = {
        f"release/{assignment}/{assignment}.ipynb": ROOT / "release" / assignment / f"{assignment}.ipynb",
        f"notebooks/{assignment}.ipynb": ROOT / "notebooks" / f"{assignment}.ipynb",
        "SUPPORT.md": ROOT / "SUPPORT.md",
    }
    more = ROOT / "notebooks" / f"{assignment}_more.ipynb"   # the lecture's optional part, linked from it
    if more.is_file():
        files[f"notebooks/{more.name}"] = more
    for name, path in files.items():
        if not path.is_file():
            raise SystemExit(f"student_bundle: {path} is missing (run `make release` for the release)")
        if SECRET.search(path.read_text(encoding="utf-8")):
            raise SystemExit(f"student_bundle: {path} holds a solution or hidden-test marker: not for students")
    pins = read_pins(ROOT / "requirements.txt")
    requirements = "".join(f"{name}=={pins[name]}\n" for name in STUDENT_PACKAGES)
    dest.mkdir(parents=True, exist_ok=True)
    bundle = dest / f"{assignment}-student.zip"
    with zipfile.ZipFile(bundle, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, path in files.items():
            archive.write(path, f"{assignment}/{name}")
        readme = README.format(assignment=assignment, more=MORE.format(name=more.name) if more.is_file() else "")
        archive.writestr(f"{assignment}/README.md", readme)
        archive.writestr(f"{assignment}/requirements.txt", requirements)
    return bundle


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("assignment", nargs="?", default="lesson08")
    parser.add_argument("--dest", type=Path, default=ROOT / "dist")
    args = parser.parse_args(argv)
    print(f"student bundle: {build(args.assignment, args.dest)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
