"""The rule for the readiness of the newest validation run (added with that metric)."""

from django.db import migrations

from monitoring.defaults import seed_rules


def seed(apps, schema_editor):
    seed_rules(apps.get_model("monitoring", "AlertRule"), {"validation_readiness"})


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0002_default_rules_and_probes")]
    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
