"""Notebook bytes → an nbformat 4.5 notebook, or InvalidSubmission naming what is wrong."""
import json
import warnings
from collections import Counter

import nbformat
from nbformat import NotebookNode
from nbformat.v4.nbbase import random_cell_id

CELL_TYPES = ("code", "markdown", "raw")


class InvalidSubmission(Exception):
    """The submission is not a readable notebook of this assignment; the message says why."""


def read_notebook(data: bytes) -> tuple[NotebookNode, list[str]]:
    """Parse, upgrade and repair a submitted notebook; return it and what had to be repaired."""
    if not data.strip():
        raise InvalidSubmission("the file is empty")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidSubmission("the file is not text (not UTF-8): it is not a notebook") from None
    try:
        raw = json.loads(text)
    except ValueError as error:
        where = f" (line {error.lineno}, column {error.colno})" if hasattr(error, "lineno") else ""
        raise InvalidSubmission(f"the file is not valid JSON{where}: the notebook is damaged "
                                "or truncated") from None
    _check_shape(raw)
    flags = []
    ids = [c.get("id") for c in raw.get("cells", []) if isinstance(c.get("id"), str)]
    repeated = sorted(i for i, n in Counter(ids).items() if n > 1)
    if repeated:
        flags.append(f"duplicate cell ids ({', '.join(repeated[:5])}): given new ids")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nb = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises many types for malformed documents
        raise InvalidSubmission(f"nbformat cannot read it as a notebook: {error}") from None
    _upgrade_to_45(nb)
    try:
        nbformat.validate(nb)
    except nbformat.ValidationError as error:
        flags.append(f"the notebook does not follow the nbformat schema ({error.message}); graded anyway")
    return nb, flags


def _check_shape(raw) -> None:
    if not isinstance(raw, dict) or not isinstance(raw.get("nbformat"), int):
        raise InvalidSubmission("the file is JSON but not a Jupyter notebook")
    if raw["nbformat"] < 3 or raw["nbformat"] > 4:
        raise InvalidSubmission(f"nbformat {raw['nbformat']} is not supported (expected 4)")
    cells = raw.get("cells") if raw["nbformat"] == 4 else [
        c for ws in raw.get("worksheets", []) if isinstance(ws, dict) for c in ws.get("cells", [])]
    if not isinstance(cells, list):
        raise InvalidSubmission("the notebook has no list of cells")
    for number, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in CELL_TYPES + ("heading",):
            raise InvalidSubmission(f"cell {number} is not a notebook cell")
        source = cell.get("source", cell.get("input", ""))
        if not isinstance(source, (str, list)) or (
                isinstance(source, list) and not all(isinstance(s, str) for s in source)):
            raise InvalidSubmission(f"cell {number} has no readable source")
        if not isinstance(cell.get("metadata", {}), dict):
            raise InvalidSubmission(f"cell {number} has unreadable metadata")


def _upgrade_to_45(nb: NotebookNode) -> None:
    """nbformat 4.4 and older have no cell ids; nbclient and nbgrader want them."""
    seen = set()
    for cell in nb.cells:
        if not isinstance(cell.get("id"), str) or cell["id"] in seen:
            cell["id"] = random_cell_id()
        seen.add(cell["id"])
    nb.nbformat_minor = max(nb.get("nbformat_minor", 0), 5)
