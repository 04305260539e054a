"""The student's JupyterLab (student_lab: the README's command in the student's course folder, own HOME):
no instructor tool anywhere (menu, command palette, sidebar, server), while Validate, Courses and the
Assignments tab stay, and the tab lists the released assignment without nbgrader's error banners."""
import urllib.error

import pytest

import course
from lab_helpers import menu, wait_kernel_idle

pytestmark = pytest.mark.browser

INSTRUCTOR_COMMANDS = ("nbgrader:open-formgrader", "nbgrader:open-formgrader-local", "nbgrader:open-create-assignment")
STUDENT_COMMANDS = ("nbgrader:open-assignment-list", "nbgrader:open-course-list")
ERRORS = ("Error fetching courses!", "exchange directory does not exist")


def served(server, path):
    try:
        return server.api(path)[0]
    except urllib.error.HTTPError as error:
        return error.code


def palette(page, query):
    """The command palette's items for `query`, as a student typing it sees them."""
    page.keyboard.press("Control+Shift+C")
    search = page.locator(".lm-CommandPalette-input")
    search.wait_for()
    search.fill(query)
    page.wait_for_timeout(300)  # the palette filters on input
    items = page.locator(".lm-CommandPalette-item:visible .lm-CommandPalette-itemLabel").all_inner_texts()
    page.keyboard.press("Escape")
    search.wait_for(state="hidden")  # closed, so that the next Control+Shift+C opens it again
    return items


def test_students_see_no_instructor_tools_and_their_assignment_list_works(student_page, student_lab, shot):
    page = student_page
    # The server: no formgrader at all, the student's nbgrader extensions answer.
    assert served(student_lab, "/formgrader") == 404
    assert served(student_lab, "/formgrader/api/status") == 404
    assert served(student_lab, "/assignments?course_id=pytorch-course") == 200

    page.goto(student_lab.lab_url("student-setup", f"notebooks/{course.ASSIGNMENT}.ipynb"))
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for()
    commands = page.evaluate("ids => ids.map(id => window.jupyterapp.commands.hasCommand(id))",
                             list(INSTRUCTOR_COMMANDS + STUDENT_COMMANDS))
    assert commands == [False] * len(INSTRUCTOR_COMMANDS) + [True] * len(STUDENT_COMMANDS), commands
    # Validate stays: its button is on the notebook's toolbar.
    page.locator(".jp-NotebookPanel:visible .validate-button").wait_for()
    # No Create Assignment panel among the right sidebar's tabs (the sidebar itself is there).
    right = page.locator("#jp-right-stack .lm-TabBar-tab, .jp-SideBar.jp-mod-right .lm-TabBar-tab")
    titles = [title for title in right.evaluate_all("tabs => tabs.map(t => t.getAttribute('title') || t.textContent)")]
    assert titles, "no right sidebar tabs at all: the check below would prove nothing"
    assert not [t for t in titles if "Create Assignment" in t], titles
    assert page.locator(".nbgrader-CreateAssignmentWidget").count() == 0
    shot(page, "student-setup-01-lecture-with-validate")

    # The Nbgrader menu: the student's entries only.
    page.get_by_role("menuitem", name="Nbgrader", exact=True).click()
    items = page.locator(".lm-Menu").last
    for label in ("Assignment List", "Course List"):
        assert items.get_by_role("menuitem", name=label).count() == 1, f"no '{label}' in the Nbgrader menu"
    for label in ("Formgrader", "Create assignment"):
        assert items.get_by_role("menuitem", name=label).count() == 0, f"'{label}' in a student's Nbgrader menu"
    shot(page, "student-setup-02-nbgrader-menu")
    page.keyboard.press("Escape")

    # The command palette offers none of them either (once the notebook's kernel is idle: under load,
    # a palette opened while the notebook was still starting closed before it could be typed in).
    wait_kernel_idle(page)
    assert any("Assignment List" in item for item in palette(page, "assignment")), "the palette lost Assignment List"
    found = palette(page, "formgrader") + palette(page, "create assignment")
    assert not [item for item in found if "Formgrader" in item or "Create" in item], found

    # The Assignments tab: the released lesson, ready to fetch, and no error.
    menu(page, "Nbgrader", "Assignment List")
    panel = page.locator(".nbgrader-mainarea-widget:visible")
    released = panel.locator("#released_assignments_list")
    released.get_by_text(course.ASSIGNMENT, exact=True).wait_for()
    assert released.get_by_role("button", name="Fetch").count() == 1
    assert panel.locator("#released_assignments_list_error").inner_text().strip() == ""
    shown = panel.inner_text()
    for error in ERRORS:
        assert error not in shown, f"the Assignments tab says {error!r}:\n{shown[:1000]}"
    shot(page, "student-setup-03-assignments-tab")
