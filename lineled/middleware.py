from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as BaseLoginRequired


class LoginRequiredMiddleware(BaseLoginRequired):
    """Django's login-required default, minus the probes and the API.

    The API authenticates on its own (session or bearer token) and answers 401
    in JSON rather than redirecting to the login page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(settings.LOGIN_EXEMPT_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)
