"""python -m autograder grade ASSIGNMENT --submissions PATH --out DIR"""
import sys

from .cli import main

sys.exit(main())
