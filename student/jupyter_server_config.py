"""A student's JupyterLab for this course: `jupyter lab --config=jupyter_server_config.py`, typed in the
student's course folder (the unzipped bundle, or the one `make student-lab` makes; tools/student_setup.py).

That folder is the server's root, so the lecture (notebooks/), the assignment (<assignment>/, where the
Assignments tab's Fetch puts it) and the student's nbgrader_config.py (course id, exchange, time zone) all
sit inside it. Students see no instructor tools: nbgrader's formgrader (server extension, lab plugin and its
menu items) and Create Assignment are off; Assignments, Courses and Validate stay on. Where the course's
exchange does not exist (a laptop), Assignments and Courses are off too: nbgrader could only show an error
there, and the README says how to hand in instead. Instructors keep every tool in `make lab`.
"""
import os

from traitlets.config.loader import PyFileConfigLoader

c = get_config()  # noqa: F821  (injected by traitlets)

HERE = os.path.dirname(os.path.abspath(__file__))
NBGRADER_DEFAULT_EXCHANGE = "/usr/local/share/nbgrader/exchange"

# nbgrader 0.9.6's lab plugins (ids from its labextension) and server extensions.
INSTRUCTOR_PLUGINS = ["@jupyter/nbgrader:formgrader", "@jupyter/nbgrader:create-assignment"]
EXCHANGE_PLUGINS = ["@jupyter/nbgrader:assignment-list", "@jupyter/nbgrader:course-list",
                    "@jupyter/nbgrader:menu"]  # the menu holds nothing else a student may use


def exchange_root():
    """The exchange the student's nbgrader_config.py (beside this file) names."""
    config = PyFileConfigLoader("nbgrader_config.py", path=HERE).load_config()
    return config.Exchange.get("root") or NBGRADER_DEFAULT_EXCHANGE


HAS_EXCHANGE = os.path.isdir(exchange_root())
HIDDEN_PLUGINS = INSTRUCTOR_PLUGINS + ([] if HAS_EXCHANGE else EXCHANGE_PLUGINS)


def hide_plugins(handler, page_config):
    """JupyterLab's page config with nbgrader's instructor plugins disabled (as `jupyter labextension
    disable` would, but for this server only: the course's venv keeps them for `make lab`)."""
    disabled = page_config.get("disabledExtensions") or []
    page_config["disabledExtensions"] = sorted({*disabled, *HIDDEN_PLUGINS})
    return page_config


c.ServerApp.root_dir = HERE
c.ServerApp.ip = "127.0.0.1"  # only this machine
c.MappingKernelManager.default_kernel_name = "pytorch-course"
c.ServerApp.jpserver_extensions = {
    "nbgrader.server_extensions.formgrader": False,
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.assignment_list": HAS_EXCHANGE,
    "nbgrader.server_extensions.course_list": HAS_EXCHANGE,
}
c.ServerApp.tornado_settings = {"page_config_hook": hide_plugins}
