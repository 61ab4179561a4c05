"""The monitoring app: metric samples, alert rules and alerts about the assistant."""
