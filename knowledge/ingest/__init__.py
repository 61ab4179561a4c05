"""Turning an uploaded file into pages and chunks. Pure functions over bytes and paths;
the writes happen in knowledge.services."""
