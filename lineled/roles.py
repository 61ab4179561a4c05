"""The three roles. Each includes the ones below it: ops > manager > crew.

A role is a Django group of the same name; a superuser counts as ops.
"""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    CREW = 1
    MANAGER = 2
    OPS = 3

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def from_label(cls, label: str) -> Role:
        try:
            return cls[label.upper()]
        except KeyError:
            raise ValueError(
                f"unknown role {label!r}; use one of {', '.join(r.label for r in cls)}"
            ) from None


ROLE_DESCRIPTIONS = {
    Role.CREW: "Ask questions by text or voice.",
    Role.MANAGER: "Also upload and manage the store's documents and see the team.",
    Role.OPS: "Also the admin console, monitoring and validation.",
}


def role_of(user) -> Role | None:
    """The highest role the user holds, or None (anonymous or no role group)."""
    if user is None or not user.is_authenticated or not user.is_active:
        return None
    cached = getattr(user, "_lineled_role", False)
    if cached is not False:
        return cached
    if user.is_superuser:
        role = Role.OPS
    else:
        names = {g.name for g in user.groups.all()}
        held = [r for r in Role if r.label in names]
        role = max(held) if held else None
    user._lineled_role = role
    return role


def has_role(user, role: Role) -> bool:
    held = role_of(user)
    return held is not None and held >= role
