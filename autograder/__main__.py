"""python -m autograder grade ASSIGNMENT --submissions PATH --out DIR"""
import sys

# nbformat imports jsonschema, whose format checkers import rfc3987_syntax if it is installed
# (jupyterlab's server brings it): that compiles 38 grammars, 1.3 s of every command's start, for
# IRI formats that nothing here validates. Without it jsonschema leaves those two formats unchecked.
sys.modules.setdefault("rfc3987_syntax", None)

from .cli import main  # noqa: E402

sys.exit(main())
