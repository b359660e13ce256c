"""One job per kind of operation, each run by the worker under a lease (core/worker.py)."""
