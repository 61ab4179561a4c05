from django.apps import AppConfig
from django.db.models.signals import post_migrate


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_ensure_search_index, sender=self)


def _ensure_search_index(using="default", **kwargs):
    """A later migration that rebuilds knowledge_chunk on SQLite drops the FTS triggers;
    put them back (and re-index) after every migrate."""
    from django.db import connections

    from knowledge.search import schema

    schema.ensure(connections[using])
