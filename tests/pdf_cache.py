"""The PDF work of ingestion done once per test process for the same bytes.

Reading a page's text layer, rendering its image and finding the boxes of a passage
are pure functions of the PDF's bytes and their arguments, and the slowest part of
ingesting a manual (rendering alone is half of it). Dozens of tests ingest the same
demo manuals into a fresh database; with these wrappers each page is read and
rendered for real the first time this process meets its bytes, and later ingestions
of the same bytes get the same results from memory. Everything else ingestion does
(the database, the stored files, the limits, the progress, the signals) runs as
before, and a test that replaces one of these functions still replaces it.
"""

from __future__ import annotations

import copy
import hashlib
import weakref
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from knowledge.ingest import pdf


@contextmanager
def pdf_work_cached() -> Iterator[None]:
    checksums: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
    open_pdf, read_page, render, page_boxes = (
        pdf.open_pdf,
        pdf.read_page,
        pdf.render,
        pdf.page_boxes,
    )

    def opened(data: bytes):
        document = open_pdf(data)
        checksums[document] = hashlib.sha256(data).hexdigest()
        return document

    def cached(function: Callable) -> Callable:
        results: dict = {}

        def call(document, *args, **kwargs):
            checksum = checksums.get(document)
            if checksum is None:  # opened some other way: not known to be the same bytes
                return function(document, *args, **kwargs)
            # The arguments are page numbers, scales, spans and page sizes.
            key = (checksum, repr(args), repr(sorted(kwargs.items())))
            if key not in results:
                results[key] = function(document, *args, **kwargs)
            return copy.deepcopy(results[key])  # the caller may change what it gets

        return call

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(pdf, "open_pdf", opened)
        mp.setattr(pdf, "read_page", cached(read_page))
        mp.setattr(pdf, "render", cached(render))
        mp.setattr(pdf, "page_boxes", cached(page_boxes))
        yield
