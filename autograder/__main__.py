"""python -m autograder grade lesson08 --submissions PATH --out DIR"""
import sys

from .cli import main

sys.exit(main())
