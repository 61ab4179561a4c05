from django.apps import AppConfig


class VoiceConfig(AppConfig):
    name = "voice"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from knowledge.signals import knowledge_changed

        knowledge_changed.connect(_knowledge_changed, dispatch_uid="voice.rebuild_vocabulary")


def _knowledge_changed(sender, document_id=None, **kwargs):
    """The manuals changed: rebuild the speech vocabulary once the change is committed."""
    from voice.tasks import rebuild_vocabulary

    rebuild_vocabulary.delay_on_commit()
