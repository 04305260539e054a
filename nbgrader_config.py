"""nbgrader settings for the course: only what differs from nbgrader's defaults."""
import os
import warnings

c = get_config()  # noqa: F821  (injected by traitlets)

c.CourseDirectory.course_id = "pytorch-course"
c.CourseDirectory.root = os.path.dirname(os.path.abspath(__file__))
# nbgrader's exchange: the course's own exchange/ folder (ignored by git). `make release` puts the
# release there (nbgrader release_assignment), so formgrader shows the assignment as released and
# `make lab`'s Assignment List offers it (nbgrader makes the folder writable by every user of the
# machine, as an exchange must be). On a JupyterHub with a shared exchange, name that one.
c.Exchange.root = os.path.join(c.CourseDirectory.root, "exchange")

# Time: the course's zone (nbgrader's own setting; nbgrader submit stamps submissions in it). nbgrader's
# default format ends "%Z", "KST", which nbgrader reads as UTC (9 h off); an offset ("+0900") breaks the
# exchange's folder names (student+assignment+time). "ROK" is Asia/Seoul's IANA name with neither "/" nor
# "+": nbgrader reads it right (dateutil warns that its parser alone can't, when nbgrader checks the format).
c.Exchange.timezone = "Asia/Seoul"
c.Exchange.timestamp_format = "%Y-%m-%d %H:%M:%S.%f ROK"
warnings.filterwarnings("ignore", message="tzname ROK identified")
c.NbGraderAPI.timezone = "Asia/Seoul"  # formgrader shows times in it
# Deadlines, read in the course's zone (a section nbgrader ignores; a recording run writes them into the
# gradebook as nbgrader's duedate). Per-student extensions: extensions.csv. Late policy: nbgrader's plugin.
c.CourseSchedule.deadlines = {"lesson08": "2026-12-14 23:59"}
# No points off for lateness: the page and formgrader show how late; the latest submission counts, so a
# penalty would also hit a student who improves an on-time answer after the deadline. "zero" or your own
# c.AssignLatePenalties.plugin_class (nbgrader's late-submission plugin) to change it.
c.LateSubmissionPlugin.penalty_method = "none"

# Where students report a problem (a section nbgrader ignores): SUPPORT.md, the lecture and the
# assignment link here. `make release` writes it into them (tools/support_link.py; a test fails when they
# differ). An https:// page (the LMS's Q&A board, an issue tracker) or a mailto: address. Set your own:
# this example address is a placeholder, and `make release` and `make student-bundle` say so.
c.CourseSupport.url = "https://example.org/pytorch-course/support"

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
