import html
import json

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from django.utils.html import strip_tags

from chat import services
from chat.models import Message
from lineled.errors import DomainError
from lineled.roles import Role, role_of

DEMO_CREW = "crew"


class Command(BaseCommand):
    help = (
        "Ask the assistant a question the way the chat does (the question and answer are "
        "stored in a conversation) and print the answer with its sources."
    )

    def add_arguments(self, parser):
        parser.add_argument("question", help="the question, in quotes")
        parser.add_argument(
            "--conversation",
            type=int,
            metavar="ID",
            help="continue this conversation of the user (default: start a new one)",
        )
        parser.add_argument(
            "--user",
            metavar="USERNAME",
            help=f"ask as this user (default: the first ops user, else {DEMO_CREW!r})",
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="print the answer as the API shows it (MessageOut), one JSON object",
        )

    def handle(self, question, conversation, user, as_json, **options):
        try:
            question = services.clean_question(question)
        except DomainError as exc:
            raise CommandError(exc.message) from None
        asker = find_user(user)
        try:
            if conversation is not None:
                chat = services.get_conversation(asker, conversation)
            else:
                chat = services.create_conversation(asker)
        except DomainError as exc:
            raise CommandError(f"{exc.message} (asking as {asker.username})") from None
        try:
            start = services.answer_now(chat, asker, question)[0]
        except DomainError as exc:  # the conversation was deleted meanwhile
            raise CommandError(exc.message) from None
        answer = services.messages_for(asker, ids=[start["message"]]).get()
        if answer.status != Message.Status.DONE:
            raise CommandError(
                f"the assistant could not answer (message {answer.pk} in conversation "
                f"{chat.pk}): {answer.error or answer.status}"
            )
        result = services.message_out(answer).model_dump(mode="json")
        if as_json:
            self.stdout.write(json.dumps(result, indent=2))
        else:
            self.print_answer(result)

    def print_answer(self, result: dict) -> None:
        self.stdout.write(result["text"])
        if result["citations"]:
            self.stdout.write("\nSources:")
        elif result["declined"]:
            self.stdout.write("\nNo sources: nothing in the manuals answers this.")
        for citation in result["citations"]:
            self.stdout.write(f"  [{citation['rank']}] {citation['title']}{_pages(citation)}")
            if citation["heading"]:
                self.stdout.write(f"      {citation['heading']}")
            self.stdout.write(f"      {plain(citation['snippet'])}")
            if citation["image_url"]:
                self.stdout.write(f"      page image: {citation['image_url']}")
        timings = result["timings"]
        self.stdout.write(
            f"\nConversation {result['conversation']}, answer {result['id']} · "
            f"search {_ms(timings['search_ms'])} · total {_ms(timings['total_ms'])}"
        )


def find_user(username: str | None):
    """The user to ask as: the one named, else the first ops user, else the demo crew
    user; CommandError saying how to get one if there is none."""
    users = get_user_model().objects.filter(is_active=True)
    if username:
        user = users.filter(username=username).first()
        if user is None:
            raise CommandError(f"no active user {username!r}")
        if role_of(user) is None:
            raise CommandError(f"{username} has no role, so may not chat; give them one first")
        return user
    ops = Q(is_superuser=True) | Q(groups__name=Role.OPS.label)
    user = users.filter(ops).order_by("pk").first() or users.filter(username=DEMO_CREW).first()
    if user is None or role_of(user) is None:
        raise CommandError(
            "there is no user to ask as: create the demo users with "
            "`python manage.py setup_demo`, or pass --user USERNAME"
        )
    return user


def plain(snippet: str) -> str:
    """A snippet for a terminal: the <mark> tags dropped, entities decoded."""
    return " ".join(html.unescape(strip_tags(snippet)).split())


def _pages(citation: dict) -> str:
    pages = citation["pages"]
    where = ""
    if pages:
        first, last = pages[0], pages[-1]
        where = f", p. {first}" if first == last else f", pp. {first}-{last}"
    return f"{where} ({citation['filename']})" if citation["filename"] else where


def _ms(value) -> str:
    return "—" if value is None else f"{value:.0f} ms"
