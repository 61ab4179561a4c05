from celery.signals import worker_process_init
from django.apps import AppConfig
from django.db.models.signals import post_migrate

from knowledge.signals import knowledge_changed

# The handlers import the modules that need models inside them: this module is imported
# while Django is still loading the apps.


class KnowledgeConfig(AppConfig):
    name = "knowledge"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        post_migrate.connect(_ensure_search_index, sender=self)
        knowledge_changed.connect(_forget_copies, dispatch_uid="knowledge.forget_copies")
        # A worker process searches too (monitoring probes, validation runs).
        worker_process_init.connect(_worker_started, dispatch_uid="knowledge.preload", weak=False)


def _worker_started(**kwargs):
    from knowledge import vectors

    vectors.preload()


def _forget_copies(**kwargs):
    """This process changed the store: its in-memory copies (the embeddings index, the
    assistant's word counts) check again at once."""
    from knowledge import freshness

    freshness.forget()


def _ensure_search_index(using="default", **kwargs):
    """A later migration that rebuilds knowledge_chunk on SQLite drops the FTS triggers;
    put them back (and re-index) after every migrate."""
    from django.db import connections

    from knowledge.search import schema

    schema.ensure(connections[using])
