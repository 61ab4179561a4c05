from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from celery.signals import worker_process_init

        from knowledge.signals import knowledge_changed

        knowledge_changed.connect(_knowledge_changed, dispatch_uid="voice.rebuild_vocabulary")
        # A Celery worker process answers spoken questions too (monitoring probes,
        # validation runs): it loads the recogniser as it starts.
        worker_process_init.connect(_worker_started, dispatch_uid="voice.preload", weak=False)


def _knowledge_changed(sender, document_id=None, **kwargs):
    """The manuals changed: rebuild the speech vocabulary once the change is committed."""
    from voice.tasks import rebuild_vocabulary

    rebuild_vocabulary.delay_on_commit()


def _worker_started(**kwargs):
    from voice import stt

    stt.preload()
