"""Benchmarks of the knowledge base, run by ``manage.py bench retrieval|ingest``."""
