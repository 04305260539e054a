"""The result of grading one submission, and its results.json form (Gradescope's).

A `Result` holds Messages (messages.py), not sentences. Its dict is plain JSON data: top-level
`score`, `execution_time`, `output`, `tests[]` (`name`, `score`, `max_score`, `status`,
`output`, `visibility`, `extra_data`) and the submission's `extra_data` (`status`, `flags`,
`kernel`, ...). Gradescope's `output` fields and `flags` hold the English text; beside them,
`extra_data.message` (a test's), `extra_data.messages` (the submission's output) and
`extra_data.flag_messages` hold the codes and fields, which the pages render in their language.
Feedback, the report, grades.csv and the gradebook are all views of it.
"""
import re
from dataclasses import dataclass, field

from .messages import Message

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
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")  # colour codes in Jupyter tracebacks


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
    message: Message | None = None  # what the test said (a failure, what it printed), or None
    hidden: bool = False  # the test cell has hidden tests: never show its source
    description: str = ""  # what the test checks, in words (its docstring's first line), for the feedback page
    fully_hidden: bool = False  # students never saw any of it: never show its output either

    @property
    def output(self) -> str:
        return clip(self.message.text(), MAX_TEST_OUTPUT) if self.message else ""

    def to_dict(self) -> dict:
        data = {
            "name": self.name,
            "score": self.score,
            "max_score": self.max_score,
            "status": "passed" if self.outcome == PASSED else "failed",
            "output": self.output,
            "visibility": "after_published" if self.fully_hidden else "visible",
            "extra_data": {"outcome": self.outcome, "hidden": self.hidden, "fully_hidden": self.fully_hidden},
        }
        if self.message:
            data["extra_data"]["message"] = self.message.to_dict()
        if self.description:
            data["extra_data"]["description"] = self.description
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "TestResult":
        extra = data["extra_data"]
        return cls(data["name"], data["score"], data["max_score"], extra["outcome"], Message.from_dict(extra.get("message")),
                   extra.get("hidden", True), extra.get("description", ""), extra.get("fully_hidden", True))


@dataclass
class Result:
    student_id: str
    assignment: str
    status: str
    tests: list = field(default_factory=list)
    flags: list = field(default_factory=list)  # Messages
    kernel: dict | None = None
    messages: list = field(default_factory=list)  # the submission's output, as Messages
    execution_time: float = 0.0
    max_score: float = 0.0
    fingerprint: str = ""
    extra: dict = field(default_factory=dict)  # more extra_data, e.g. where the submission came from

    def flag(self, message: Message) -> None:
        if message not in self.flags and len(self.flags) < MAX_FLAGS:
            self.flags.append(message)

    @property
    def output(self) -> str:
        return "".join(message.text() for message in self.messages)

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
                "flags": [clip(flag.text(), MAX_FLAG_CHARS) for flag in self.flags],
                "flag_messages": [flag.to_dict() for flag in self.flags],
                "messages": [message.to_dict() for message in self.messages],
                "kernel": self.kernel,
                "max_score": self.max_score,
                "fingerprint": self.fingerprint,
                **self.extra,
            },
        }

    @classmethod
    def from_dict(cls, data: dict) -> "Result":
        """A Result back from its dict (an earlier run's results.json); ValueError if it is not one
        this grader wrote."""
        try:
            extra = dict(data["extra_data"])
            flags = [Message.from_dict(m) for m in extra.pop("flag_messages")]
            messages = [Message.from_dict(m) for m in extra.pop("messages")]
            if None in flags or None in messages:
                raise ValueError("a message code this grader does not know")
            result = cls(extra.pop("student_id"), extra.pop("assignment"), extra.pop("status"),
                         [TestResult.from_dict(t) for t in data["tests"]], flags, extra.pop("kernel"), messages,
                         data["execution_time"], extra.pop("max_score"), extra.pop("fingerprint"))
        except (KeyError, TypeError, AttributeError) as error:
            raise ValueError(f"not a results dict of this grader: {error!r}") from None
        extra.pop("flags", None)
        result.extra = extra
        return result


def outcome_of(test: dict) -> str:
    """A results dict's test's outcome; one from elsewhere (older, hand-made) may lack it."""
    return (test.get("extra_data") or {}).get("outcome") or test.get("status") or ERROR


def count_outcomes(tests) -> dict:
    """{outcome: how many} in the order outcomes first appear, for TestResults or test dicts."""
    counts = {}
    for test in tests:
        outcome = test.outcome if isinstance(test, TestResult) else outcome_of(test)
        counts[outcome] = counts.get(outcome, 0) + 1
    return counts


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
