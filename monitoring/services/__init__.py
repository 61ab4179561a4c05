"""The monitoring app's services: views, consumers, tasks, commands and the admin call
these (``from monitoring import services``).

- ``sampling``: compute every metric from what was recorded and store the samples;
- ``alerts``: apply the rules (open, escalate, resolve), acknowledge, edit rules;
- ``notifications``: email and webhook messages about alerts, sent and retried;
- ``reads``: what the API, the dashboard and ``/metrics`` show.
"""

from monitoring.services.alerts import (
    RULE_FIELDS,
    acknowledge,
    alert_json,
    alerts,
    check_rule,
    ensure_defaults,
    evaluate,
    format_value,
    resolve,
    rules,
    update_rule,
)
from monitoring.services.notifications import (
    deliver,
    deliver_due,
    notification_payload,
    retry_notification,
)
from monitoring.services.reads import (
    dashboard,
    knowledge_gaps,
    last_validation,
    latest,
    overall_status,
    retrieval_health,
    rule_json,
    series,
)
from monitoring.services.sampling import (
    PROBES,
    SAMPLE_TASK,
    TRAFFIC,
    SamplePass,
    prune,
    sample,
    sample_every,
    sample_if_due,
)

__all__ = [
    "PROBES",
    "RULE_FIELDS",
    "SAMPLE_TASK",
    "TRAFFIC",
    "SamplePass",
    "acknowledge",
    "alert_json",
    "alerts",
    "check_rule",
    "dashboard",
    "deliver",
    "deliver_due",
    "ensure_defaults",
    "evaluate",
    "format_value",
    "knowledge_gaps",
    "last_validation",
    "latest",
    "notification_payload",
    "overall_status",
    "prune",
    "resolve",
    "retrieval_health",
    "retry_notification",
    "rule_json",
    "rules",
    "sample",
    "sample_every",
    "sample_if_due",
    "series",
    "update_rule",
]
