import json
import time

from django.core.management.base import BaseCommand

from voice import services


class Command(BaseCommand):
    help = (
        "Teach the speech recogniser the knowledge base: the key-terms prompt (whisper) and "
        "pocketsphinx's language model and dictionary."
    )

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        started = time.monotonic()
        result = services.rebuild_vocabulary(pocketsphinx=True)
        result["ms"] = round((time.monotonic() - started) * 1000)
        if options["json"]:
            self.stdout.write(json.dumps(result))
            return
        self.stdout.write(f"Key terms: {result['prompt'] or '(none)'}")
        model = result["pocketsphinx"]
        self.stdout.write(
            f"pocketsphinx vocabulary {model['version']}: {model['words']} words, "
            f"{model['sentences']} sentences ({model['path']}); {result['ms']} ms"
        )
