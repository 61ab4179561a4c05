"""Account and system endpoints: who am I, the team, and the ops status."""

from ninja import Router
from ninja.responses import Status

from lineled import services, system
from lineled.auth import require_role
from lineled.roles import Role, role_of
from lineled.schemas import MeOut, PingIn, SystemStatusOut, TaskOut, UserOut
from lineled.tasks import ping

router = Router(tags=["account and system"])


def _user_out(user) -> dict:
    role = role_of(user)
    return {
        "id": user.pk,
        "username": user.username,
        "name": user.get_full_name() or user.username,
        "role": role.label if role else None,
        "is_active": user.is_active,
        "last_login": user.last_login,
    }


@router.get("/me", response=MeOut, summary="The calling user and their role")
def me(request):
    return {**_user_out(request.auth), "auth": request.auth_method}


@router.get("/users", response=list[UserOut], summary="The team (manager or ops)")
def users(request):
    require_role(request, Role.MANAGER)
    return [_user_out(u) for u in services.team()]


@router.get("/system/status", response=SystemStatusOut, summary="Readiness detail (ops)")
def system_status(request):
    require_role(request, Role.OPS)
    return system.status()


@router.post(
    "/system/ping", response={202: TaskOut}, summary="Send a task through the broker (ops)"
)
def system_ping(request, body: PingIn):
    require_role(request, Role.OPS)
    result = ping.delay(body.note)
    return Status(202, {"task_id": result.id, "task_name": ping.name, "status": "PENDING"})


@router.get("/system/tasks/{task_id}", response=TaskOut, summary="A task's stored outcome (ops)")
def system_task(request, task_id: str):
    require_role(request, Role.OPS)
    return system.task_state(task_id)
