"""Sensible default alert rules, and probe questions for the demo manuals."""

from django.db import migrations

from monitoring.defaults import PROBES, RULES


def seed(apps, schema_editor):
    AlertRule = apps.get_model("monitoring", "AlertRule")
    Probe = apps.get_model("monitoring", "Probe")
    for metric, direction, warning, critical, fire, resolve, description in RULES:
        AlertRule.objects.get_or_create(
            metric=metric,
            defaults={
                "direction": direction,
                "warning": warning,
                "critical": critical,
                "fire_after": fire,
                "resolve_after": resolve,
                "description": description,
            },
        )
    if not Probe.objects.exists():
        for question, follow_up, facts in PROBES:
            Probe.objects.create(question=question, follow_up=follow_up, follow_up_facts=facts)


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
