"""The ops dashboard page (its data comes from the monitoring API)."""

from django.shortcuts import render

from lineled.auth import role_required
from lineled.roles import Role


@role_required(Role.OPS)
def dashboard(request):
    return render(request, "monitoring/dashboard.html", {})
