from django.core.management.base import BaseCommand

from lineled import services


class Command(BaseCommand):
    help = "Create the role groups and one demo user per role (passwords printed once)."

    def handle(self, **options):
        services.ensure_roles()
        users = services.ensure_demo_users()
        created = [u for u in users if u.password]
        if not created:
            self.stdout.write(
                "Demo users crew, manager and ops already exist "
                "(their passwords were printed when they were created; "
                "reset one with: python manage.py changepassword USER)."
            )
            return
        self.stdout.write(self.style.SUCCESS("Demo users created. Passwords are shown only now:"))
        for user in created:
            self.stdout.write(
                f"  {user.role.label:<8} username {user.username:<8} password {user.password}"
            )
