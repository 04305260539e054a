"""Rebuild a submission's nbgrader cells from the assignment, and say what had to be restored.

The same ground as nbgrader's sanitize step (ClearOutput, DeduplicateIds, OverwriteKernelspec,
OverwriteCells with add_missing_cells, CheckCellMetadata), with two differences: every change
becomes a plain-language flag, and a cell's *whole* nbgrader metadata is rewritten from the
source (nbgrader 0.9.6 restores `locked` but not `grade`, so a test cell relabelled
`grade: false` would go ungraded there).
"""
import json
from dataclasses import dataclass, field

from nbformat import NotebookNode
from nbgrader.nbgraderformat import MetadataValidator

from .assignment import Assignment, CellSpec
from .load import InvalidSubmission
from .messages import say

COMPARED = ("grade", "solution", "locked", "points")


@dataclass
class Restored:
    nb: NotebookNode
    flags: list = field(default_factory=list)  # Messages
    missing: set = field(default_factory=set)  # grade_ids the submission did not have


def restore(nb: NotebookNode, assignment: Assignment) -> Restored:
    """Return the notebook as it must be graded. Raises InvalidSubmission if it is not this assignment."""
    out = Restored(nb)
    known = [c for c in nb.cells if assignment.cell(_grade_id(c)) is not None]
    if not known:
        raise InvalidSubmission(say("not_this_notebook", notebook=f"{assignment.notebook_id}.ipynb",
                                    assignment=assignment.assignment_id))
    for cell in nb.cells:
        _clear_output(cell)
        _check_metadata(cell, assignment, out)
    keep = _choose_duplicates(nb, assignment, out)
    for cell in nb.cells:
        spec = assignment.cell(_grade_id(cell))
        if spec is None:
            continue
        if id(cell) not in keep:
            out.flags.append(say("cell_duplicated", grade_id=spec.grade_id))
            del cell.metadata["nbgrader"]
            continue
        _restore_cell(cell, spec, out)
    _put_back_missing(nb, assignment, out)
    _restore_kernelspec(nb, assignment, out)
    _Validator().validate_nb(nb)  # what nbgrader's CheckCellMetadata checks
    return out


class _Validator(MetadataValidator):
    """nbgrader's metadata validator, which checks a cell only once per distinct metadata.
    (jsonschema re-checks the schema itself on every cell: about 0.2 s for one notebook.)"""
    valid: set = set()

    def validate_cell(self, cell) -> None:
        key = (cell.cell_type, json.dumps(cell.metadata.get("nbgrader"), sort_keys=True, default=str))
        if key not in self.valid:
            super().validate_cell(cell)
            self.valid.add(key)


def _grade_id(cell) -> str | None:
    meta = cell.metadata.get("nbgrader")
    return meta.get("grade_id") if isinstance(meta, dict) else None


def _clear_output(cell) -> None:
    """Outputs the student saved never count (nbgrader's ClearOutput)."""
    if cell.cell_type == "code":
        cell.outputs, cell.execution_count = [], None
    cell.metadata.pop("execution", None)


def _check_metadata(cell, assignment: Assignment, out: Restored) -> None:
    meta = cell.metadata.get("nbgrader")
    if meta is None:
        return
    if not isinstance(meta, dict):
        del cell.metadata["nbgrader"]
        out.flags.append(say("metadata_unreadable"))
        return
    grade_id = meta.get("grade_id")
    if assignment.cell(grade_id) is None:
        if meta.get("grade") or meta.get("locked") or meta.get("solution"):
            out.flags.append(say("cell_unknown", grade_id=str(grade_id)[:80], assignment=assignment.assignment_id))
        del cell.metadata["nbgrader"]


def _choose_duplicates(nb, assignment: Assignment, out: Restored) -> set:
    """ids of the cells that keep their grade_id: the untouched copy of a locked cell if there
    is one, else the last copy (nbgrader's DeduplicateIds keeps the last too)."""
    copies = {}
    for cell in nb.cells:
        if (spec := assignment.cell(_grade_id(cell))) is not None:
            copies.setdefault(spec.grade_id, []).append(cell)
    keep = set()
    for grade_id, cells in copies.items():
        spec = assignment.cell(grade_id)
        pristine = [c for c in cells if spec.locked and c.source in (spec.visible_source, spec.source)]
        keep.add(id(pristine[0] if pristine else cells[-1]))
    return keep


def _restore_cell(cell, spec: CellSpec, out: Restored) -> None:
    meta, wanted = cell.metadata["nbgrader"], spec.metadata()
    changed = [say("setting_changed", key=key, old=repr(meta.get(key))[:80], new=repr(wanted[key]))
               for key in COMPARED if key in wanted and _differs(meta.get(key), wanted[key])]
    if cell.cell_type != spec.cell_type:
        changed.append(say("cell_type_changed", old=str(cell.cell_type)[:40], new=spec.cell_type))
        source = cell.source
        cell.clear()
        cell.update(spec.new_cell())
        cell.source = source
    if changed:
        out.flags.append(say("settings_changed", grade_id=spec.grade_id, changes=changed))
    cell.metadata["nbgrader"] = wanted
    if spec.locked:
        if cell.source not in (spec.visible_source, spec.source):
            kind = say("kind_test") if spec.is_test else say("kind_read_only")
            out.flags.append(say("locked_edited", kind=kind, grade_id=spec.grade_id))
        cell.source = spec.source  # hidden tests go back in here
        cell.metadata.update(deletable=False, editable=False)


def _differs(old, new) -> bool:
    if isinstance(new, bool):
        return bool(old) != new
    try:
        return float(old) != float(new)
    except (TypeError, ValueError):
        return True


def _put_back_missing(nb, assignment: Assignment, out: Restored) -> None:
    """Missing test, read-only and written-answer cells go back after the nearest cell before
    them that is there; a missing code answer cell is only reported (putting its stub back
    could undo a definition the student wrote elsewhere)."""
    present = {_grade_id(c) for c in nb.cells if "nbgrader" in c.metadata}
    for position, spec in enumerate(assignment.cells):
        if spec.grade_id in present:
            continue
        out.missing.add(spec.grade_id)
        if not (spec.locked or spec.grade):
            out.flags.append(say("answer_cell_missing", grade_id=spec.grade_id))
            continue
        before = [s.grade_id for s in assignment.cells[:position] if s.grade_id in present]
        index = 0
        if before:
            index = 1 + next(i for i, c in enumerate(nb.cells) if _grade_id(c) == before[-1]
                             and "nbgrader" in c.metadata)
        nb.cells.insert(index, spec.new_cell())
        present.add(spec.grade_id)
        kind = say("kind_test" if spec.is_test else "kind_written" if spec.solution else "kind_read_only")
        out.flags.append(say("cell_put_back", kind=kind, grade_id=spec.grade_id))


def _restore_kernelspec(nb, assignment: Assignment, out: Restored) -> None:
    claimed = nb.metadata.get("kernelspec")
    wanted = assignment.kernelspec
    if wanted and claimed is not None and (not isinstance(claimed, dict)
                                           or claimed.get("name") != wanted.get("name")):
        name = claimed.get("name") if isinstance(claimed, dict) else claimed
        out.flags.append(say("wrong_kernel", name=repr(str(name)[:80]), wanted=repr(wanted.get("name"))))
    if wanted:
        nb.metadata["kernelspec"] = dict(wanted)
