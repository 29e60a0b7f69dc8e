"""Settings of the GPU inference server (environment variables prefixed SKYIE_GPU_)."""

from __future__ import annotations

from pathlib import Path

from pydantic import AliasChoices, Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict


class GpuServerSettings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="SKYIE_GPU_", extra="ignore", populate_by_name=True
    )

    api_key: SecretStr = Field(default=SecretStr("dev-gpu-key"), description="Shared bearer key.")
    workdir: Path | None = Field(
        default=None, description="Where inputs and outputs live; a fresh temp dir when unset."
    )
    max_upload_mb: int = Field(default=512, ge=1, description="Largest accepted upload.")
    concurrency: int | None = Field(
        default=None, ge=1, le=64, description="Tasks run at once; default 2 for lite, else 1."
    )
    engines: str = Field(default="lite", description="Comma-separated engine sets, first wins.")
    task_ttl_s: float = Field(default=3600, gt=0, description="How long finished tasks are kept.")
    file_ttl_s: float = Field(
        default=6 * 3600, gt=0, description="How long files nobody downloads are kept."
    )

    max_queued: int = Field(
        default=64, ge=1, description="Tasks that may wait; beyond that, 503 with Retry-After."
    )
    max_group_wait_s: float = Field(
        default=300, gt=0, description="Longest a task waits while others' models are reused."
    )
    vram_gb: float = Field(default=80, gt=0, description="VRAM the loaded models may use.")
    idle_unload_s: float = Field(
        default=600, gt=0, description="A model unused this long is unloaded."
    )
    models_dir: Path = Field(
        default=Path("/models"),
        validation_alias=AliasChoices("SKYIE_MODELS_DIR", "SKYIE_GPU_MODELS_DIR"),
        description="Model weights, one folder per model (the real engine set).",
    )
    device: str = Field(default="auto", description="auto (cuda when present), cuda or cpu.")
    hf_token: SecretStr | None = Field(
        default=None,
        validation_alias=AliasChoices("SKYIE_HF_TOKEN", "SKYIE_GPU_HF_TOKEN", "HF_TOKEN"),
        description="Hugging Face token for FLUX key frames over the Inference API.",
    )
    fish_speech_python: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("SKYIE_FISH_SPEECH_PYTHON", "SKYIE_GPU_FISH_SPEECH_PYTHON"),
        description="The Python of Fish Speech's own virtualenv.",
    )
    liveportrait_dir: Path | None = Field(
        default=None,
        validation_alias=AliasChoices("SKYIE_LIVEPORTRAIT_DIR", "SKYIE_GPU_LIVEPORTRAIT_DIR"),
        description="The LivePortrait checkout on the GPU image.",
    )

    def effective_concurrency(self) -> int:
        if self.concurrency is not None:
            return self.concurrency
        # CPU engines are light enough to overlap; a GPU runs one generation at a time.
        return 2 if self.engines.strip() == "lite" else 1

    def resolved_device(self) -> str:
        if self.device != "auto":
            return self.device
        import importlib.util

        if importlib.util.find_spec("torch") is None:
            return "cpu"
        import torch

        return "cuda" if torch.cuda.is_available() else "cpu"
