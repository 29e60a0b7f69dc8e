"""RunPod's pod API as the host needs it: look a pod up, resume it, stop it, through the
official `runpod` SDK, with RunPod's failures turned into reasons a person can act on.

The SDK is synchronous (`requests`) and reads `RUNPOD_API_BASE_URL` for its GraphQL endpoint.
"""

from __future__ import annotations

import logging
import sys
import threading
from typing import Any

from gpu.pods.base import GpuHostUnavailable

# RunPod's words when the pod's machine (or the whole region) has no GPU to give.
_NO_GPU_MARKERS = (
    "not enough free gpus",
    "no longer any instances available",
    "no gpus available",
    "does not have the resources",
)
_AUTH_MARKERS = ("unauthorized", "api key", "apikey", "forbidden", "authenticat")

# The SDK's resume/stop take their key from the module global `runpod.api_key`; setting it and
# calling must not interleave with another host's call in this process.
_sdk_lock = threading.Lock()


class RunPodApi:
    """The three pod calls the host needs, with RunPod's failures turned into clear reasons."""

    def __init__(self, api_key: str, pod_id: str, gpu_count: int = 1) -> None:
        self._api_key = api_key
        self.pod_id = pod_id
        self._gpu_count = gpu_count

    def get_pod(self) -> dict[str, Any]:
        pod = self._call("look up", "get_pod", self.pod_id)
        if not isinstance(pod, dict):
            raise GpuHostUnavailable(
                f"RunPod has no pod {self.pod_id} on this account (check SKYIE_RUNPOD_POD_ID)",
                code="config",
            )
        return pod

    def resume(self) -> None:
        self._call("resume", "resume_pod", self.pod_id, self._gpu_count)

    def stop(self) -> None:
        self._call("stop", "stop_pod", self.pod_id)

    def _call(self, action: str, name: str, *args: object) -> Any:
        import requests

        what = f"{action} pod {self.pod_id}"
        with _sdk_lock:
            runpod = _sdk()
            from runpod import error

            runpod.api_key = self._api_key
            try:
                return getattr(runpod, name)(*args)
            except error.AuthenticationError as exc:
                raise GpuHostUnavailable(
                    f"RunPod rejected the API key (SKYIE_RUNPOD_API_KEY) trying to {what}: {exc}",
                    code="auth",
                ) from None
            except error.QueryError as exc:
                raise _query_error(what, str(exc)) from None
            except requests.RequestException as exc:
                raise GpuHostUnavailable(
                    f"RunPod's API is unreachable trying to {what}: {exc}", code="unreachable"
                ) from None
            except (ValueError, KeyError, TypeError) as exc:
                raise GpuHostUnavailable(
                    f"RunPod gave an unexpected answer trying to {what}: {exc!r}",
                    code="unreachable",
                ) from None


def _sdk() -> Any:
    """The `runpod` module, imported without letting it reconfigure this process's logging.

    Importing the SDK runs `logging.basicConfig(level=INFO)` (runpod.serverless.utils.rp_upload)
    and turns the uvicorn, urllib3 and paramiko loggers down to WARNING, which would override the
    app's own logging setup. Callers hold `_sdk_lock`, so the first import happens once.
    """
    if "runpod" in sys.modules:
        return sys.modules["runpod"]
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    levels = {name: logging.getLogger(name).level for name in ("uvicorn", "urllib3", "paramiko")}
    try:
        import runpod
    finally:
        root.handlers[:] = handlers
        root.setLevel(level)
        for name, old in levels.items():
            logging.getLogger(name).setLevel(old)
    return runpod


def _query_error(what: str, message: str) -> GpuHostUnavailable:
    lowered = message.lower()
    if any(marker in lowered for marker in _NO_GPU_MARKERS):
        return GpuHostUnavailable(f"no GPU is free on RunPod to {what}: {message}", code="no_gpu")
    if any(marker in lowered for marker in _AUTH_MARKERS):
        return GpuHostUnavailable(
            f"RunPod rejected the API key (SKYIE_RUNPOD_API_KEY) trying to {what}: {message}",
            code="auth",
        )
    return GpuHostUnavailable(f"RunPod refused to {what}: {message}", code="unreachable")
