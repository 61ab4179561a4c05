"""Seed the golden cases for the demo manuals (validation/cases/demo.json).

Only when there are none, as ``services.ensure_default_cases()`` does at run time; the
file is read here, with the historical model, so later changes to the services cannot
break this migration.
"""

import json
from pathlib import Path

from django.db import migrations

CASES = Path(__file__).resolve().parent.parent / "cases" / "demo.json"
FIELDS = ("question", "history", "facts", "document", "pages", "kind")


def seed(apps, schema_editor):
    Case = apps.get_model("validation", "Case")
    if Case.objects.exists() or not CASES.exists():
        return
    cases = []
    for item in json.loads(CASES.read_text()):
        case = Case(**{f: item[f] for f in FIELDS if f in item})
        case.answerable = item.get("answerable", case.kind != "off-topic")
        cases.append(case)
    Case.objects.bulk_create(cases)


def unseed(apps, schema_editor):
    """Going back removes only the cases this migration added, as they were."""
    Case = apps.get_model("validation", "Case")
    for item in json.loads(CASES.read_text()) if CASES.exists() else []:
        Case.objects.filter(question=item["question"], kind=item.get("kind", "fact")).delete()


class Migration(migrations.Migration):
    dependencies = [("validation", "0001_initial")]

    operations = [migrations.RunPython(seed, unseed)]
