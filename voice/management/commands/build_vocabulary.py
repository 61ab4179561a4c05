import json
import time

from django.core.management.base import BaseCommand

from voice.stt import vocabulary


class Command(BaseCommand):
    help = "Build the speech vocabulary (language model and dictionary) from the knowledge base."

    def add_arguments(self, parser):
        parser.add_argument("--json", action="store_true", help="Print the result as JSON.")

    def handle(self, *args, **options):
        started = time.monotonic()
        model = vocabulary.build()
        result = {
            "version": model.version,
            "words": model.words,
            "sentences": model.sentences,
            "ms": round((time.monotonic() - started) * 1000),
            "path": str(model.path),
        }
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            self.stdout.write(
                f"Speech vocabulary {result['version']}: {result['words']} words, "
                f"{result['sentences']} sentences, {result['ms']} ms ({result['path']})"
            )
