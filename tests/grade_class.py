"""`python tests/grade_class.py ENGINE CLASS COURSE OUT`: grade_all of the class folder CLASS on the
engine ENGINE, with CLASS_LIMITS (autograder_fixtures) and ENGINES_WORKERS workers, as a trial run in the scratch
course COURSE, its results in OUT. The engines' class is graded so (autograder_fixtures.warm_class_run
and fresh_class_run), in a process of its own that starts with the session, while the tests run."""
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from autograder.batch import Options, grade_all  # noqa: E402
from autograder.limits import Limits  # noqa: E402
from autograder.views import PAGES  # noqa: E402
from autograder_fixtures import CLASS_LIMITS, ENGINES_WORKERS  # noqa: E402


def main(engine: str, folder: str, course: str, out: str) -> None:
    with open(os.devnull, "w") as quiet:
        grade_all(course, "lesson08", folder, out, Limits(**CLASS_LIMITS), Options(engine=engine, workers=ENGINES_WORKERS),
                  stream=quiet, pages=PAGES)


if __name__ == "__main__":
    main(*sys.argv[1:])
