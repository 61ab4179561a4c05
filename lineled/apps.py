from django.apps import AppConfig
from django.db.models.signals import post_migrate


class LineledConfig(AppConfig):
    """Project-wide accounts: roles (groups), API tokens, health and notifications."""

    name = "lineled"
    verbose_name = "Accounts and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from lineled import services

        # After every migrate (and every test flush) the three role groups exist
        # with their permissions; this app is last in INSTALLED_APPS so all
        # permissions have been created by then.
        post_migrate.connect(services.ensure_roles_after_migrate, sender=self)
