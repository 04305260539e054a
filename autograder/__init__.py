"""Grading for the PyTorch course's nbgrader assignments.

`python -m autograder grade lesson08 --submissions PATH --out DIR` (cli.py → batch.py).
One submission travels, in grade.grade_submission:

    load.py      bytes → nbformat 4.5 notebook, or InvalidSubmission with a reason
    restore.py   nbgrader cells rebuilt from the gradebook (assignment.py), hidden tests back in
    execute.py   cells run on the grading kernel (session.py), guard.py/kernel_guard.py around tests
    score.py     an outcome and points per graded cell → results.py (Gradescope results.json)

batch.py wraps it: submissions.py finds the files, gradebook.py records each result,
feedback.py and report.py render the pages, files.py writes them atomically.
"""
