"""Grading for the PyTorch course's nbgrader assignments.

`python -m autograder grade ASSIGNMENT --submissions PATH --out DIR` (cli.py → batch.py).
One submission travels, in grade.grade_submission:

    load.py      bytes → nbformat 4.5 notebook, or InvalidSubmission with a reason
    restore.py   nbgrader cells rebuilt from the gradebook (assignment.py), hidden tests back in
    execute.py   answer cells on the student's kernel, test cells on the referee (boundary/)
    score.py     an outcome and points per graded cell → results.py (Gradescope results.json)

Below execute: engine/ makes the kernel (fresh from the kernelspec, or forked from a warm
parent) and sandbox.py confines it. Around grade_submission: batch.py is the driver and the
single writer (submissions.py finds the files, gradebook.py records each result, files.py
writes atomically), executors/ runs the jobs, views/ renders feedback and the report.

Shared by all: limits.py (what a run allows each kernel), gpu.py (who decides what about
GPUs: which test needs one, which kernel has one, provisional results and their merge), and
protocols.py (the seams: Runner, Engine, KernelProcess, Kernel).
"""
