"""Pages of the knowledge app: the library and page viewer (managers), and the page
images behind visual citations (every role)."""

from django.urls import path

from knowledge import citation_views, views

app_name = "knowledge"

urlpatterns = [
    path("library/", views.library, name="library"),
    path("library/rows/", views.library_rows, name="library-rows"),
    path("documents/<int:document_id>/", views.document, name="document"),
    path("documents/<int:document_id>/original", views.original, name="original"),
    path("documents/<int:document_id>/pages/<int:number>/", views.page, name="page"),
    path(
        "documents/<int:document_id>/pages/<int:number>/image.png",
        citation_views.page_image,
        name="page-image",
    ),
    path(
        "documents/<int:document_id>/pages/<int:number>/thumbnail.png",
        citation_views.page_thumbnail,
        name="page-thumbnail",
    ),
]
