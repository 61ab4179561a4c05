"""The monitoring app's services: views, consumers, tasks, commands and the admin call
these (``from monitoring import services``).

- ``sampling``: compute every metric from what was recorded and store the samples;
- ``alerts``: apply the rules (open, escalate, resolve), acknowledge, edit rules;
- ``notifications``: email and webhook messages about alerts, sent and retried;
- ``reads``: what the API, the dashboard and ``/metrics`` show, as the API's schemas.

They import downward only: sampling uses alerts, notifications and reads; alerts uses
notifications; notifications and reads use none of the others.
"""

from monitoring.services.alerts import (
    RULE_FIELDS,
    acknowledge,
    check_rule,
    ensure_defaults,
    evaluate,
    format_value,
    resolve,
    update_rule,
)
from monitoring.services.notifications import (
    deliver,
    deliver_due,
    notification_payload,
    retry_notification,
)
from monitoring.services.reads import (
    SAMPLE_TASK,
    alerts,
    dashboard,
    knowledge_gaps,
    last_validation,
    latest,
    overall_status,
    retrieval_health,
    rules,
    sample_every,
    series,
)
from monitoring.services.sampling import (
    PROBES,
    TRAFFIC,
    SamplePass,
    prune,
    sample,
    sample_if_due,
)

__all__ = [
    "PROBES",
    "RULE_FIELDS",
    "SAMPLE_TASK",
    "TRAFFIC",
    "SamplePass",
    "acknowledge",
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
    "rules",
    "sample",
    "sample_every",
    "sample_if_due",
    "series",
    "update_rule",
]
