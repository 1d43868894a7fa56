"""Workloads: one function per (target, operation) that measures one cell and returns a Sample.

`writes` holds the write workloads (in-process store, raw plyvel, HTTP PUT);
reads, range queries and real-time fan-out are to be further modules here.
"""
