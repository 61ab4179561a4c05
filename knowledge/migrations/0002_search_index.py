"""Installed the first full-text index of chunks; migration 0004 installs the current
one (with the document title as context) and removes this one where it ran, so on a new
database this step does nothing.
"""

from django.db import migrations


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(migrations.RunPython.noop, migrations.RunPython.noop),
    ]
