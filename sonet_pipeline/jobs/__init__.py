"""Dagster jobs and how the CLI runs them through Dagster without a daemon."""
