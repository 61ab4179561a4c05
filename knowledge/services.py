"""Writes and reads across the knowledge app's models.

Views, consumers, tasks and management commands call these; they hold the logic.
"""
