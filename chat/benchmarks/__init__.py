"""Benchmarks of the chat app (``manage.py bench chat``)."""
