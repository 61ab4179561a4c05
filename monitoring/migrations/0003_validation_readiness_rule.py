"""The rule for the readiness of the newest validation run (added with that metric)."""

from django.db import migrations

from monitoring.defaults import RULES


def seed(apps, schema_editor):
    AlertRule = apps.get_model("monitoring", "AlertRule")
    for metric, direction, warning, critical, fire, resolve, description in RULES:
        if metric == "validation_readiness":
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


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0002_default_rules_and_probes")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
