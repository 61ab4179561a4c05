import time

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.contrib.auth.middleware import LoginRequiredMiddleware as BaseLoginRequired
from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics


class LoginRequiredMiddleware(BaseLoginRequired):
    """Django's login-required default, minus the probes and the API.

    The API authenticates on its own (session or bearer token) and answers 401
    in JSON rather than redirecting to the login page.
    """

    def process_view(self, request, view_func, view_args, view_kwargs):
        if request.path.startswith(settings.LOGIN_EXEMPT_PREFIXES):
            return None
        return super().process_view(request, view_func, view_args, view_kwargs)


# The request counters of this process, exported by ``GET /metrics`` (monitoring.prometheus).
# A registry of their own: prometheus_client's global one is left alone. No ``_created``
# series: they would double the output, and rate() does not need them.
disable_created_metrics()
REQUESTS = CollectorRegistry()
HTTP_REQUESTS = Counter(
    "lineled_http_requests",
    "HTTP requests answered by this process, by method, status class and URL pattern.",
    ["method", "status", "route"],
    registry=REQUESTS,
)
HTTP_DURATION = Histogram(
    "lineled_http_request_duration_seconds",
    "Time to the start of the response (a streamed body is not included), by URL pattern.",
    ["method", "route"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
    registry=REQUESTS,
)
METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


class RequestMetricsMiddleware:
    """Counts the HTTP requests this process answers and times them, labelled with the
    URL pattern that matched, e.g. ``/api/chat/conversations/<conversation_id>``, or
    "unmatched". The pattern rather than the URL name: the API's names repeat across
    apps (``api:status`` is voice's and monitoring's). Unusual methods count as "OTHER",
    so a client cannot grow the label set. Each web process counts its own."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        if iscoroutinefunction(get_response):
            markcoroutinefunction(self)

    def __call__(self, request):
        if iscoroutinefunction(self):
            return self.__acall__(request)
        started = time.perf_counter()
        response = self.get_response(request)
        self.record(request, response, started)
        return response

    async def __acall__(self, request):
        started = time.perf_counter()
        response = await self.get_response(request)
        self.record(request, response, started)
        return response

    @staticmethod
    def record(request, response, started: float) -> None:
        match = getattr(request, "resolver_match", None)
        route = f"/{match.route}" if match is not None else "unmatched"
        method = request.method if request.method in METHODS else "OTHER"
        status = f"{response.status_code // 100}xx"
        HTTP_REQUESTS.labels(method, status, route).inc()
        HTTP_DURATION.labels(method, route).observe(time.perf_counter() - started)
