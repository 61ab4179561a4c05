"""Models of the validation app: golden cases, runs and their 25 results.

A run keeps the evidence of every test (inputs, outputs, timings) in its results, so a
verdict can always be explained after the fact.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.utils import timezone


class Case(models.Model):
    """A golden question: what the documents say (or that they cannot answer it).

    Where the answer is: a document and its pages (a store's own manuals), or section
    ids (a regulation such as the Food Code); a citation of any one section counts.
    """

    class Kind(models.TextChoices):
        FACT = "fact"
        PROCEDURE = "procedure"
        SAFETY = "safety"
        OFF_TOPIC = "off-topic"
        FOLLOW_UP = "follow-up"
        # Kinds of the shared evaluation format, kept so figures can be read per kind.
        NUMERIC_TABLE = "numeric-table"
        PARAPHRASE = "paraphrase"
        MULTI_SECTION = "multi-section"

    question = models.CharField(max_length=500)
    history = models.JSONField(
        default=list, blank=True, help_text="Earlier questions of the conversation, in order."
    )
    answerable = models.BooleanField(default=True, help_text="Can the documents answer it?")
    facts = models.JSONField(
        default=list,
        blank=True,
        help_text="What a correct answer must contain (in order for a procedure).",
    )
    document = models.CharField(
        max_length=255, blank=True, help_text="File name of the document that answers it."
    )
    pages = models.JSONField(default=list, blank=True, help_text="Pages that answer it.")
    sections = models.JSONField(
        default=list,
        blank=True,
        help_text="Section ids that answer it (e.g. 3-401.11); citing any one counts.",
    )
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.FACT)
    enabled = models.BooleanField(default=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["pk"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.question[:80]}"


# The longest a run may take (the worker's time limit): a run queued or running for
# longer was left by a worker that died, and no longer holds the next one back.
RUN_TIME_LIMIT_S = 3600


class Run(models.Model):
    """One validation of the deployment: 25 tests, a score and a readiness verdict."""

    class Status(models.TextChoices):
        QUEUED = "queued"
        RUNNING = "running"
        DONE = "done"
        FAILED = "failed"

    class Readiness(models.TextChoices):
        READY = "READY"
        CONDITIONAL = "CONDITIONAL"
        NOT_READY = "NOT READY"

    class Trigger(models.TextChoices):
        ADMIN = "admin"
        API = "api"  # with a token
        BROWSER = "browser"  # the API with the browser session: the Validation page
        CLI = "cli"
        SCHEDULE = "schedule"

    status = models.CharField(
        max_length=8, choices=Status.choices, default=Status.QUEUED, db_index=True
    )
    trigger = models.CharField(max_length=8, choices=Trigger.choices, default=Trigger.CLI)
    target = models.CharField(
        max_length=500, blank=True, help_text="The live deployment's URL; empty: in-process."
    )
    category = models.CharField(max_length=16, blank=True, help_text="Only this category.")
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    tests_total = models.PositiveSmallIntegerField(default=0)
    tests_done = models.PositiveSmallIntegerField(default=0)
    score = models.FloatField(null=True, blank=True)
    success_rate = models.FloatField(null=True, blank=True)
    readiness = models.CharField(max_length=12, choices=Readiness.choices, blank=True)
    blocking_failed = models.JSONField(default=list, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    duration_s = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"run {self.pk}: {self.readiness or self.status}"


class Result(models.Model):
    """One test of a run, with its evidence."""

    run = models.ForeignKey(Run, on_delete=models.CASCADE, related_name="results")
    test_id = models.CharField(max_length=64)
    category = models.CharField(max_length=16)
    name = models.CharField(max_length=200)
    order = models.PositiveSmallIntegerField(default=0)
    score = models.FloatField()
    passed = models.BooleanField()
    blocking = models.BooleanField(default=False)
    summary = models.CharField(max_length=500, blank=True, help_text="What failed and why.")
    details = models.JSONField(default=dict, blank=True)
    duration_ms = models.FloatField(default=0)

    class Meta:
        ordering = ["run", "order"]
        constraints = [
            models.UniqueConstraint(fields=["run", "test_id"], name="one_result_per_test")
        ]

    def __str__(self) -> str:
        return f"{self.test_id}: {self.score:.0f}"
