from django.apps import AppConfig
from django.db.models.signals import m2m_changed, post_delete, post_migrate, post_save, pre_delete


class LineledConfig(AppConfig):
    """Project-wide accounts: roles (groups), API tokens, health and notifications."""

    name = "lineled"
    verbose_name = "Accounts and access"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group

        from lineled import notify, services

        # After every migrate (and every test flush) the three role groups exist
        # with their permissions; this app is last in INSTALLED_APPS so all
        # permissions have been created by then.
        post_migrate.connect(services.ensure_roles_after_migrate, sender=self)
        # Open sockets re-check access when an account or its role groups change.
        user = get_user_model()
        post_save.connect(notify.on_user_saved, sender=user)
        post_delete.connect(notify.on_user_deleted, sender=user)
        m2m_changed.connect(notify.on_groups_changed, sender=user.groups.through)
        pre_delete.connect(notify.on_group_deleted, sender=Group)
