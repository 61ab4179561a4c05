"""Websocket routes. Apps add theirs here as they gain consumers."""

from django.urls import path

from chat.consumers import ChatConsumer
from lineled.consumers import NotificationsConsumer
from voice.consumers import VoiceConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationsConsumer.as_asgi()),
    path("ws/chat/<str:conversation_id>/", ChatConsumer.as_asgi()),
    path("ws/voice/<str:conversation_id>/", VoiceConsumer.as_asgi()),
]
