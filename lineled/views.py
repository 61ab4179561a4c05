from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.forms import AdminAuthenticationForm
from django.contrib.auth.decorators import login_not_required
from django.contrib.auth.forms import AuthenticationForm
from django.contrib.auth.views import REDIRECT_FIELD_NAME
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from lineled import services, system
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
    rows = [(person, role_of(person)) for person in services.team()]
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


def locked_out(request, *args, **kwargs):
    """The login page again (the site's or the admin's), saying the sign-in is locked
    and for how long; HTTP 429. django-axes calls this instead of its bare 403 text
    (``AXES_LOCKOUT_CALLABLE``); what else it passes differs between its sync and async
    paths, so only the request is read."""
    minutes = round(settings.AXES_COOLOFF_TIME.total_seconds() / 60)
    username = request.POST.get("username", "")[:150]
    message = (
        f"Too many wrong passwords for {username or 'this username'} from this device. "
        f"Signing in is locked for {minutes} minutes; ask an ops user to unlock it sooner."
    )
    next_url = request.POST.get(REDIRECT_FIELD_NAME) or request.GET.get(REDIRECT_FIELD_NAME, "")
    if request.path == reverse("admin:login"):
        form = AdminAuthenticationForm(request, data={"username": username})
        template = "admin/login.html"
        context = {**admin.site.each_context(request), "title": "Log in"}
        context |= {"app_path": request.get_full_path(), "username": username}
    else:
        form = AuthenticationForm(request, data={"username": username})
        template, context = "registration/login.html", {}
    # Bound to show the username again; the missing password is not what went wrong.
    form.errors.clear()
    form.add_error(None, message)
    context |= {"form": form, REDIRECT_FIELD_NAME: next_url}
    return render(request, template, context, status=settings.AXES_HTTP_RESPONSE_CODE)
