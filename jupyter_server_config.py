"""JupyterLab for this course: `make lab` runs `jupyter lab --config=jupyter_server_config.py`.

The course folder is the server's root, so nbgrader's lab extensions (assignment list,
validate, formgrader, create assignment) find nbgrader_config.py and the gradebook here,
and new notebooks start on the course's kernel. The browser tests (tests/browser/) start
their server with this same file, in a scratch copy of the course.
"""
import os

c = get_config()  # noqa: F821  (injected by traitlets)

HERE = os.path.dirname(os.path.abspath(__file__))

# The course root, wherever this file is (the repository or a copy of it): nbgrader's
# formgrader needs the course root inside the server's root, and the validate and
# assignment-list extensions read nbgrader_config.py from the server's working folder.
c.ServerApp.root_dir = HERE
# Only this machine: the course is run on one's own computer, never on the network.
c.ServerApp.ip = "127.0.0.1"
# The course's kernel for new notebooks and consoles; the course notebooks name it too.
c.MappingKernelManager.default_kernel_name = "pytorch-course"
# nbgrader's server extensions (pip enables them; kept explicit so `make lab` never
# comes up without them).
c.ServerApp.jpserver_extensions = {
    "jupyterlab": True,
    "nbgrader.server_extensions.formgrader": True,
    "nbgrader.server_extensions.validate_assignment": True,
    "nbgrader.server_extensions.assignment_list": True,
    "nbgrader.server_extensions.course_list": True,
}
