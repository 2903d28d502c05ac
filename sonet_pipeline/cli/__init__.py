"""The `sonet-pipeline` command and its sub-commands: thin, they delegate to the core and to `jobs/`."""
