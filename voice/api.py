"""Voice endpoints: what the server can hear and say, spoken turns, and asking with a
recording (the websocket is the live path; this one is for files and checks)."""

from ninja import File, Router
from ninja.files import UploadedFile

from lineled import admission
from lineled.auth import require_role
from lineled.roles import Role
from lineled.schemas import ErrorOut
from voice import services
from voice.schemas import SpokenTurnOut, VoiceStatusOut, VoiceTurnOut

router = Router(tags=["voice"])


def _user(request):
    require_role(request, Role.CREW)
    return request.auth


@router.get("/status", response={200: VoiceStatusOut, 403: ErrorOut}, summary="Speech engines")
def status(request):
    """The speech-to-text and text-to-speech engines in use, the store's key terms the
    recogniser is prompted with and pocketsphinx's vocabulary. Keys and model paths are
    never shown."""
    _user(request)
    return services.status()


@router.get(
    "/conversations/{conversation_id}/turns",
    response={200: list[VoiceTurnOut], 403: ErrorOut, 404: ErrorOut},
    summary="Spoken turns of a conversation",
)
def list_turns(request, conversation_id: int):
    """Every question asked by voice in the conversation, newest first, with what was
    heard and the timings from the end of speech."""
    return services.turns(_user(request), conversation_id)


@router.post(
    "/conversations/{conversation_id}/ask",
    response={
        200: SpokenTurnOut,
        400: ErrorOut,
        403: ErrorOut,
        404: ErrorOut,
        429: ErrorOut,
        503: ErrorOut,
    },
    summary="Ask with a recording",
)
def ask(request, conversation_id: int, audio: File[UploadedFile], speak: bool = False):
    """Upload a WAV recording of one question (any sample rate or channel count, at most
    10 MB). It takes the voice path: the end of speech is found, the question
    transcribed and answered in the conversation. With ``speak=true`` the spoken answer
    comes back too, as base64 WAV. 400 when the file is not a WAV or holds no
    understandable question (the turn is still recorded); 429 (nothing stored) when
    asking too fast or with too many answers being written, as typed questions are:
    try again after ``Retry-After`` seconds; 503 when this server has no speech-to-text
    engine."""
    user = _user(request)
    ticket = admission.admit_answer(user)  # as a typed question is, before any decoding
    try:
        return services.ask_with_recording(user, conversation_id, audio, speak=speak, ticket=ticket)
    finally:
        ticket.release()  # if the question never reached chat (which releases it)
