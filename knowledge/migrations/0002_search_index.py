"""The full-text index of chunks: FTS5 on SQLite, a tsvector column on PostgreSQL.

Not part of the model state; see knowledge/search/schema.py for what each vendor gets.
"""

from django.db import migrations


def install(apps, schema_editor):
    from knowledge.search import schema

    schema.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from knowledge.search import schema

    schema.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0001_initial"),
    ]

    operations = [
        migrations.RunPython(install, uninstall, elidable=False),
    ]
