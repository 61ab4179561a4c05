from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from lineled.notify import role_group, user_group
from lineled.roles import Role, role_of

CLOSE_UNAUTHENTICATED = 4401


class NotificationsConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/notifications/``: server-sent events for the signed-in user.

    The socket receives what services send to its user and to every role it
    holds (a manager also hears crew broadcasts). It accepts no commands except
    ``{"type": "ping"}``, answered with ``{"type": "pong"}``.
    """

    async def connect(self):
        user = self.scope.get("user")
        role = await role_of_user(user)
        if role is None:
            await self.close(code=CLOSE_UNAUTHENTICATED)
            return
        self.groups_joined = [user_group(user.pk)] + [role_group(r) for r in Role if r <= role]
        for group in self.groups_joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "hello", "user": user.username, "role": role.label})

    async def disconnect(self, code):
        for group in getattr(self, "groups_joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def receive_json(self, content, **kwargs):
        if isinstance(content, dict) and content.get("type") == "ping":
            await self.send_json({"type": "pong"})
        else:
            await self.send_json({"type": "error", "message": 'only {"type": "ping"} is accepted'})

    async def notify_event(self, event):
        await self.send_json({"type": event["kind"], **event["payload"]})

    async def decode_json(self, text_data):
        try:
            return await super().decode_json(text_data)
        except ValueError:
            return None


@database_sync_to_async
def role_of_user(user):
    """``role_of`` for consumers: the user's role, read off the event loop."""
    return role_of(user)
