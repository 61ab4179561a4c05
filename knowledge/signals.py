"""Signals other apps listen to; the knowledge app never imports them.

``knowledge_changed`` is sent after a document's index changed (an ingest finished,
or a document was deleted), with ``document_id``. Voice rebuilds its speech
vocabulary from it.
"""

from django.dispatch import Signal

knowledge_changed = Signal()
