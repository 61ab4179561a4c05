from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.contrib.auth import get_user_model

from lineled.notify import role_group, user_group
from lineled.roles import Role, role_of

CLOSE_UNAUTHENTICATED = 4401
# Sent (code "signed_out") before closing a socket whose user may no longer ask.
ACCESS_ENDED = "you are signed out, or your role no longer includes chat"


class NotificationsConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/notifications/``: server-sent events for the signed-in user.

    The socket receives what services send to its user and to every role it
    holds (a manager also hears crew broadcasts). It accepts no commands except
    ``{"type": "ping"}``, answered with ``{"type": "pong"}``.

    Access follows the user as it changes: when the user is deactivated or loses
    every role the socket is closed with 4401; when their role changes it leaves
    the groups of roles no longer held (and joins new ones) and says ``hello``
    again with the new role. A role group's event is only passed on after checking
    the role still holds, in case the change was made where no signal reached us.
    """

    groups_joined: list[str]
    role: Role | None = None

    async def connect(self):
        self.groups_joined = []
        user = self.scope.get("user")
        role = await role_of_user(user)
        if role is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        await self.join(role)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.username, "role": role.label})

    async def join(self, role: Role) -> None:
        """Be in the user's group and exactly the groups of ``role`` and below."""
        wanted = [user_group(self.scope["user"].pk)] + [role_group(r) for r in Role if r <= role]
        for group in set(self.groups_joined) - set(wanted):
            await self.channel_layer.group_discard(group, self.channel_name)
        for group in set(wanted) - set(self.groups_joined):
            await self.channel_layer.group_add(group, self.channel_name)
        self.groups_joined = wanted
        self.role = role

    async def disconnect(self, code):
        for group in self.groups_joined:
            await self.channel_layer.group_discard(group, self.channel_name)
        self.groups_joined = []

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "message": 'only {"type": "ping"} is accepted'})

    async def notify_event(self, event):
        group = event.get("group", "")
        if group.startswith("role.") and not await self.still_allowed(group):
            return
        await self.send_json({"type": event["kind"], **event["payload"]})

    async def access_changed(self, event):
        """The user's account or role groups changed (``lineled.notify``)."""
        role = await current_role(self.scope["user"])
        if role is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
        elif role != self.role:
            await self.join(role)
            user = self.scope["user"]
            await self.send_json({"type": "hello", "user": user.username, "role": role.label})

    async def still_allowed(self, group: str) -> bool:
        role = await current_role(self.scope["user"])
        if role is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return False
        if group not in [role_group(r) for r in Role if r <= role]:
            await self.join(role)
            return False
        return True

    async def decode_json(self, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None


@database_sync_to_async
def role_of_user(user):
    """``role_of`` for consumers: the user's role, read off the event loop."""
    return role_of(user)


@database_sync_to_async
def current_role(user) -> Role | None:
    """The role ``user`` holds now, read again from the database: a socket's scope
    keeps the user as they were when it connected. None if they are gone, inactive
    or hold no role."""
    if user is None or not user.is_authenticated:
        return None
    return role_of(get_user_model().objects.filter(pk=user.pk).first())
