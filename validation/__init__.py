"""The validation app: validation cases, runs and results; the readiness verdict."""
