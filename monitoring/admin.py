"""Ops console views of the monitoring app's models.

Samples, notifications and task runs are computed or written by the app, so they are
read-only here; alert rules and probes are what ops edit. Alerts are acknowledged and
resolved through the services, as on the dashboard.
"""

import copy

from django import forms
from django.contrib import admin, messages
from django.db.models import Prefetch
from django.utils.text import Truncator

from chat.admin import ReadOnlyAdmin
from lineled.errors import DomainError
from monitoring import services
from monitoring.models import Alert, AlertRule, MetricSample, Notification, Probe, TaskRun


@admin.register(MetricSample)
class MetricSampleAdmin(ReadOnlyAdmin):
    list_display = ("name", "shown_value", "count", "window", "sampled_at")
    list_filter = ("name", "sampled_at")
    search_fields = ("name",)
    date_hierarchy = "sampled_at"
    fields = ("name", "value", "count", "window_s", "detail", "sampled_at")
    readonly_fields = fields

    @admin.display(description="value", ordering="value")
    def shown_value(self, sample: MetricSample) -> str:
        return services.format_value(sample.name, sample.value)

    @admin.display(description="window", ordering="window_s")
    def window(self, sample: MetricSample) -> str:
        return f"{sample.window_s // 60} min" if sample.window_s else "-"


class AlertRuleForm(forms.ModelForm):
    """Checks a rule as the API does: a threshold at least, critical beyond warning."""

    class Meta:
        model = AlertRule
        fields = (
            "metric",
            "description",
            "direction",
            "warning",
            "critical",
            "fire_after",
            "resolve_after",
            "min_count",
            "enabled",
        )

    def clean(self):
        cleaned = super().clean()
        rule = copy.copy(self.instance)
        for name, value in cleaned.items():
            setattr(rule, name, value)
        try:
            services.check_rule(rule)
        except DomainError as exc:
            raise forms.ValidationError(exc.message) from None
        return cleaned


@admin.register(AlertRule)
class AlertRuleAdmin(admin.ModelAdmin):
    form = AlertRuleForm
    list_display = (
        "metric",
        "direction",
        "warning",
        "critical",
        "fire_after",
        "resolve_after",
        "min_count",
        "enabled",
        "open_alert",
    )
    list_editable = ("warning", "critical", "fire_after", "resolve_after", "min_count", "enabled")
    list_filter = ("enabled", "direction")
    search_fields = ("metric", "description")
    fields = (*AlertRuleForm.Meta.fields, "bad_streak", "good_streak", "updated_at")
    readonly_fields = ("bad_streak", "good_streak", "updated_at")

    def get_changelist_form(self, request, **kwargs):
        return super().get_changelist_form(request, form=AlertRuleForm, **kwargs)

    def get_queryset(self, request):
        open_alerts = Prefetch("alerts", queryset=Alert.objects.open(), to_attr="open_alerts")
        return super().get_queryset(request).prefetch_related(open_alerts)

    @admin.display(description="open alert")
    def open_alert(self, rule: AlertRule) -> str:
        alert = rule.open_alerts[0] if rule.open_alerts else None
        return f"{alert.severity} ({alert.state})" if alert else "-"


class AlertStateFilter(admin.SimpleListFilter):
    title = "state"
    parameter_name = "state"

    def lookups(self, request, model_admin):
        return [("open", "Open"), ("acknowledged", "Acknowledged"), ("resolved", "Resolved")]

    def queryset(self, request, queryset):
        if self.value() == "open":
            return queryset.filter(resolved_at__isnull=True, acknowledged_at__isnull=True)
        if self.value() == "acknowledged":
            return queryset.filter(resolved_at__isnull=True, acknowledged_at__isnull=False)
        if self.value() == "resolved":
            return queryset.filter(resolved_at__isnull=False)
        return queryset


@admin.register(Alert)
class AlertAdmin(ReadOnlyAdmin):
    list_display = (
        "opened_at",
        "metric",
        "severity",
        "shown_state",
        "short_message",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
    )
    list_filter = (AlertStateFilter, "severity", "metric", "opened_at")
    list_select_related = ("acknowledged_by", "resolved_by")
    search_fields = ("metric", "message")
    date_hierarchy = "opened_at"
    fields = (
        "rule",
        "metric",
        "severity",
        "message",
        "value",
        "worst",
        "opened_at",
        "escalated_at",
        "acknowledged_at",
        "acknowledged_by",
        "resolved_at",
        "resolved_by",
    )
    readonly_fields = fields
    actions = ("acknowledge", "resolve")

    def has_delete_permission(self, request, obj=None) -> bool:
        return False  # an alert is history: it is resolved, never deleted

    def has_manage_permission(self, request) -> bool:
        # The rows stay read-only; acknowledging and resolving go through the services.
        return request.user.has_perm("monitoring.change_alert")

    @admin.display(description="state")
    def shown_state(self, alert: Alert) -> str:
        return alert.state

    @admin.display(description="message")
    def short_message(self, alert: Alert) -> str:
        return Truncator(alert.message).chars(100)

    @admin.action(description="Acknowledge", permissions=["manage"])
    def acknowledge(self, request, queryset):
        self._each(request, queryset, services.acknowledge, "Acknowledged")

    @admin.action(description="Resolve", permissions=["manage"])
    def resolve(self, request, queryset):
        self._each(request, queryset, services.resolve, "Resolved")

    def _each(self, request, queryset, action, done: str) -> None:
        count, refused = 0, []
        for alert_id in queryset.values_list("pk", flat=True):
            try:
                action(alert_id, request.user)
                count += 1
            except DomainError as exc:
                refused.append(f"#{alert_id}: {exc.message}")
        self.message_user(request, f"{done} {count} alert(s).", messages.SUCCESS)
        if refused:
            self.message_user(request, "Not changed: " + "; ".join(refused), messages.WARNING)


@admin.register(Notification)
class NotificationAdmin(ReadOnlyAdmin):
    list_display = (
        "created_at",
        "alert",
        "event",
        "channel",
        "status",
        "attempts",
        "sent_at",
        "short_error",
    )
    list_filter = ("status", "channel", "event", "created_at")
    list_select_related = ("alert",)
    search_fields = ("target", "last_error", "alert__metric")
    date_hierarchy = "created_at"
    readonly_fields = (
        "alert",
        "event",
        "channel",
        "target",
        "status",
        "attempts",
        "last_error",
        "created_at",
        "next_attempt_at",
        "sent_at",
    )
    fields = readonly_fields
    actions = ("retry_now",)

    def has_retry_permission(self, request) -> bool:
        return request.user.has_perm("monitoring.change_notification")

    @admin.display(description="error")
    def short_error(self, notification: Notification) -> str:
        return Truncator(notification.last_error).chars(80)

    @admin.action(description="Retry now", permissions=["retry"])
    def retry_now(self, request, queryset):
        statuses = [services.retry_notification(pk) for pk in queryset.values_list("pk", flat=True)]
        sent = statuses.count(Notification.Status.SENT)
        level = messages.SUCCESS if sent == len(statuses) else messages.WARNING
        self.message_user(request, f"Sent {sent} of {len(statuses)} notification(s).", level)


@admin.register(TaskRun)
class TaskRunAdmin(ReadOnlyAdmin):
    list_display = (
        "task",
        "last_success_at",
        "last_failure_at",
        "last_duration_ms",
        "successes",
        "failures",
    )
    search_fields = ("task", "last_error")
    fields = (
        "task",
        "last_started_at",
        "last_success_at",
        "last_failure_at",
        "last_duration_ms",
        "successes",
        "failures",
        "last_error",
    )
    readonly_fields = fields


@admin.register(Probe)
class ProbeAdmin(admin.ModelAdmin):
    list_display = ("question", "follow_up", "follow_up_facts", "enabled")
    list_editable = ("enabled",)
    list_filter = ("enabled",)
    search_fields = ("question", "follow_up")
