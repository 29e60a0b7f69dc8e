"""The GPU inference server: a FastAPI app deployable on its own (imports nothing of the app)."""

from gpu.server.app import ENGINE_UNAVAILABLE_HEADER, create_app
from gpu.server.settings import GpuServerSettings

__all__ = ["ENGINE_UNAVAILABLE_HEADER", "GpuServerSettings", "create_app"]
