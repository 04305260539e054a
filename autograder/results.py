"""The result of grading one submission, in Gradescope's results.json form.

A results dict is plain JSON data: top-level `score`, `execution_time`, `output`, `tests[]`
(`name`, `score`, `max_score`, `status`, `output`, `visibility`, `extra_data`) and the
submission's `extra_data` (`status`, `flags`, `kernel`, ...). Feedback, the report,
grades.csv and the gradebook are all views of it.
"""
from dataclasses import dataclass, field

# A test's outcome (extra_data.outcome).
PASSED, FAILED, TIMEOUT, ERROR = "passed", "failed", "timeout", "error"
NEEDS_GPU, MISSING, MANUAL = "needs_gpu", "missing", "manual"
OUTCOMES = (PASSED, FAILED, TIMEOUT, ERROR, NEEDS_GPU, MISSING, MANUAL)

# A submission's status (extra_data.status).
GRADED, PROVISIONAL, INVALID, GRADER_ERROR = "graded", "provisional", "invalid", "error"
STATUSES = (GRADED, PROVISIONAL, INVALID, GRADER_ERROR)

MAX_TEST_OUTPUT = 4_000  # characters of one test's output kept in results.json
MAX_FLAGS = 50
MAX_FLAG_CHARS = 500


def clip(text: str, limit: int) -> str:
    text = text or ""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}\n... [{len(text) - limit:,} characters truncated]"


@dataclass
class TestResult:
    name: str  # the grade_id
    score: float
    max_score: float
    outcome: str
    output: str = ""
    hidden: bool = False  # the test cell has hidden tests: never show its source
    description: str = ""  # what the test checks, in words (its docstring's first line), for the feedback page

    def to_dict(self) -> dict:
        data = {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "status": "passed" if self.outcome == PASSED else "failed",
            "output": clip(self.output, MAX_TEST_OUTPUT),
            "visibility": "after_published" if self.hidden else "visible",
            "extra_data": {"outcome": self.outcome, "hidden": self.hidden},
        }
        if self.description:
            data["extra_data"]["description"] = self.description
        return data


@dataclass
class Result:
    student_id: str
    assignment: str
    status: str
    tests: list = field(default_factory=list)
    flags: list = field(default_factory=list)
    kernel: dict | None = None
    output: str = ""
    execution_time: float = 0.0
    max_score: float = 0.0
    fingerprint: str = ""

    def flag(self, message: str) -> None:
        message = clip(message, MAX_FLAG_CHARS)
        if message not in self.flags and len(self.flags) < MAX_FLAGS:
            self.flags.append(message)

    @property
    def score(self) -> float:
        return round(sum(t.score for t in self.tests), 4)

    def to_dict(self) -> dict:
        return {
            "score": self.score,
            "execution_time": round(self.execution_time, 2),
            "output": clip(self.output, MAX_TEST_OUTPUT),
            "tests": [t.to_dict() for t in self.tests],
            "extra_data": {
                "student_id": self.student_id,
                "assignment": self.assignment,
                "status": self.status,
                "flags": list(self.flags),
                "kernel": self.kernel,
                "max_score": self.max_score,
                "fingerprint": self.fingerprint,
            },
        }


def outcome_of(test: dict) -> str:
    return test["extra_data"]["outcome"]


def grade_row(results: dict) -> dict:
    """One row of grades.csv from a results dict."""
    extra = results["extra_data"]
    return {
        "student_id": extra["student_id"],
        "score": results["score"],
        "max_score": extra["max_score"],
        "status": extra["status"],
        "flags": "; ".join(extra["flags"]),
    }
