"""`python -m autograder export ASSIGNMENT --out DIR [--format F] [--roster FILE]`: the grades that reach the LMS.

    command.py    the verb: arguments checked, files written, the console told (cli.py calls it)
    totals.py     the gradebook → each student's total: hand grades in, late penalty off (nbgrader's rule)
    roster.py     the instructor's roster CSV → who is enrolled, under which LMS id
    classlist.py  totals × roster → rows, students without a submission, submissions without a roster entry
    nbgrader_csv.py, moodle_csv.py, canvas_csv.py   one writer per import format (csvtext.py: BOM, numbers)

Nothing here imports nbgrader at module level but totals.py, so the CLI builds its parser quickly.
"""
FORMATS = ("nbgrader", "moodle", "canvas")
LMS_FORMATS = ("moodle", "canvas")  # keyed by the LMS's ids: these need a roster
