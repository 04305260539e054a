"""The lecture keeps its ten minutes (issue 18): the main path stays within the seed's budget,
and everything deeper lives in the optional 더 알아보기 notebook it links to. Reads JSON only: no kernel."""
import re

from course import LECTURE, read

MORE = LECTURE.with_name(f"{LECTURE.stem}_more.ipynb")
MAX_WORDS = 450        # the seed: about 450 words of prose for "~10 min"
MAX_CODE_LINES = 60    # the seed had about 35 lines of code; the lecture adds a few demos
FORBIDDEN_TERMS = {    # one set of terms: "memory" in English, "공유" and "copy" as the seed wrote them
    r"메모리": "memory",
    r"복사": "copy",
    r"\bshar(e|es|ed|ing)\b": "공유",
}


def prose(markdown):
    """The markdown without fenced code blocks, `code spans` and link targets."""
    markdown = re.sub(r"^(```|~~~).*?^\1[^\n]*", " ", markdown, flags=re.S | re.M)
    markdown = re.sub(r"(`+)(.+?)\1", " ", markdown, flags=re.S)
    return re.sub(r"\]\([^)]*\)", "]", markdown)


def prose_words(markdown):
    """Whitespace-separated tokens of the prose (markup such as `|` or `##` counts too: strict)."""
    return prose(markdown).split()


def markdown_cells(nb):
    return [cell.source for cell in nb.cells if cell.cell_type == "markdown"]


def code_lines(nb):
    return [line for cell in nb.cells if cell.cell_type == "code" for line in cell.source.splitlines()
            if line.strip()]


def relative_links(nb):
    return {target for source in markdown_cells(nb) for target in re.findall(r"\]\(([^)\s]+)\)", source)
            if "://" not in target and not target.startswith("mailto:")}


def test_the_counter_counts_prose_and_not_code():
    markdown = ("## 1. 공유냐 copy냐\n\n`t.numpy()`는 **공유**해 → [더 알아보기](x.ipynb)\n\n"
                "```python\nx = 1\n```\n\n| 호출 | memory |\n|---|---|\n| `a` | 공유 |")
    assert prose_words(markdown) == ["##", "1.", "공유냐", "copy냐", "는", "**공유**해", "→", "[더", "알아보기]",
                                     "|", "호출", "|", "memory", "|", "|---|---|", "|", "|", "공유", "|"]


def test_the_main_path_reads_in_about_ten_minutes():
    nb = read(LECTURE)
    words = sum(len(prose_words(source)) for source in markdown_cells(nb))
    lines = len(code_lines(nb))
    assert words <= MAX_WORDS, (f"{LECTURE.name}: {words} words of prose, at most {MAX_WORDS}: "
                                f"move the rest to {MORE.name}")
    assert lines <= MAX_CODE_LINES, (f"{LECTURE.name}: {lines} lines of code, at most {MAX_CODE_LINES}: "
                                     f"move the rest to {MORE.name}")


def test_the_main_path_links_to_the_more_notebook_and_back():
    assert MORE.is_file(), f"{MORE.name} is missing"
    assert MORE.name in relative_links(read(LECTURE)), f"{LECTURE.name} does not link to {MORE.name}"
    assert LECTURE.name in relative_links(read(MORE)), f"{MORE.name} does not link back to {LECTURE.name}"
    for notebook in (LECTURE, MORE):
        for target in relative_links(read(notebook)):
            assert (notebook.parent / target.split("#")[0]).exists(), f"{notebook.name}: broken link {target}"


def test_both_notebooks_use_one_set_of_terms():
    for notebook in (LECTURE, MORE):
        for source in markdown_cells(read(notebook)):
            for pattern, term in FORBIDDEN_TERMS.items():
                found = re.search(pattern, prose(source), flags=re.I)
                assert not found, f"{notebook.name}: {found.group()!r} in prose: write {term!r}"
