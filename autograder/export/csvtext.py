"""CSV text as every export file is written: UTF-8 with a byte order mark (Excel then shows Hangul),
"\\n" line ends, numbers as grades.csv writes them."""
import csv
import io


def points(value: float | None) -> str:
    """A number of points as batch.grades_csv writes them: up to 4 decimals, no trailing zeros
    (28, 27.5, 0.3333; never 28.0 or -0); None (no grade) as an empty cell."""
    if value is None:
        return ""
    return f"{round(float(value), 4) + 0.0:.4f}".rstrip("0").rstrip(".")


def csv_text(rows) -> str:
    """The rows (header first), each a sequence of cells, as CSV text with a byte order mark."""
    buffer = io.StringIO()
    buffer.write("\ufeff")
    csv.writer(buffer, lineterminator="\n").writerows(rows)
    return buffer.getvalue()
