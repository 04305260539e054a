"""nbgrader preprocessors this course plugs into `nbgrader autograde` (see nbgrader_config.py)."""
from nbgrader.preprocessors import NbGraderPreprocessor
from nbgrader.utils import is_grade


class StderrIsNotFailure(NbGraderPreprocessor):
    """Relabel stderr as stdout in test cells that raised no error.

    nbgrader scores a test cell with any stderr output as 0, so a correct answer
    that warns or logs would lose its points. A failing test always raises, and
    that error output is left alone.
    """

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "code" and is_grade(cell):
            outputs = cell.get("outputs", [])
            if not any(output.output_type == "error" for output in outputs):
                for output in outputs:
                    if output.output_type == "stream" and output.name == "stderr":
                        output.name = "stdout"
        return cell, resources
