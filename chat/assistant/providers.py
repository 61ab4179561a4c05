"""Which model answers: ``settings.LINELED_MODEL``.

"local" (the default) is the built-in grounded model (local.py), which answers without
the agent and so needs no PydanticAI model (``is_local``). Anything else is a PydanticAI
model string ("openai:gpt-4o-mini", "anthropic:claude-...") whose provider reads its key
from the usual variable (OPENAI_API_KEY, ...) unless LINELED_MODEL_API_KEY is set. With
LINELED_MODEL_BASE_URL, "openai:NAME" talks to that OpenAI-compatible server through the
Chat Completions API, which such servers implement.
"""

from __future__ import annotations

from functools import lru_cache

from django.conf import settings
from pydantic_ai.models import Model, infer_model
from pydantic_ai.providers import infer_provider_class

from . import local


def is_local() -> bool:
    """Whether the built-in model answers next (``model`` is then not asked for)."""
    return model_name() == local.NAME


def model() -> Model:
    """The PydanticAI model for the next answer, when it is not the built-in one."""
    return _remote(model_name(), settings.LINELED_MODEL_BASE_URL, settings.LINELED_MODEL_API_KEY)


def model_name() -> str:
    return settings.LINELED_MODEL or local.NAME


def http_client():
    """The HTTP client remote providers use (None: their own). Tests put a mock here."""
    return None


@lru_cache(maxsize=8)
def _remote(name: str, base_url: str, api_key: str) -> Model:
    kind, _, model_id = name.partition(":")
    if base_url and kind == "openai":
        name, kind = f"openai-chat:{model_id}", "openai-chat"
    options = {}
    if base_url:
        options["base_url"] = base_url
    if api_key:
        options["api_key"] = api_key
    if (client := http_client()) is not None:
        options["http_client"] = client
    if not options:
        return infer_model(name)
    return infer_model(
        name, provider_factory=lambda provider: infer_provider_class(provider)(**options)
    )


def reset() -> None:
    """Forget the models built so far (after the settings changed)."""
    _remote.cache_clear()
