"""How the API knows who is calling: a bearer token or the browser session."""

from __future__ import annotations

from functools import wraps

from django.contrib.auth.decorators import login_not_required, login_required
from django.core.exceptions import PermissionDenied
from ninja.security import HttpBearer, SessionAuth

from lineled import services
from lineled.admission import AnonymousGate
from lineled.errors import Forbidden
from lineled.roles import Role, has_role


class BearerTokenAuth(HttpBearer):
    """``Authorization: Bearer ll_...``; no CSRF check since no cookie is involved."""

    def authenticate(self, request, token: str):
        user = services.user_for_token(token)
        if user is not None:
            request.user = user
            request.auth_method = "token"
        return user


class ActiveSessionAuth(SessionAuth):
    """The Django session, with Django's CSRF check on unsafe methods."""

    def authenticate(self, request, key):
        user = request.user
        if user.is_authenticated and user.is_active:
            request.auth_method = "session"
            return user
        return None


# The gate never signs anyone in: it counts (and over its rate refuses) the rest.
API_AUTH = [BearerTokenAuth(), ActiveSessionAuth(), AnonymousGate()]


def require_role(request, role: Role) -> None:
    """Raise Forbidden (HTTP 403) unless the caller holds ``role`` or above."""
    if not has_role(request.auth, role):
        raise Forbidden(f"this needs the {role.label} role")


def role_required(role: Role):
    """View decorator: sign-in first (redirect), then 403 without ``role``."""

    def decorator(view):
        @wraps(view)
        @login_required
        def wrapped(request, *args, **kwargs):
            if not has_role(request.user, role):
                raise PermissionDenied(f"This page needs the {role.label} role.")
            return view(request, *args, **kwargs)

        return wrapped

    return decorator


def role_or_token_required(role: Role):
    """``role_required``, or a valid ``Authorization: Bearer ll_...`` of a user holding
    ``role``: for the files the API links to (the page images of citations), so a token
    holder can load them too."""

    def decorator(view):
        signed_in = role_required(role)(view)

        @login_not_required  # checked here: the middleware would redirect a token holder
        @wraps(view)
        def wrapped(request, *args, **kwargs):
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            user = services.user_for_token(token.strip()) if scheme.lower() == "bearer" else None
            if user is None:
                return signed_in(request, *args, **kwargs)
            if not has_role(user, role):
                raise PermissionDenied(f"This needs the {role.label} role.")
            request.user = user
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
