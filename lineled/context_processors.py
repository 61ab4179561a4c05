from lineled.roles import Role, role_of


def roles(request):
    """Expose the user's role to templates (``role``, ``is_manager``, ``is_ops``)."""
    role = role_of(getattr(request, "user", None))
    return {
        "role": role,
        "is_manager": role is not None and role >= Role.MANAGER,
        "is_ops": role is not None and role >= Role.OPS,
    }
