"""Pages of the chat app: the chat screen, new or showing one conversation."""

from django.urls import path

from chat import views

app_name = "chat"

urlpatterns = [
    path("", views.chat, name="chat"),
    path("<int:conversation_id>/", views.chat, name="conversation"),
]
