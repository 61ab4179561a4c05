import json
from pathlib import Path

from asgiref.sync import async_to_sync
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from chat import services as chat
from chat.management.commands.ask import find_user, plain
from chat.models import Message
from lineled.errors import DomainError
from voice import audio, services, stt, tts
from voice.schemas import SpokenFileOut


class Command(BaseCommand):
    help = (
        "Ask the assistant one spoken question from a WAV file, through the same path as "
        "the voice websocket (end of speech found, transcribed, answered, spoken), and "
        "print the transcript, the answer, its sources and the answer audio's path."
    )

    def add_arguments(self, parser):
        parser.add_argument("wav", help="a WAV recording of one question (any rate/channels)")
        parser.add_argument(
            "--conversation", type=int, metavar="ID", help="continue this conversation"
        )
        parser.add_argument("--user", metavar="USERNAME", help="ask as this user (as in ask)")
        parser.add_argument(
            "--out", metavar="PATH", help="where to write the answer WAV (default under var/)"
        )
        parser.add_argument(
            "--json",
            action="store_true",
            dest="as_json",
            help="print the turn as the API shows it (SpokenFileOut), one JSON object",
        )

    def handle(self, wav, conversation, user, out, as_json, **options):
        path = Path(wav)
        if not path.is_file():
            raise CommandError(f"no such file: {wav}")
        try:
            pcm = audio.load_wav(path.read_bytes())
        except audio.AudioError as exc:
            raise CommandError(f"{wav}: {exc}") from None
        asker = find_user(user)
        try:
            if conversation is not None:
                talk = chat.get_conversation(asker, conversation)
            else:
                talk = chat.create_conversation(asker)
            voice = tts.engine()
            result = async_to_sync(services.ask_from_pcm)(talk, asker, pcm, voice=voice)
        except (stt.SpeechUnavailable, tts.SpeechUnavailable) as exc:
            raise CommandError(str(exc)) from None
        except DomainError as exc:
            raise CommandError(f"{exc.message} (asking as {asker.username})") from None
        turn = result.turn
        if result.error and (turn is None or turn.answer_id is None):
            where = f" (voice turn {turn.pk})" if turn else ""
            raise CommandError(f"{result.error['message']}{where}")
        answer = chat.messages_for(asker, ids=[turn.answer_id]).get()
        if answer.status != Message.Status.DONE:
            raise CommandError(
                f"the assistant could not answer (message {answer.pk}): "
                f"{answer.error or answer.status}"
            )
        audio_path = None
        if result.audio:
            target = Path(out) if out else settings.VAR_DIR / "voice" / "answers"
            if not out:
                target = target / f"answer-{answer.pk}.wav"
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(audio.join_wavs(result.audio))
            audio_path = str(target.resolve())
        report = SpokenFileOut.from_orm(
            {**services.spoken_turn(asker, turn), "audio": audio_path}
        ).model_dump(mode="json")
        if as_json:
            self.stdout.write(json.dumps(report, indent=2))
            return
        heard, shown = report["voice_turn"], report["answer"]
        self.stdout.write(f"Heard: {heard['transcript']}\n")
        self.stdout.write(shown["text"])
        for citation in shown["citations"]:
            self.stdout.write(f"  [{citation['rank']}] {citation['title']}")
            self.stdout.write(f"      {plain(citation['snippet'])}")
        self.stdout.write(
            f"\nConversation {heard['conversation']}, answer {shown['id']} · "
            f"transcript {_ms(heard['stt_ms'])} · first audio {_ms(heard['first_audio_ms'])}"
            f" · audio: {audio_path or 'none (no speech engine)'}"
        )


def _ms(value) -> str:
    return "—" if value is None else f"{value:.0f} ms"
