import json
from io import StringIO

import pytest
from django.core.management import call_command

from monitoring.models import MetricSample


@pytest.mark.django_db(transaction=True)
def test_bench_monitoring_times_sampling_over_the_history_it_writes():
    out = StringIO()
    call_command("bench", "monitoring", "--json", "--messages", "2000", "--repeat", "2", stdout=out)
    result = json.loads(out.getvalue())
    assert result["messages"] == 2000
    assert len(result["sampling_pass_ms"]["runs"]) == 2
    assert all(ms > 0 for ms in result["sampling_pass_ms"]["runs"])
    assert set(result["per_metric_ms"]) >= {"grounded_answer_rate", "citation_validity"}
    assert not MetricSample.objects.exists()  # it ran in a sandbox of its own
