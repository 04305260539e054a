"""Strip execution noise from the committed notebooks, so diffs show only real changes.

Lecture notebooks keep their outputs (nbval compares them) but lose timings and widget
state; source notebooks lose outputs and execution counts. release/ is nbgrader's output
and is never touched here. Usage: python tools/clean_notebooks.py [--check]
"""
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
CELL_NOISE = ("execution", "collapsed", "scrolled", "ExecuteTime")


def clean(notebook, keep_outputs):
    notebook.metadata.pop("widgets", None)
    for cell in notebook.cells:
        for key in CELL_NOISE:
            cell.metadata.pop(key, None)
        if cell.cell_type == "code" and not keep_outputs:
            cell.outputs, cell.execution_count = [], None
    return notebook


def targets():
    yield from ((path, True) for path in sorted((ROOT / "notebooks").glob("*.ipynb")))
    yield from ((path, False) for path in sorted((ROOT / "source").glob("*/*.ipynb")))


def main(check_only):
    dirty = []
    for path, keep_outputs in targets():
        before = path.read_text(encoding="utf-8")
        after = nbformat.writes(clean(nbformat.reads(before, as_version=4), keep_outputs)) + "\n"
        if after != before:
            dirty.append(path.relative_to(ROOT))
            if not check_only:
                path.write_text(after, encoding="utf-8")
    for path in dirty:
        print(f"{'needs cleaning' if check_only else 'cleaned'}: {path}")
    return 1 if check_only and dirty else 0


if __name__ == "__main__":
    sys.exit(main("--check" in sys.argv))
