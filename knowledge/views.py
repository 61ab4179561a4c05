"""The manager screens of the knowledge app (placeholder until they are built)."""

from django.http import Http404


def library(request):
    raise Http404


def document(request, document_id):
    raise Http404


def original(request, document_id):
    raise Http404


def page(request, document_id, number):
    raise Http404
