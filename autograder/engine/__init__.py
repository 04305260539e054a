"""How a grading kernel comes to exist for one submission, and how the grader talks to it."""
