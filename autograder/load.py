"""Notebook bytes → an nbformat 4.5 notebook, or InvalidSubmission naming what is wrong."""
import json
import warnings
from collections import Counter

import nbformat
from nbformat import NotebookNode
from nbformat.v4.nbbase import random_cell_id

from .messages import Message, say

CELL_TYPES = ("code", "markdown", "raw")


class InvalidSubmission(Exception):
    """The submission is not a readable notebook of this assignment; `reason` (a Message) says why."""

    def __init__(self, reason: Message):
        super().__init__(reason.text())
        self.reason = reason


def read_notebook(data: bytes) -> tuple[NotebookNode, list[Message]]:
    """Parse, upgrade and repair a submitted notebook; return it and what had to be repaired."""
    if not data.strip():
        raise InvalidSubmission(say("file_empty"))
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidSubmission(say("not_utf8")) from None
    try:
        raw = json.loads(text)
    except ValueError as error:
        reason = (say("not_json_at", line=error.lineno, column=error.colno) if hasattr(error, "lineno")
                  else say("not_json"))
        raise InvalidSubmission(reason) from None
    _check_shape(raw)
    flags = []
    ids = [c.get("id") for c in raw.get("cells", []) if isinstance(c.get("id"), str)]
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        flags.append(say("duplicate_ids", ids=", ".join(repeated[:5])))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises many types for malformed documents
        raise InvalidSubmission(say("nbformat_error", error=str(error)[:500])) from None
    _upgrade_to_45(nb)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        flags.append(say("schema_invalid", error=str(error.message)[:300]))
    return nb, flags


def _check_shape(raw) -> None:
    if not isinstance(raw, dict) or not isinstance(raw.get("nbformat"), int):
        raise InvalidSubmission(say("not_notebook_json"))
    if raw["nbformat"] < 3 or raw["nbformat"] > 4:
        raise InvalidSubmission(say("nbformat_version", version=raw["nbformat"]))
    cells = raw.get("cells") if raw["nbformat"] == 4 else [
        c for ws in raw.get("worksheets", []) if isinstance(ws, dict) for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        raise InvalidSubmission(say("no_cells"))
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in CELL_TYPES + ("heading",):
            raise InvalidSubmission(say("not_a_cell", number=number))
        source = cell.get("source", cell.get("input", ""))
        if not isinstance(source, (str, list)) or (
                isinstance(source, list) and not all(isinstance(s, str) for s in source)):
            raise InvalidSubmission(say("no_source", number=number))
        if not isinstance(cell.get("metadata", {}), dict):
            raise InvalidSubmission(say("bad_metadata", number=number))


def _upgrade_to_45(nb: NotebookNode) -> None:
    """nbformat 4.4 and older have no cell ids; nbclient and nbgrader want them."""
    seen = set()
    for cell in nb.cells:
        if not isinstance(cell.get("id"), str) or cell["id"] in seen:
            cell["id"] = random_cell_id()
        seen.add(cell["id"])
    nb.nbformat_minor = max(nb.get("nbformat_minor", 0), 5)
