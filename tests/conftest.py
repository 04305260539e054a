import sys
from pathlib import Path

# Test helpers (course.py, mutants.py) import as top-level modules.
sys.path.insert(0, str(Path(__file__).parent))

# The autograder's fixtures (a scratch course and its assignment) live in their own module.
from autograder_fixtures import (ag_answers, ag_assignment, ag_course, nbgrader_release,  # noqa: E402,F401
                                 nbgrader_scores, samples_graded, warm_class)
