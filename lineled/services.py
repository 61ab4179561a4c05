"""Writes across models for accounts: roles, demo users, API tokens."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group, Permission
from django.core.cache import cache
from django.db import transaction
from django.utils import timezone

from lineled.models import TOKEN_PREFIX, ApiToken, digest_token
from lineled.roles import Role

# Apps whose objects a manager may manage (documents, once knowledge has them).
MANAGER_APPS = ("knowledge",)


def ensure_roles() -> dict[Role, Group]:
    """Create the role groups if missing and give them their permissions.

    Ops runs the admin console, so it holds every permission; managers hold the
    knowledge app's. Safe to call any number of times.
    """
    groups = {role: Group.objects.get_or_create(name=role.label)[0] for role in Role}
    groups[Role.OPS].permissions.set(Permission.objects.all())
    groups[Role.MANAGER].permissions.set(
        Permission.objects.filter(content_type__app_label__in=MANAGER_APPS)
    )
    return groups


def ensure_roles_after_migrate(sender, using="default", **kwargs) -> None:
    if using == "default":
        ensure_roles()


def set_role(user, role: Role) -> None:
    """Make ``role`` the user's only role group."""
    groups = ensure_roles()
    with transaction.atomic():
        user.groups.remove(*[g for r, g in groups.items() if r != role])
        user.groups.add(groups[role])
    user.__dict__.pop("_lineled_role", None)


DEMO_USERS = (
    ("crew", Role.CREW, "Casey", "Crew"),
    ("manager", Role.MANAGER, "Morgan", "Manager"),
    ("ops", Role.OPS, "Ollie", "Ops"),
)


@dataclass
class DemoUser:
    username: str
    role: Role
    password: str | None  # only set when the user was created just now


def ensure_demo_users() -> list[DemoUser]:
    """Create one user per role with a random password, once.

    Existing users are left alone (their password is not returned again).
    """
    User = get_user_model()
    result = []
    for username, role, first, last in DEMO_USERS:
        password = None
        with transaction.atomic():
            user, created = User.objects.get_or_create(
                username=username, defaults={"first_name": first, "last_name": last}
            )
            if created:
                password = secrets.token_urlsafe(9)
                user.set_password(password)
                user.save(update_fields=["password"])
                set_role(user, role)
        result.append(DemoUser(username, role, password))
    return result


PROBE_USERNAME = "lineled-probe"
VALIDATION_USERNAME = "lineled-validation"
# The monitor's probes and in-process validation runs ask as these accounts. What they
# ask is measured by their own figures: it is not the store's traffic, and the speech
# vocabulary does not learn from it (a validation run that typed its golden questions
# would otherwise teach the recogniser the very sentences it is about to hear).
SYSTEM_USERS = (PROBE_USERNAME, VALIDATION_USERNAME)


def by_people(queryset):
    """``queryset`` (messages or voice turns) without what the app's own accounts asked."""
    return queryset.exclude(conversation__user__username__in=SYSTEM_USERS)


def team():
    """The people who can sign in, for the Team page and ``/api/users``: the app's own
    accounts (``SYSTEM_USERS``) are no one's colleagues and are left out."""
    people = get_user_model().objects.exclude(username__in=SYSTEM_USERS)
    return people.prefetch_related("groups").order_by("username")


def service_account(username: str, first_name: str, *, role: Role | None = None, active=True):
    """An account the app itself asks as (monitoring probes, validation runs), made on
    first use: it has no usable password, so nobody can sign in as it."""
    user, created = get_user_model().objects.get_or_create(
        username=username, defaults={"first_name": first_name, "is_active": active}
    )
    if created:
        user.set_unusable_password()
        user.save(update_fields=["password"])
        if role is not None:
            set_role(user, role)
    return user


# --- API tokens -------------------------------------------------------------------


class TokenError(ValueError):
    """A token request that cannot be honoured (unknown user, bad expiry ...)."""


def create_token(user, name: str, *, expires_at=None) -> tuple[ApiToken, str]:
    """Create a token and return it with its plain text, which is never stored."""
    name = (name or "").strip()
    if not name:
        raise TokenError("a token needs a name saying what it is for")
    if len(name) > 100:
        raise TokenError("a token name is at most 100 characters")
    if not user.is_active:
        raise TokenError(f"user {user.username!r} is inactive")
    if expires_at is not None and expires_at <= timezone.now():
        raise TokenError("the expiry date is already past")
    plain = TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=plain[: len(TOKEN_PREFIX) + 8],
        digest=digest_token(plain),
        expires_at=expires_at,
    )
    return token, plain


def user_for_token(plain: str):
    """The active user a usable token belongs to, or None. Records its use."""
    if not plain or not plain.startswith(TOKEN_PREFIX) or len(plain) > 200:
        return None
    token = (
        ApiToken.objects.usable().select_related("user").filter(digest=digest_token(plain)).first()
    )
    if token is None:
        return None
    _record_use(token)
    return token.user


def _record_use(token: ApiToken) -> None:
    """``last_used_at`` written once per API_TOKEN_TOUCH_SECONDS at most, however busy
    the token: a request that reads a recent one writes nothing, and of the requests
    that find it old at once (50 asks from one kiosk) only the one that claims the
    interval in the cache writes, so the others do not queue for the row or, on SQLite,
    for the database's one write lock."""
    seconds = settings.API_TOKEN_TOUCH_SECONDS
    now = timezone.now()
    if token.last_used_at is not None and now - token.last_used_at < timedelta(seconds=seconds):
        return
    # The key names the interval, so a clock that moves on (or a cache that keeps
    # keys past their time) never blocks the next interval's write.
    interval = int(now.timestamp() // seconds)
    if cache.add(f"token-used:{token.pk}:{interval}", True, timeout=seconds):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)


def revoke_tokens(*, user=None, prefix: str | None = None) -> int:
    """Revoke the matching live tokens; returns how many were revoked."""
    if user is None and not prefix:
        raise TokenError("say whose tokens, or which token (by prefix), to revoke")
    tokens = ApiToken.objects.all()
    if user is not None:
        tokens = tokens.filter(user=user)
    if prefix:
        tokens = tokens.filter(prefix__startswith=prefix)
    return revoke(tokens)


def revoke(tokens) -> int:
    """Revoke the live tokens among ``tokens`` (a queryset); returns how many."""
    return tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
