"""Benchmarks of the client SDKs' offline-first parts (issue 16)."""
