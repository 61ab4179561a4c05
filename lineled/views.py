from django.contrib import messages
from django.contrib.auth import get_user_model
from django.contrib.auth.decorators import login_not_required
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from lineled import system
from lineled.auth import role_required
from lineled.health import run_checks
from lineled.roles import ROLE_DESCRIPTIONS, Role, role_of
from lineled.tasks import ping


@login_not_required
@never_cache
@require_GET
def healthz(request):
    """Liveness: the process answers. Touches no dependency on purpose."""
    return JsonResponse({"status": "ok"})


@login_not_required
@never_cache
@require_GET
async def readyz(request):
    """Readiness: database, broker and channel layer, each with status and latency."""
    checks = await run_checks()
    ready = all(c.ok for c in checks)
    body = {"status": "ok" if ready else "down", "checks": {c.name: c.as_dict() for c in checks}}
    return JsonResponse(body, status=200 if ready else 503)


def home(request):
    role = role_of(request.user)
    roles = [(r, ROLE_DESCRIPTIONS[r], role is not None and r <= role) for r in Role]
    return render(request, "lineled/home.html", {"roles": roles})


@role_required(Role.MANAGER)
def team(request):
    people = get_user_model().objects.prefetch_related("groups").order_by("username")
    rows = [(person, role_of(person)) for person in people]
    return render(request, "lineled/team.html", {"rows": rows})


@role_required(Role.OPS)
def system_page(request):
    context = {"status": system.status(), "tasks": system.recent_tasks()}
    return render(request, "lineled/system.html", context)


@require_POST
@role_required(Role.OPS)
def system_ping(request):
    result = ping.delay(f"from the status page by {request.user.username}")
    messages.success(request, f"Test task {result.id} sent; it shows below once a worker runs it.")
    return redirect("system")


def not_found(request, exception):
    if request.path.startswith("/api/"):
        return JsonResponse({"message": f"no API endpoint at {request.path}"}, status=404)
    return render(request, "404.html", status=404)
