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

# The autograder's feedback pages (feedback.html) are in Korean: "ko" or "en". nbgrader ignores this section.
c.CourseFeedback.language = "ko"

# The grading service (`make serve`): full feedback on at most this many submissions per student in any
# 24 hours; later ones are graded and recorded, and told when feedback comes. nbgrader ignores this section.
c.CourseService.feedback_limit = 3

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
