"""nbgrader settings for the course: only what differs from nbgrader's defaults."""
import os

c = get_config()  # noqa: F821  (injected by traitlets)

c.CourseDirectory.course_id = "pytorch-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# nbgrader's exchange: the course's own exchange/ folder (ignored by git). `make release` puts the
# release there (nbgrader release_assignment), so formgrader shows the assignment as released and
# `make lab`'s Assignment List offers it (nbgrader makes the folder writable by every user of the
# machine, as an exchange must be). On a JupyterHub with a shared exchange, name that one.
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")

# Where students report a problem (a section nbgrader ignores): SUPPORT.md, the lecture and the
# assignment link here. `make release` writes it into them (tools/support_link.py; a test fails when they
# differ). An https:// page (the LMS's Q&A board, an issue tracker) or a mailto: address. Set your own:
# this example address is a placeholder, and `make release` and `make student-bundle` say so.
c.CourseSupport.url = "https://example.org/pytorch-course/support"

# The autograder's feedback pages (feedback.html) are in Korean: "ko" or "en". nbgrader ignores this section.
c.CourseFeedback.language = "ko"

# nbgrader's own list, with StderrIsNotFailure right after execution: a correct
# answer that prints to stderr (a warning, a log line) keeps its points.
c.Autograde.autograde_preprocessors = [
    "nbgrader.preprocessors.Execute",
    "autograder.nbgrader_plugins.StderrIsNotFailure",
    "nbgrader.preprocessors.IgnorePattern",
    "nbconvert.preprocessors.ClearMetadataPreprocessor",
    "nbgrader.preprocessors.LimitOutput",
    "nbgrader.preprocessors.SaveAutoGrades",
    "nbgrader.preprocessors.AssignLatePenalties",
    "nbgrader.preprocessors.CheckCellMetadata",
]
