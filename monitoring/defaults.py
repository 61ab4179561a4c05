"""The alert rules and probe questions a new store starts with (seeded by migration
0002 and by ``services.ensure_defaults``)."""

# metric, direction, warning, critical, fire_after, resolve_after, description
RULES = [
    ("retrieval_latency_p95_ms", "above", 1500, 5000, 2, 2, "Searches are slow."),
    ("retrieval_success_rate", "below", 0.95, 0.8, 2, 2, "The search backend is failing."),
    ("grounded_answer_rate", "below", 0.8, 0.5, 3, 2, "Answers without citations."),
    ("decline_rate", "above", 0.4, 0.7, 5, 3, "Many questions the manuals cannot answer."),
    ("answer_latency_p95_ms", "above", 8000, 20000, 2, 2, "Answers are slow."),
    ("voice_roundtrip_p95_ms", "above", 900, 2000, 2, 2, "Spoken answers start late."),
    ("assistant_error_rate", "above", 0.05, 0.2, 2, 2, "Answers are failing."),
    ("citation_validity", "below", 0.95, 0.8, 2, 2, "Citations point at the wrong page."),
    ("cross_modal_consistency", "below", 0.5, 0.2, 2, 2, "Voice answers differ from text."),
    ("context_preservation_rate", "below", 0.7, 0.4, 2, 2, "Follow-ups lose the context."),
    ("feedback_positive_rate", "below", 0.6, 0.4, 3, 3, "Crews dislike the answers."),
    ("worker_heartbeat_age_s", "above", 180, 600, 1, 1, "No Celery worker is running tasks."),
    ("celery_queue_length", "above", 100, 1000, 3, 2, "Tasks are piling up in the queue."),
    ("ingestion_backlog", "above", 20, 100, 5, 2, "Documents wait long to be ingested."),
    ("periodic_tasks_overdue", "above", 0.5, None, 1, 1, "A periodic task has not run."),
    ("validation_readiness", "below", 1.5, 0.5, 1, 1, "Validation says not ready."),
]

# The events a sample must rest on before its rule judges it. A rate or a p95 over a
# handful of events says little (two thumbs down of three is not "crews dislike the
# answers"); the probes ask few questions by design, and the operational metrics count
# things (queued tasks, waiting documents) whose zero is a fine value to judge.
MIN_COUNTS = {
    "retrieval_latency_p95_ms": 10,
    "retrieval_success_rate": 10,
    "grounded_answer_rate": 10,
    "decline_rate": 10,
    "answer_latency_p95_ms": 10,
    "voice_roundtrip_p95_ms": 5,
    "assistant_error_rate": 10,
    "citation_validity": 10,
    "feedback_positive_rate": 10,
    "cross_modal_consistency": 1,
    "context_preservation_rate": 1,
}

PROBES = [
    ("how long do french fries go in the fryer", "and what temperature", ["350"]),
    ("what temperature should the walk-in cooler be", "what about the walk-in freezer", ["0°F"]),
    ("what does the E2 error on the shake machine mean", "and E5", ["BEATER OVERLOAD"]),
]


def seed_rules(rule_model, metrics: set[str] | None = None) -> None:
    """Create the rule of each metric in ``RULES`` (or only ``metrics``) that has none.

    Takes the model class, so migrations can pass their historical model (before
    migration 0004 it has no ``min_count``)."""
    counted = any(f.name == "min_count" for f in rule_model._meta.get_fields())
    for metric, direction, warning, critical, fire, resolve, description in RULES:
        if metrics is not None and metric not in metrics:
            continue
        defaults = {
            "direction": direction,
            "warning": warning,
            "critical": critical,
            "fire_after": fire,
            "resolve_after": resolve,
            "description": description,
        }
        if counted:
            defaults["min_count"] = MIN_COUNTS.get(metric, 0)
        rule_model.objects.get_or_create(metric=metric, defaults=defaults)


def seed_probes(probe_model) -> None:
    """The demo manuals' probes, when there are no probes at all."""
    if not probe_model.objects.exists():
        for question, follow_up, facts in PROBES:
            probe_model.objects.create(
                question=question, follow_up=follow_up, follow_up_facts=facts
            )
