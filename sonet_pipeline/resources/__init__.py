"""Dagster resources: the pure core wrapped for Dagster, bound once in `definitions.py`."""
