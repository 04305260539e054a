"""What people read: per-student feedback, the class report, the console progress line.

Views only render: results dicts (results.py) and their Messages (messages.py) in, text out.
The grading core imports no view; the command line passes PAGES to batch.grade_all.
"""
from ..batch import Pages
from .feedback import render_feedback
from .progress import Progress
from .report import render_report
from .service import render_notice

PAGES = Pages(feedback=render_feedback, report=render_report, progress=Progress, notice=render_notice)
