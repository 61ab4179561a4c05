from django.urls import path

from validation import views

app_name = "validation"
urlpatterns = [
    path("", views.runs, name="runs"),
    path("rows/", views.run_rows, name="rows"),
    path("runs/<int:run_id>/", views.run_report, name="report"),
]
