"""Websocket routes. Apps add theirs here as they gain consumers."""

from django.urls import path

from lineled.consumers import NotificationsConsumer

websocket_urlpatterns = [
    path("ws/notifications/", NotificationsConsumer.as_asgi()),
]
