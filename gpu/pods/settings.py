"""Which GPU host the app uses (SKYIE_ environment variables), and the factory that builds it."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from gpu.pods.base import GpuHost
from gpu.pods.runpod import DEFAULT_PROXY_URL_TEMPLATE, RunPodHost
from gpu.pods.static import InProcessHost, StaticHost

EMBEDDED = "embedded"  # the value of SKYIE_GPU_URL that means the in-process server

HostKind = Literal["inprocess", "static", "runpod"]


class PodSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKYIE_", env_file=".env", extra="ignore")

    gpu_host: HostKind | None = Field(
        default=None,
        description="inprocess, static or runpod; unset = inprocess when SKYIE_GPU_URL is "
        "'embedded', else static.",
    )
    gpu_url: str = Field(default=EMBEDDED, description="The static GPU server's URL.")
    gpu_api_key: SecretStr = Field(
        default=SecretStr("dev-gpu-key"), description="Bearer key of the GPU server."
    )
    runpod_api_key: SecretStr | None = Field(default=None, description="RunPod API key.")
    runpod_pod_id: str = Field(
        default="", description="A single pod running the GPU server (a pool of one)."
    )
    runpod_pod_ids: Annotated[list[str], NoDecode] = Field(
        default_factory=list,
        description="The pool of pods running the GPU server, comma-separated: one starts when "
        "GPU work waits, another only when a new job would wait longer than a cold start plus a "
        "minute. SKYIE_RUNPOD_POD_ID, if set, joins the pool first.",
    )
    runpod_gpu_count: int = Field(default=1, ge=1, le=8, description="GPUs to resume the pod with.")
    runpod_port: int = Field(
        default=8100, ge=1, le=65535, description="Port the GPU server listens on in the pod."
    )
    runpod_proxy_url_template: str = Field(
        default=DEFAULT_PROXY_URL_TEMPLATE,
        description="The pod's GPU server URL, with {pod_id} and {port} placeholders.",
    )
    gpu_idle_stop_s: float = Field(
        default=5,
        gt=0,
        description="Stop a pod idle this long that no job in flight needs (an extra pod as "
        "soon as it is idle this long). The policy is to stop at once when no GPU work is "
        "known to be coming: a job's next GPU steps are queued in the same transaction that "
        "ends the one before, so these seconds only absorb clock differences between workers.",
    )
    gpu_start_timeout_s: float = Field(
        default=600, gt=0, description="A start whose /health is not ok by then is given up."
    )
    gpu_cold_start_s: float = Field(
        default=180, gt=0, description="Cold-start estimate until one has been measured."
    )
    gpu_typical_task_s: float = Field(
        default=60,
        gt=0,
        description="A GPU task's duration until tasks have been measured; a pod's queue "
        "times this is how long a new job would wait for it.",
    )
    gpu_health_poll_s: float = Field(default=2.0, gt=0, description="/health poll while starting.")
    redis_url: str = Field(
        default="", description="Redis holding the pods' shared state and lock (runpod only)."
    )
    redis_namespace: str = Field(default="skyie", description="Prefix of every Redis key.")

    @field_validator("runpod_pod_ids", mode="before")
    @classmethod
    def _split_ids(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()]
        return value

    @property
    def runpod_pool(self) -> list[str]:
        """Every pod of the pool, once each: SKYIE_RUNPOD_POD_ID, then SKYIE_RUNPOD_POD_IDS."""
        ids = [self.runpod_pod_id, *self.runpod_pod_ids]
        return list(dict.fromkeys(p.strip() for p in ids if p.strip()))

    @model_validator(mode="after")
    def _complete_for_host(self) -> PodSettings:
        if self.gpu_host is None:
            self.gpu_host = "inprocess" if self.gpu_url == EMBEDDED else "static"
        if self.gpu_host == "static" and not self.gpu_url.startswith(("http://", "https://")):
            raise ValueError(
                f"SKYIE_GPU_HOST=static needs SKYIE_GPU_URL to be an http(s) URL, "
                f"not {self.gpu_url!r}"
            )
        if self.gpu_host == "runpod":
            missing = [
                name
                for name, value in (
                    ("SKYIE_RUNPOD_API_KEY", self.runpod_api_key),
                    ("SKYIE_RUNPOD_POD_IDS (or SKYIE_RUNPOD_POD_ID)", self.runpod_pool),
                    ("SKYIE_REDIS_URL", self.redis_url),
                )
                if not value
            ]
            if missing:
                raise ValueError(f"SKYIE_GPU_HOST=runpod needs {', '.join(missing)}")
            if "{pod_id}" not in self.runpod_proxy_url_template:
                raise ValueError("SKYIE_RUNPOD_PROXY_URL_TEMPLATE must contain {pod_id}")
        return self


def make_host(settings: PodSettings | None = None) -> GpuHost:
    """The GPU host the settings describe; build it once per process and share it."""
    settings = settings if settings is not None else PodSettings()
    gpu_key = settings.gpu_api_key.get_secret_value()
    if settings.gpu_host == "runpod":
        import redis

        assert settings.runpod_api_key is not None  # checked by the validator
        return RunPodHost(
            api_key=settings.runpod_api_key.get_secret_value(),
            pod_ids=settings.runpod_pool,
            gpu_api_key=gpu_key,
            redis_client=redis.Redis.from_url(settings.redis_url, decode_responses=True),
            namespace=settings.redis_namespace,
            gpu_count=settings.runpod_gpu_count,
            port=settings.runpod_port,
            url_template=settings.runpod_proxy_url_template,
            idle_stop_s=settings.gpu_idle_stop_s,
            start_timeout_s=settings.gpu_start_timeout_s,
            cold_start_default_s=settings.gpu_cold_start_s,
            typical_task_s=settings.gpu_typical_task_s,
            poll_s=settings.gpu_health_poll_s,
        )
    if settings.gpu_host == "static":
        return StaticHost(settings.gpu_url, gpu_key)
    return InProcessHost(gpu_key)
