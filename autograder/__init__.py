"""Grading for the PyTorch course's nbgrader assignments."""
