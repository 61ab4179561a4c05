import json
from datetime import timedelta

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from lineled import services


class Command(BaseCommand):
    help = "Create an API token for USER and print it once (it is stored hashed)."

    def add_arguments(self, parser):
        parser.add_argument("username")
        parser.add_argument("--name", default="command line", help="what the token is for")
        parser.add_argument("--days", type=int, help="expire after this many days")
        parser.add_argument("--json", action="store_true", help="print one JSON object")

    def handle(self, username, name, days, json: bool, **options):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"no user named {username!r}")
        if days is not None and days < 1:
            raise CommandError("--days must be at least 1")
        expires_at = timezone.now() + timedelta(days=days) if days else None
        try:
            token, plain = services.create_token(user, name, expires_at=expires_at)
        except services.TokenError as exc:
            raise CommandError(str(exc)) from None
        if json:
            self.stdout.write(_json(token, plain))
        else:
            self.stdout.write(plain)
            self.stderr.write(
                f"Token {token.prefix}… for {user.username} ({name}); "
                "copy it now, it is not shown again."
            )


def _json(token, plain: str) -> str:
    return json.dumps(
        {
            "id": token.pk,
            "user": token.user.username,
            "name": token.name,
            "prefix": token.prefix,
            "token": plain,
            "expires_at": token.expires_at.isoformat() if token.expires_at else None,
        }
    )
