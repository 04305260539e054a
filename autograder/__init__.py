"""Grading for the PyTorch course's nbgrader assignments.

`python -m autograder grade ASSIGNMENT --submissions PATH --out DIR` (cli.py → batch.py).
One submission travels, in grade.grade_submission:

    load.py      bytes → nbformat 4.5 notebook, or InvalidSubmission with a reason
    restore.py   nbgrader cells rebuilt from the gradebook (assignment.py), hidden tests back in
    execute.py   answer cells on the student's kernel, test cells on the referee (boundary/)
    score.py     an outcome, points and a message per graded cell → results.py (a Result)

Below execute: engine/ makes the kernels (fresh from the kernelspec, or forked from a warm
parent) and sandbox.py confines the student's. Around grade_submission: batch.py is the driver
and the single writer (submissions.py finds the files, gradebook.py records each result,
merge.py folds a later GPU run in, files.py writes atomically, lateness.py says how late a
submission is and what it costs); executors/ runs the jobs.
service.py (`python -m autograder serve`) grades each submission as it arrives in nbgrader's
exchange (watch.py, exchange.py), records it as the batch does, releases its feedback through the
exchange, and keeps a durable ledger (ledger.py) so that a restart repeats and loses nothing.
export/ (`python -m autograder export`) writes the gradebook's totals for nbgrader, Moodle or
Canvas, student ids mapped through the instructor's roster.

Shared by all: messages/ (every sentence, by code, per language: results hold codes, a sentence
is made only where one is shown), limits.py (a run's settings), gpu.py (who decides what about
GPUs), protocols.py (the seams: Runner, Engine, KernelProcess, Kernel). views/ renders results
(feedback pages, the report, console progress); the core imports no view: cli.py hands
views.PAGES to batch.grade_all.
"""
