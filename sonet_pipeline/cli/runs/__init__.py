"""What `sync`, `send` and `shop publish` run: a job executed now through Dagster, and its summary."""
