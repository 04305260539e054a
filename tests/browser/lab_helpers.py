"""What a person does in JupyterLab, as Playwright steps; and reads of the notebook's state.

Actions are real clicks and key presses. To know when a run has finished, the tests read the
open notebook's model through `window.jupyterapp` (the server runs with
`--LabApp.expose_app_in_browser`, as JupyterLab's own Galata tests do); they never drive the
notebook through it.
"""
import re
import time

KERNEL_START_TIMEOUT_MS = 90_000
RUN_TIMEOUT_MS = 120_000

# The notebook in the active tab, cell by cell: type, nbgrader grade_id, execution count,
# the prompt as shown ("[*]:" while queued or running) and its error outputs.
NOTEBOOK_STATE_JS = """() => {
    const panel = window.jupyterapp.shell.currentWidget;
    return panel.content.widgets.map((cell, index) => {
        const model = cell.model;
        const code = model.type === 'code';
        const prompt = cell.node.querySelector('.jp-InputArea-prompt');
        return {
            index: index,
            type: model.type,
            gradeId: (model.getMetadata('nbgrader') || {}).grade_id || null,
            count: code ? model.executionCount : null,
            prompt: prompt ? prompt.textContent.trim() : '',
            errors: code ? model.outputs.toJSON().filter(o => o.output_type === 'error')
                                 .map(o => ({ename: o.ename, evalue: o.evalue})) : [],
        };
    });
}"""

KERNEL_JS = """() => {
    const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
    const kernel = panel && panel.sessionContext && panel.sessionContext.session
        && panel.sessionContext.session.kernel;
    return kernel ? {name: kernel.name, status: kernel.status} : null;
}"""


def open_notebook(page, server, workspace, path):
    """Open `path` in JupyterLab and wait until its kernel is up and idle; return the kernel's name."""
    page.goto(server.lab_url(workspace, path))
    page.locator(".jp-NotebookPanel .jp-Notebook .jp-Cell").first.wait_for(timeout=KERNEL_START_TIMEOUT_MS)
    page.wait_for_function(f"() => {{ const k = ({KERNEL_JS})(); return k && k.status === 'idle'; }}",
                           timeout=KERNEL_START_TIMEOUT_MS)
    wait_cells_attached(page)
    return page.evaluate(KERNEL_JS)["name"]


def wait_cells_attached(page):
    """JupyterLab attaches a notebook's cells a few at a time: wait for all of them."""
    page.wait_for_function("""() => {
        const panel = window.jupyterapp.shell.currentWidget;
        return panel.content.widgets.length > 0
            && panel.node.querySelectorAll('.jp-Cell[data-windowed-list-index]').length
               === panel.content.widgets.length;
    }""")


def open_lab(page, server, workspace):
    page.goto(server.lab_url(workspace))
    page.locator("#jp-main-dock-panel").wait_for()
    page.get_by_role("menuitem", name="Nbgrader", exact=True).wait_for()


def menu(page, top, item):
    """Click a menu bar entry, then one of its items (a regular expression or exact text)."""
    page.get_by_role("menuitem", name=top, exact=True).click()
    name = item if isinstance(item, re.Pattern) else re.compile(re.escape(item))
    page.locator(".lm-Menu").get_by_role("menuitem", name=name).first.click()


def notebook_state(page):
    return page.evaluate(NOTEBOOK_STATE_JS)


def cell(page, index):
    return page.locator(f".jp-NotebookPanel:visible .jp-Notebook .jp-Cell[data-windowed-list-index=\"{index}\"]")


def show_cell(page, index):
    """Scroll a cell into view and let JupyterLab paint it (cells off screen are not rendered)."""
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")
    page.wait_for_timeout(400)
    return target


def wait_until_ran(page, index, timeout_ms=RUN_TIMEOUT_MS):
    """Wait until code cell `index` has run: an execution count and no "[*]" prompt."""
    page.wait_for_function(
        f"""() => {{
            const cell = ({NOTEBOOK_STATE_JS})()[{index}];
            return cell.count !== null && !cell.prompt.includes('*');
        }}""",
        timeout=timeout_ms)


def wait_kernel_idle(page, timeout_ms=RUN_TIMEOUT_MS, settle_s=0.5):
    """Idle, twice `settle_s` apart (the kernel goes idle between queued cells)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        page.wait_for_function(f"() => {{ const k = ({KERNEL_JS})(); return k && k.status === 'idle'; }}",
                               timeout=max(1, int((deadline - time.monotonic()) * 1000)))
        time.sleep(settle_s)
        state = page.evaluate(KERNEL_JS)
        if state and state["status"] == "idle" and not any("*" in c["prompt"] for c in notebook_state(page)):
            return
        if time.monotonic() > deadline:
            raise TimeoutError("the kernel never settled to idle")


def select_cell(page, index):
    """Select a cell in command mode, as a click on its prompt ("[ ]:") does."""
    target = show_cell(page, index)
    target.locator(".jp-InputPrompt").first.click()
    page.keyboard.press("Escape")
    page.wait_for_function(f"() => window.jupyterapp.shell.currentWidget.content.activeCellIndex === {index}")


def replace_cell_text(page, index, text, markdown=False):
    """Put `text` in a cell as a student pasting their answer would: select all, insert."""
    target = cell(page, index)
    target.scroll_into_view_if_needed()
    if markdown:
        target.locator(".jp-MarkdownOutput").dblclick()  # a rendered markdown cell opens for editing
    editor = target.locator(".cm-content")
    editor.click()
    page.keyboard.press("Control+a")
    page.keyboard.insert_text(text)  # as a paste: no auto-indent or auto-closed brackets
    if markdown:
        page.keyboard.press("Control+Enter")  # render it again, staying on the cell
    else:
        page.keyboard.press("Escape")


def save(page):
    page.keyboard.press("Control+s")
    page.wait_for_function("() => !window.jupyterapp.shell.currentWidget.context.model.dirty")
