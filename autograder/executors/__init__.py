"""Where grading jobs run: local worker threads (local.py) or a Dask cluster (cluster.py), each
submission leasing its GPU (gpus.py)."""
