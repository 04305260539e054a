"""nbgrader settings for the course: only what differs from nbgrader's defaults."""
import os

c = get_config()  # noqa: F821  (injected by traitlets)

c.CourseDirectory.course_id = "lesson08"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
c.IncludeHeaderFooter.header = ""
