"""Models of the chat app: conversations, their messages, the citations of answers and
the crew's feedback on them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Conversation(models.Model):
    """A thread of questions and answers of one user, typed or spoken."""

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="conversations"
    )
    title = models.CharField(max_length=200, blank=True, help_text="From the first question.")
    created_at = models.DateTimeField(default=timezone.now, editable=False)
    updated_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-updated_at", "-pk"]

    def __str__(self) -> str:
        return self.title or f"Conversation {self.pk}"


class Message(models.Model):
    """One turn: a question (role user) or an answer (role assistant).

    An answer is stored as it streams (status streaming, text growing) and always ends
    done or failed (with the reason), whether or not anyone is still listening.
    """

    class Role(models.TextChoices):
        USER = "user"
        ASSISTANT = "assistant"

    class Modality(models.TextChoices):
        TEXT = "text"
        VOICE = "voice"

    class Status(models.TextChoices):
        PENDING = "pending"
        STREAMING = "streaming"
        DONE = "done"
        FAILED = "failed"

    conversation = models.ForeignKey(
        Conversation, on_delete=models.CASCADE, related_name="messages"
    )
    role = models.CharField(max_length=16, choices=Role.choices)
    modality = models.CharField(max_length=16, choices=Modality.choices, default=Modality.TEXT)
    text = models.TextField(blank=True)
    status = models.CharField(
        max_length=16, choices=Status.choices, default=Status.DONE, db_index=True
    )
    error = models.TextField(
        blank=True,
        help_text="Why the answer failed, if it did, in full (a provider's own words): for ops.",
    )
    public_error = models.TextField(
        blank=True, help_text="What the crew is told about a failed answer."
    )
    reply_to = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="replies",
        help_text="For an answer: the question it answers.",
    )
    declined = models.BooleanField(
        default=False, help_text="The assistant found nothing in the manuals to answer with."
    )
    search_query = models.CharField(
        max_length=500, blank=True, help_text="What was searched (a follow-up made whole)."
    )
    topic = models.CharField(max_length=32, blank=True)
    model_name = models.CharField(max_length=100, blank=True)
    input_tokens = models.PositiveIntegerField(null=True, blank=True)
    output_tokens = models.PositiveIntegerField(null=True, blank=True)
    # Milliseconds from the question being stored.
    search_ms = models.FloatField(null=True, blank=True)
    first_token_ms = models.FloatField(null=True, blank=True)
    answer_ms = models.FloatField(null=True, blank=True, help_text="Writing the answer.")
    total_ms = models.FloatField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["created_at", "pk"]
        indexes = [models.Index(fields=["conversation", "created_at"])]

    def __str__(self) -> str:
        return f"{self.role}: {self.text[:60]}"


class Citation(models.Model):
    """A passage an answer cites, as it was when cited (the document may change later)."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="citations")
    rank = models.PositiveSmallIntegerField(help_text="The [n] marker in the answer.")
    document = models.ForeignKey(
        "knowledge.Document", null=True, blank=True, on_delete=models.SET_NULL
    )
    chunk = models.ForeignKey("knowledge.Chunk", null=True, blank=True, on_delete=models.SET_NULL)
    title = models.CharField(max_length=300)
    filename = models.CharField(max_length=255, blank=True)
    pages = models.JSONField(default=list)
    heading = models.CharField(max_length=1000, blank=True)
    snippet = models.TextField(blank=True)
    score = models.FloatField(default=0)

    class Meta:
        ordering = ["message", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["message", "rank"], name="unique_citation_rank")
        ]

    def __str__(self) -> str:
        return f"[{self.rank}] {self.title} p.{','.join(map(str, self.pages))}"


class Feedback(models.Model):
    """A user's thumbs up or down on an answer, with an optional reason; one per user
    and answer (giving it again changes it)."""

    class Rating(models.TextChoices):
        UP = "up"
        DOWN = "down"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="feedback")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    rating = models.CharField(max_length=8, choices=Rating.choices)
    reason = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["message", "user"], name="one_feedback_per_user")
        ]

    def __str__(self) -> str:
        return f"{self.rating} on message {self.message_id}"
