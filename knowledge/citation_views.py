"""Page images for visual citations (placeholder until they are built)."""

from django.http import Http404


def page_image(request, document_id, number):
    raise Http404


def page_thumbnail(request, document_id, number):
    raise Http404
