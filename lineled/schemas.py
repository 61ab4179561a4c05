from datetime import datetime

from ninja import Field, Schema


class ErrorOut(Schema):
    message: str


class MeOut(Schema):
    id: int
    username: str
    name: str
    role: str | None
    auth: str  # "session" or "token"


class UserOut(Schema):
    id: int
    username: str
    name: str
    role: str | None
    is_active: bool
    last_login: datetime | None


class CheckOut(Schema):
    name: str
    status: str
    backend: str
    latency_ms: float
    error: str | None = None


class ProcessOut(Schema):
    pid: int
    rss_mb: float | None = Field(description="Resident memory of the process that answered.")


class SystemStatusOut(Schema):
    environment: str
    debug: bool
    database: str
    broker: str
    channel_layer: str
    ready: bool
    checks: list[CheckOut]
    last_heartbeat: datetime | None
    heartbeat_age_s: float | None
    process: ProcessOut


class PingIn(Schema):
    note: str = ""


class TaskOut(Schema):
    task_id: str
    task_name: str | None
    status: str
    result: dict | str | None = None
    date_created: datetime | None = None
    date_done: datetime | None = None
