"""Levelstream benchmarks: `make bench` (or `python -m bench [suite ...]`).

A suite is a module under `bench.suites` that measures one family of
workloads and returns a report (markdown plus JSON) written to
`bench/results/<suite>.md` and `.json`. The building blocks are shared:
`config` (profiles and env knobs), `measure` (timed windows, meters, CPU
probes), `scratch` (data directories on the real disk), `servers` (server
subprocesses pinned to a CPU), `loadgen` (HTTP load generators) and `report`
(tables and files).
"""
