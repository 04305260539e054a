"""What one grading run allows each kernel, and which kernelspec grades: the run's settings.

The CLI fills it in, the fingerprint (grade.py) hashes it, and the engines and the session
(engine/session.py) enforce it. It imports nothing of the grader, so anyone may own one.
"""
from dataclasses import dataclass


@dataclass
class Limits:
    kernel_name: str = ""  # the grading kernelspec; "": the course's <course_id>-grader
    cell_timeout: float = 30.0
    notebook_timeout: float = 300.0
    interrupt_grace: float = 5.0
    startup_timeout: float = 60.0
    memory_limit_mb: int = 4096
    max_cell_output: int = 100_000  # bytes of output kept per cell
    max_notebook_output: int = 1_000_000  # ... and per notebook
