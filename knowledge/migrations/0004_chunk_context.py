"""Chunks carry their document's title (``context``) and the full-text index searches
it: the index of 0002 is dropped where it was installed and the current one (see
knowledge/search/schema.py) installed and filled."""

from django.db import migrations, models


def fill_context(apps, schema_editor):
    Chunk = apps.get_model("knowledge", "Chunk")
    Document = apps.get_model("knowledge", "Document")
    for document_id, title in Document.objects.values_list("id", "title"):
        Chunk.objects.filter(document_id=document_id).update(context=title[:300])


def reinstall(apps, schema_editor):
    from knowledge.search import schema

    schema.uninstall(schema_editor.connection)
    schema.install(schema_editor.connection)


def uninstall(apps, schema_editor):
    from knowledge.search import schema

    schema.uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [
        ("knowledge", "0003_search_event"),
    ]

    operations = [
        migrations.AddField(
            model_name="chunk",
            name="context",
            field=models.CharField(
                blank=True,
                help_text=(
                    "The document's title, searched with the chunk (kept in step by Document.save)."
                ),
                max_length=300,
            ),
        ),
        migrations.RunPython(fill_context, migrations.RunPython.noop),
        migrations.RunPython(reinstall, uninstall, elidable=False),
    ]
