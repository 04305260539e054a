"""`make lab`'s JupyterLab: nbgrader's lab extensions are there and work on the course."""
from collections import Counter

import pytest

import course
from lab_helpers import menu, open_lab, open_notebook

pytestmark = pytest.mark.browser

# The create-assignment sidebar's name for each kind of nbgrader cell.
CELL_TYPES = {(True, False): "Autograded answer", (False, True): "Autograded tests",
              (True, True): "Manually graded answer"}


def test_nbgrader_menu_and_assignment_list(page, lab_server, shot):
    """The Nbgrader menu offers assignment list, formgrader and create assignment; the list opens."""
    open_lab(page, lab_server, "extensions")
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    items = page.locator(".lm-Menu").last
    for label in ("Assignment List", "Course List", "Formgrader", "Create assignment"):
        assert items.get_by_role("menuitem", name=label).count() == 1, f"no '{label}' in the Nbgrader menu"
    shot(page, "lab-01-nbgrader-menu")
    page.keyboard.press("Escape")
    menu(page, "Nbgrader", "Assignment List")
    page.locator(".lm-TabBar-tab", has_text="Assignments").first.wait_for()
    page.get_by_text("Released assignments").first.wait_for()
    shot(page, "lab-02-assignment-list")


def test_create_assignment_sidebar_reads_the_source(page, lab_server, course_copy, shot):
    """The instructor's source notebook in the Create Assignment sidebar: every nbgrader cell
    shown with its type, and the notebook's total points."""
    source = course.read(course.SOURCE)
    expected_types, expected_points = Counter(), 0
    for nb_cell in source.cells:
        meta = course.nbgrader_meta(nb_cell)
        kind = CELL_TYPES.get((bool(meta.get("solution")), bool(meta.get("grade"))))
        if kind:
            expected_types[kind] += 1
        expected_points += meta.get("points", 0) if meta.get("grade") else 0

    open_notebook(page, lab_server, "create-assignment", f"source/{course.ASSIGNMENT}/{course.SOURCE.name}")
    page.locator(".lm-TabBar-tab", has_text="Create Assignment").first.click()
    sidebar = page.locator(".nbgrader-CreateAssignmentWidget")
    sidebar.locator(".nbgrader-TotalPointsInput").wait_for()
    page.wait_for_function(
        f"() => document.querySelectorAll('.nbgrader-CreateAssignmentWidget .nbgrader-CellWidget').length"
        f" >= {len(source.cells)}")
    total = sidebar.locator(".nbgrader-TotalPointsInput").input_value()
    assert float(total) == expected_points, f"sidebar total {total}, source says {expected_points}"
    shown = Counter(page.evaluate("""() => Array.from(
        document.querySelectorAll('.nbgrader-CreateAssignmentWidget select'))
        .map(s => s.options[s.selectedIndex].text)"""))
    for kind, count in expected_types.items():
        assert shown[kind] == count, f"{kind}: the sidebar shows {shown[kind]}, the source has {count}"
    shot(page, "lab-03-create-assignment-sidebar")
