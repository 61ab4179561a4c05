"""The knowledge app: documents, pages and chunks; ingestion; retrieval backends (local, Ragie)."""
