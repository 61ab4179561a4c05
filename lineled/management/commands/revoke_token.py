from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError

from lineled import services


class Command(BaseCommand):
    help = "Revoke API tokens: one by its prefix (ll_xxxxxxxx) or all of a user's."

    def add_arguments(self, parser):
        parser.add_argument("--prefix", help="the token's prefix, as shown at creation")
        parser.add_argument("--user", help="revoke every live token of this user")

    def handle(self, prefix, user, **options):
        owner = None
        if user:
            owner = get_user_model().objects.filter(username=user).first()
            if owner is None:
                raise CommandError(f"no user named {user!r}")
        if prefix is not None and len(prefix) < 6:
            raise CommandError("--prefix needs at least 6 characters to pick one token")
        try:
            count = services.revoke_tokens(user=owner, prefix=prefix)
        except services.TokenError as exc:
            raise CommandError(str(exc)) from None
        if count == 0:
            raise CommandError("no live token matched; nothing was revoked")
        self.stdout.write(f"revoked {count} token(s)")
