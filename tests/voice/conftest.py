import pytest

from knowledge.demo import loader
from voice import stt, tts
from voice.stt import prompt

from . import sockets

FRYER = loader.MANUALS / "hb-eq-101-fryer.pdf"


@pytest.fixture(scope="session")
def _var_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("voice-var")


@pytest.fixture
def fryer(settings, _var_dir):
    """The fryer manual ingested, and the recogniser's key terms picked from it (once:
    every test has the same manual, so the same terms)."""
    settings.VAR_DIR = _var_dir
    document = loader.load([FRYER])[0].document
    if not prompt.path().exists():
        prompt.build()
    stt.reset()
    tts.reset()
    yield document
    stt.reset()
    tts.reset()


@pytest.fixture
async def voice_sockets(settings, tmp_path):
    """For tests of the voice websocket: media under ``tmp_path``; afterwards the
    sockets the test opened are closed and the answers they started are finished."""
    settings.MEDIA_ROOT = tmp_path / "media"
    yield
    await sockets.close_opened()
