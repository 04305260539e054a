"""The course's grading service next to a JupyterHub: add these lines to jupyterhub_config.py.

The hub starts the service with itself, restarts it if it exits, and stops it (SIGTERM) when the hub
stops (a hub-managed service: JupyterHub's `c.JupyterHub.services`). It needs no web route and no
API token: it talks to students only through nbgrader's exchange (c.Exchange.root in the course's
nbgrader_config.py, shared with the students' servers). `user`: the instructor's account, which owns
the course root; the hub must run as root to start it as that user (otherwise leave `user` out: it
then runs as the hub's own user). README: "How the service runs".
"""
COURSE_ROOT = "/srv/pytorch-course"  # the course's folder: nbgrader_config.py, gradebook.db, .venv/

c = get_config()  # noqa: F821  (jupyterhub_config.py has it already)
c.JupyterHub.services.append({  # beside any other service the hub has
    "name": "autograder-serve",
    "command": [f"{COURSE_ROOT}/.venv/bin/python", "-m", "autograder", "serve", "lesson08",
                "--course-root", COURSE_ROOT],
    "cwd": COURSE_ROOT,
    "user": "instructor",
    "environment": {"PATH": f"{COURSE_ROOT}/.venv/bin:/usr/local/bin:/usr/bin:/bin"},
})
