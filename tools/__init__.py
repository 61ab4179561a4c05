"""Developer tools that are not part of the running app (``python -m tools.<name>``)."""
