"""Writes and reads across the voice app's models.

Views, consumers, tasks and management commands call these; they hold the logic.
"""
