"""`make bench`: the service's throughput as a ratio to bare Temporal, measured in one run.

The system starts as `make up` starts it (dev server → migrate → seed → worker → API), in a
fresh data dir under var/bench/ on free ports; then bare Temporal (one trivial activity per
workflow), the happy path over HTTP (saturated, then paced at a fraction of bare Temporal),
the worker's memory with many open cases, and optionally the case list at scale.
"""
