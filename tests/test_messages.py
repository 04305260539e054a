"""Every sentence is a code until a page shows it: Korean pages hold no English sentence, and the
grading core never imports the views that render them."""
import ast
import os
import re
import shutil
from html.parser import HTMLParser
from pathlib import Path

from autograder import messages
from autograder.batch import Options, grade_all
from autograder.engine.session import Limits
from autograder.views import PAGES
from autograder.views.feedback import render_feedback
from autograder.views.report import render_report
from autograder_fixtures import FAST, SAMPLES, warm_engine
from course import ROOT, copy_course

PACKAGE = ROOT / "autograder"
COMPOSITION_ROOT = {"cli.py"}  # the command line: the one place that hands the views to the batch
# The samples: what each one is, for the Korean-page check.
KINDS = {"alice": "correct", "bob": "wrong", "carol": "timed out", "dave": "tampered", "erin": "invalid"}
SKIPPED_TAGS = {"code", "pre", "style", "script"}  # identifiers, tracebacks, the page's CSS
# Three English words in a row, outside code: a sentence the course's Korean page should not hold.
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]+(?:[ ,:;()/-]+[A-Za-z][A-Za-z'’]+){2,}")


class ReadableText(HTMLParser):
    """What a person reads on a page: its text and its images' alt text, less code, tracebacks and the
    lesson's own test descriptions (the course's notebook words them; they are not the grader's)."""

    def __init__(self, page: str):
        super().__init__()
        self.parts, self._skipping = [], []
        self.feed(page)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag in SKIPPED_TAGS or "description" in (attrs.get("class") or "").split():
            self._skipping.append(tag)
        elif self._skipping and tag == self._skipping[-1]:
            self._skipping.append(tag)
        if attrs.get("alt"):
            self.parts.append(attrs["alt"])

    def handle_endtag(self, tag):
        if self._skipping and tag == self._skipping[-1]:
            self._skipping.pop()

    def handle_data(self, data):
        if not self._skipping:
            self.parts.append(data)


def english_sentences(page: str) -> list[str]:
    return [run for part in ReadableText(page).parts for run in ENGLISH_RUN.findall(part)]


def imports_of(path: Path) -> set[str]:
    """Every module `path` imports, anywhere in it (a function's lazy import too), as absolute names."""
    package = ".".join(path.relative_to(ROOT).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package if node.level else ""
            module = ".".join(part for part in (base, node.module) if part)
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


def test_no_module_outside_views_imports_views():
    offenders = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        relative = path.relative_to(PACKAGE)
        if relative.parts[0] == "views" or str(relative) in COMPOSITION_ROOT:
            continue
        used = {name for name in imports_of(path) if name == "autograder.views" or name.startswith("autograder.views.")}
        if used:
            offenders[str(relative)] = sorted(used)
    assert not offenders
    assert "autograder.views" in imports_of(PACKAGE / "cli.py")  # the check sees an import where there is one


def test_a_korean_feedback_page_and_report_hold_no_english_sentence(warm_class, tmp_path):
    folder, everyone = warm_class
    out = folder.parent / "course" / "out"  # where autograder_fixtures.warm_class wrote its pages
    pages = {f"{KINDS[student]} ({student})": (out / student / "feedback.html").read_text(encoding="utf-8")
             for student in KINDS}
    pages["report"] = (out / "report.html").read_text(encoding="utf-8")
    # A renamed student: their file's name is not an id, so the report says where the id came from.
    renamed = tmp_path / "renamed"
    renamed.mkdir()
    shutil.copy(SAMPLES / "alice.ipynb", renamed / "김 민수 (최종).ipynb")
    course = copy_course(tmp_path / "course")
    graded = grade_all(course, "lesson08", renamed, course / "out", Limits(**FAST), Options(engine="warm", workers=1),
                       stream=open(os.devnull, "w"), pages=PAGES, engine=warm_engine())
    [student] = graded
    pages["renamed"] = (course / "out" / student / "feedback.html").read_text(encoding="utf-8")
    pages["renamed report"] = (course / "out" / "report.html").read_text(encoding="utf-8")
    assert "학생 id가 파일 이름과 다른 학생 (1명)" in pages["renamed report"]

    assert {kind: english_sentences(page) for kind, page in pages.items()} == {kind: [] for kind in pages}
    assert everyone["carol"]["tests"] and any(t["extra_data"]["outcome"] == "timeout" for t in everyone["carol"]["tests"])
    assert everyone["dave"]["extra_data"]["flags"] and everyone["erin"]["extra_data"]["status"] == "invalid"
    # The same results in English do hold sentences: the check reads what it should.
    for student in KINDS:
        assert english_sentences(render_feedback(everyone[student], "en", "lesson08")), student
    assert english_sentences(render_report(everyone, "course", {}, "en"))


def test_the_page_language_comes_from_codes_not_from_english_text(warm_class):
    _, everyone = warm_class
    dave = everyone["dave"]
    korean = render_feedback(dave, "ko", "lesson08")
    for flag in dave["extra_data"]["flag_messages"]:
        assert messages.Message.from_dict(flag).text("ko") in korean.replace("&#x27;", "'")
    without_codes = {**dave, "extra_data": {**dave["extra_data"], "flag_messages": None}}
    assert dave["extra_data"]["flags"][0].replace("'", "&#x27;") in render_feedback(without_codes, "ko", "lesson08")
