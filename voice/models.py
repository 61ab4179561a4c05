"""Models of the voice app: one row per spoken question, beside chat's messages."""

from django.db import models


class VoiceTurn(models.Model):
    """A question asked by voice: what was heard, how long each step took, how it ended.

    Written when the speaker stops (before anything is transcribed) and updated as the
    turn goes on, so a turn that fails or is cut off is kept as far as it got. The
    question and answer themselves are chat ``Message`` rows (modality "voice").
    Times are milliseconds from the end of speech (the moment the speaker stopped, or
    let go of the button), except ``audio_ms`` (length of the speech received).
    """

    class Status(models.TextChoices):
        TRANSCRIBING = "transcribing"
        NOT_UNDERSTOOD = "not_understood"  # nothing recognisable was said
        COMMAND = "command"  # "stop listening": handled, not asked
        ANSWERING = "answering"
        ANSWERED = "answered"
        FAILED = "failed"  # speech-to-text or the assistant failed; see error
        INTERRUPTED = "interrupted"  # the user spoke over the answer
        DISCONNECTED = "disconnected"  # the client left before the answer was spoken

    class Mode(models.TextChoices):
        PUSH = "push", "push-to-talk"
        HANDS_FREE = "handsfree", "hands-free"
        FILE = "file", "audio file"

    conversation = models.ForeignKey(
        "chat.Conversation", on_delete=models.CASCADE, related_name="voice_turns"
    )
    question = models.OneToOneField(
        "chat.Message",
        null=True,
        blank=True,
        on_delete=models.CASCADE,
        related_name="voice_turn",
    )
    answer = models.OneToOneField(
        "chat.Message",
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="spoken_answer",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.TRANSCRIBING)
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.PUSH)
    transcript = models.TextField(blank=True)
    cut = models.BooleanField(default=False, help_text="the speech hit the length limit")
    audio_ms = models.FloatField(help_text="length of the speech received")
    stt_engine = models.CharField(max_length=32)
    tts_engine = models.CharField(max_length=32, blank=True, help_text="empty: the browser spoke")
    stt_ms = models.FloatField(null=True, blank=True, help_text="speech end to transcript")
    first_token_ms = models.FloatField(
        null=True, blank=True, help_text="speech end to the answer's first words"
    )
    first_audio_ms = models.FloatField(
        null=True, blank=True, help_text="speech end to the first byte of answer audio"
    )
    total_ms = models.FloatField(null=True, blank=True, help_text="speech end to the last audio")
    sentences = models.PositiveIntegerField(default=0, help_text="sentences spoken")
    speech_out_ms = models.FloatField(default=0, help_text="length of the answer audio")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"voice turn {self.pk}: {self.transcript[:60] or self.status}"
