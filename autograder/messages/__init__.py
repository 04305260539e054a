"""Every sentence a result or a page holds, by code (en.py, ko.py: one table per language); a
`Message` is a code and its fields. (Not here: the console's lines to the instructor, in English,
and the referee's exceptions (boundary/decode.py), which a test raises in the course's language
as the lesson's own assertions do.)

Results hold Messages, never sentences: whoever needs to know what happened (score.py deciding
an outcome, the feedback page choosing what to show) reads the code. A sentence is made only
where one is shown: results.json's Gradescope `output` fields and the console in English
(RESULTS_LANGUAGE), the feedback page and the report in the course's language
(course.feedback_language). A field may hold a Message or a list of them: they are rendered in
the same language. A field whose name starts with "_" is data for the instructor's views only:
no sentence shows it.
"""
import string
from dataclasses import dataclass, field

from . import en, ko

RESULTS_LANGUAGE = "en"
EN, KO = en.TEXTS, ko.TEXTS  # one table per language, each a module of its own
MESSAGES = {"en": EN, "ko": KO}
LANGUAGES = tuple(MESSAGES)

# A test's message that only repeats what its outcome's words already say: a page leaves it out.
SAID_BY_OUTCOME = ("answer_missing", "answer_manual", "test_needs_gpu")


def check_language(language: str) -> str:
    if language not in MESSAGES:
        raise ValueError(f"feedback language {language!r} is not one of {', '.join(LANGUAGES)}")
    return language


def field_names(code: str) -> set:
    """The fields the sentence `code` is made with (the same in every language)."""
    return {name for _, name, _, _ in string.Formatter().parse(EN[code]) if name}


@dataclass(frozen=True, eq=True)
class Message:
    """A reason code and the values its sentence is made with: data, until `text()` makes a sentence."""
    code: str
    fields: dict = field(default_factory=dict, hash=False)

    def text(self, language: str = RESULTS_LANGUAGE) -> str:
        template = MESSAGES[check_language(language)][self.code]
        values = {name: _render(value, language) for name, value in self.fields.items() if not name.startswith("_")}
        return template.format(**values)

    def __str__(self) -> str:  # the console's and the log's sentence
        return self.text()

    def to_dict(self) -> dict:
        return {"code": self.code, "fields": {name: _as_data(value) for name, value in self.fields.items()}}

    @classmethod
    def from_dict(cls, data) -> "Message | None":
        """The Message a results dict holds, or None when `data` is not one (an older results.json,
        a hand-edited one): the caller then shows the rendered text instead."""
        if not isinstance(data, dict) or data.get("code") not in EN or not isinstance(data.get("fields", {}), dict):
            return None
        fields = {}
        for name, value in data.get("fields", {}).items():
            value = _from_data(value)
            if value is None:
                return None
            fields[name] = value
        return cls(data["code"], fields) if _shown(fields) == field_names(data["code"]) else None


def say(code: str, **fields) -> Message:
    """The Message `code` with `fields`; a code or field the table doesn't know is the grader's bug."""
    if code not in EN or _shown(fields) != field_names(code):
        raise ValueError(f"message {code!r} takes fields {sorted(field_names(code)) if code in EN else '?'}, "
                         f"not {sorted(fields)}")
    return Message(code, fields)


def text(language: str, code: str, **fields) -> str:
    """The sentence `code` in `language`, `fields` filled in."""
    return say(code, **fields).text(language)


def _shown(fields: dict) -> set:
    """The names of the fields a sentence shows (not the "_" ones, kept as data only)."""
    return {name for name in fields if not name.startswith("_")}


def _render(value, language: str):
    if isinstance(value, Message):
        return value.text(language)
    if isinstance(value, (list, tuple)):
        return ", ".join(str(_render(item, language)) for item in value)
    return value


def _as_data(value):
    if isinstance(value, Message):
        return value.to_dict()
    if isinstance(value, (list, tuple)):
        return [_as_data(item) for item in value]
    return value


def _from_data(value):
    if isinstance(value, dict):
        return Message.from_dict(value)
    if isinstance(value, list):
        items = [_from_data(item) for item in value]
        return None if any(item is None for item in items) else items
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        return None
    return value
