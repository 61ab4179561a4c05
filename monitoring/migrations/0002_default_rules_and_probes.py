"""Sensible default alert rules, and probe questions for the demo manuals."""

from django.db import migrations

from monitoring.defaults import seed_probes, seed_rules


def seed(apps, schema_editor):
    seed_rules(apps.get_model("monitoring", "AlertRule"))
    seed_probes(apps.get_model("monitoring", "Probe"))


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0001_initial")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
