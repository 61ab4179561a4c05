"""Rules judge a sample only when it rests on enough events (``min_count``); the rules
already seeded take the defaults' counts, the operational ones 0."""

from django.db import migrations, models

from monitoring.defaults import MIN_COUNTS


def set_counts(apps, schema_editor):
    rules = apps.get_model("monitoring", "AlertRule")
    for rule in rules.objects.all():
        rule.min_count = MIN_COUNTS.get(rule.metric, 0)
        rule.save(update_fields=["min_count"])


class Migration(migrations.Migration):
    dependencies = [("monitoring", "0003_validation_readiness_rule")]

    operations = [
        migrations.AddField(
            model_name="alertrule",
            name="min_count",
            field=models.PositiveIntegerField(
                default=1,
                help_text=(
                    "Fewer events than this behind a sample: the sample is not judged "
                    "(three thumbs down are not a trend). 0 judges every value."
                ),
            ),
        ),
        migrations.RunPython(set_counts, migrations.RunPython.noop),
    ]
