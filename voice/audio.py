"""PCM and WAV helpers. Audio inside the voice app is 16 kHz mono signed 16-bit
little-endian PCM ("pcm" below); WAV files in and out are converted at the edges."""

from __future__ import annotations

import io
import math
import struct
import sys
import wave
from array import array

SAMPLE_RATE = 16000
BYTES_PER_SAMPLE = 2
BYTES_PER_MS = SAMPLE_RATE * BYTES_PER_SAMPLE // 1000  # 32


class AudioError(ValueError):
    """Audio we cannot use; the message says what was wrong and what to send instead."""


def samples(pcm: bytes) -> array:
    values = array("h")
    values.frombytes(pcm[: len(pcm) - len(pcm) % 2])
    if sys.byteorder == "big":
        values.byteswap()
    return values


def to_bytes(values: array) -> bytes:
    if sys.byteorder == "big":
        values = array("h", values)
        values.byteswap()
    return values.tobytes()


def duration_ms(pcm: bytes) -> float:
    return len(pcm) / BYTES_PER_MS


def rms(pcm: bytes) -> float:
    """Root mean square level, 0..32768."""
    values = samples(pcm)
    if not values:
        return 0.0
    return math.sqrt(sum(v * v for v in values) / len(values))


def zero_crossing_rate(pcm: bytes) -> float:
    values = samples(pcm)
    if len(values) < 2:
        return 0.0
    crossings = sum(1 for a, b in zip(values, values[1:], strict=False) if (a < 0) != (b < 0))
    return crossings / (len(values) - 1)


def looks_like_noise(pcm: bytes) -> bool:
    """True for loud, hiss-like audio that no voice makes: the sound of bytes that are
    not 16-bit PCM (floats, a compressed file, random data) played as if they were.

    Speech crosses zero a few hundred to a few thousand times a second (a rate of
    about 0.02-0.25 at 16 kHz); such garbage crosses on nearly every other sample and
    sits near full scale. Kitchen noise is quieter and lower-pitched, so it passes.
    """
    return rms(pcm) > 6000 and zero_crossing_rate(pcm) > 0.35


def silence(ms: float) -> bytes:
    return bytes(int(ms * BYTES_PER_MS) // 2 * 2)


# --- WAV ---------------------------------------------------------------------------


def wav_bytes(pcm: bytes, sample_rate: int = SAMPLE_RATE) -> bytes:
    """Mono PCM16 as a WAV file with exact sizes in its header (an odd last byte,
    half a sample, is dropped)."""
    pcm = pcm[: len(pcm) - len(pcm) % 2]
    out = io.BytesIO()
    with wave.open(out, "wb") as writer:
        writer.setnchannels(1)
        writer.setsampwidth(BYTES_PER_SAMPLE)
        writer.setframerate(sample_rate)
        writer.writeframes(pcm)
    return out.getvalue()


def read_wav(data: bytes) -> tuple[bytes, int]:
    """(mono PCM16, sample rate) of a WAV file's bytes; AudioError if it is not one we
    can read (PCM 8/16/24/32-bit, any channel count)."""
    try:
        with wave.open(io.BytesIO(data), "rb") as reader:
            channels = reader.getnchannels()
            width = reader.getsampwidth()
            rate = reader.getframerate()
            frames = reader.readframes(reader.getnframes())
    except (wave.Error, EOFError, struct.error) as exc:
        raise AudioError(
            f"not a PCM WAV file ({exc}); convert it with "
            "`sox IN -r 16000 -c 1 -b 16 OUT.wav` or `ffmpeg -i IN -ar 16000 -ac 1 OUT.wav`"
        ) from None
    if rate < 4000 or rate > 192000:
        raise AudioError(f"a sample rate of {rate} Hz is not a speech recording")
    pcm = _to_pcm16(frames, width)
    if channels > 1:
        pcm = _mix_down(pcm, channels)
    return pcm, rate


def load_wav(data: bytes) -> bytes:
    """A WAV file's audio as 16 kHz mono PCM16, converting rate and channels."""
    pcm, rate = read_wav(data)
    return resample(pcm, rate, SAMPLE_RATE)


def join_wavs(files: list[bytes]) -> bytes:
    """One WAV of several (sentences of one answer), at the first one's rate."""
    if not files:
        return wav_bytes(b"")
    parts = [read_wav(data) for data in files]
    rate = parts[0][1]
    return wav_bytes(b"".join(resample(pcm, r, rate) for pcm, r in parts), rate)


def _to_pcm16(frames: bytes, width: int) -> bytes:
    if width == 2:
        return frames
    if width == 1:  # unsigned 8-bit
        return to_bytes(array("h", ((b - 128) << 8 for b in frames)))
    if width in (3, 4):
        step = width
        values = array(
            "h",
            (
                int.from_bytes(frames[i + step - 2 : i + step], "little", signed=True)
                for i in range(0, len(frames) - step + 1, step)
            ),
        )
        return to_bytes(values)
    raise AudioError(f"{width * 8}-bit samples are not supported; use 16-bit PCM")


def _mix_down(pcm: bytes, channels: int) -> bytes:
    values = samples(pcm)
    mixed = array(
        "h",
        (
            sum(values[i : i + channels]) // channels
            for i in range(0, len(values) - channels + 1, channels)
        ),
    )
    return to_bytes(mixed)


def resample(pcm: bytes, rate: int, target: int) -> bytes:
    """Linear-interpolation resampling, with a short moving-average low-pass first when
    going down (enough for speech recognition; not for music)."""
    if rate == target or not pcm:
        return pcm
    values = samples(pcm)
    if target < rate:
        width = max(1, round(rate / target))
        if width > 1:
            values = _moving_average(values, width)
    count = int(len(values) * target / rate)
    step = rate / target
    out = array("h", bytes(count * 2))
    last = len(values) - 1
    for i in range(count):
        x = i * step
        j = int(x)
        frac = x - j
        a = values[j]
        b = values[j + 1] if j < last else a
        out[i] = int(a + (b - a) * frac)
    return to_bytes(out)


def _moving_average(values: array, width: int) -> array:
    out = array("h", bytes(len(values) * 2))
    total = 0
    for i, v in enumerate(values):
        total += v
        if i >= width:
            total -= values[i - width]
        out[i] = total // min(i + 1, width)
    return out
