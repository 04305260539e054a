"""Where grading jobs run: local worker threads, each kernel leasing its GPU."""
