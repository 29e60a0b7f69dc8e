"""Which LLM the agent talks to: Claude when an API key is set, else the offline planner."""

from __future__ import annotations

from agent.providers.base import Provider
from agent.providers.offline import OfflineProvider
from core.settings import Settings


def make_provider(settings: Settings) -> Provider:
    if settings.anthropic_api_key:
        # Imported here: the offline default never loads the Anthropic SDK.
        from agent.providers.anthropic import AnthropicProvider

        return AnthropicProvider(api_key=settings.anthropic_api_key, model=settings.llm_model)
    return OfflineProvider()
