"""The chat screen. The page is a shell: static/js/chat.js loads a conversation's
messages from the REST API and asks questions over the websocket.

``/chat/`` is a new conversation that has no row yet: the script creates it through
the API when the first question is asked, so opening the screen stores nothing.
"""

from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_GET

from chat import services
from lineled.auth import role_required
from lineled.errors import NotFound
from lineled.roles import Role

RECENT_CONVERSATIONS = 50  # shown in the list before the script refreshes it
SUGGESTIONS = [
    "How long do fries cook?",
    "The walk-in reads 45°F. What do I do?",
    "How do I filter the fryer oil?",
    "What temperature do burgers need to reach?",
]


@require_GET
@role_required(Role.CREW)
def chat(request, conversation_id: int | None = None):
    conversation = None
    if conversation_id is not None:
        try:
            conversation = services.get_conversation(request.user, conversation_id)
        except NotFound:
            raise Http404("No such conversation.") from None
    conversations = services.conversations_of(request.user)[:RECENT_CONVERSATIONS]
    config = {
        "conversation": conversation.pk if conversation else None,
        "title": conversation.title if conversation else "",
        "chatUrl": reverse("chat:chat"),
        "conversationsApi": f"{reverse('api:api-root')}chat/conversations",
        "messagesApi": f"{reverse('api:api-root')}chat/messages",
        "socketPath": "/ws/chat/",
        "maxChars": services.MAX_QUESTION_CHARS,
    }
    context = {
        "conversation": conversation,
        "conversations": conversations,
        "suggestions": SUGGESTIONS,
        "config": config,
    }
    return render(request, "chat/chat.html", context)
