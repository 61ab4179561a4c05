from django.contrib import admin
from django.contrib.admin.apps import AdminConfig

from lineled.roles import Role, has_role


class OpsAdminSite(admin.AdminSite):
    """The ops console: open to the ops role (and superusers), whatever is_staff says."""

    site_header = "Line Lead ops console"
    site_title = "Line Lead ops"
    index_title = "Operations"

    def has_permission(self, request) -> bool:
        return has_role(request.user, Role.OPS)


class OpsAdminConfig(AdminConfig):
    """The Django admin app, using the ops console site above."""

    default_site = "lineled.admin_site.OpsAdminSite"
