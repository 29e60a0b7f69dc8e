"""A local stand-in for RunPod: its GraphQL API (as the `runpod` SDK calls it) and the pod proxy.

One threaded HTTP server answers:

- `POST /graphql` — the SDK's `pod`, `podResume` and `podStop` operations, recognised by the same
  query text the SDK sends (runpod/api/queries/pods.py, runpod/api/mutations/pods.py) and answered
  with RunPod's JSON shapes: `{"data": {...}}`, or `{"errors": [{"message": ...}]}` for refusals.
  The key is checked the way RunPod does: `Authorization: Bearer <key>` (older SDKs sent
  `?api_key=`), a wrong key gets HTTP 401.
- `GET /pods/<pod_id>/<port>/health` — the pod's GPU server behind RunPod's proxy
  (`proxy_url_template`): 404 while the pod is stopped, 502 while it boots, then a
  `gpu.schemas.Health` once the pod's boot delay has passed since the resume. Several pods can be
  served at once, each with its own boot delay, queue (`queued`, `running`) and refusal.

Point the SDK at it with `RUNPOD_API_BASE_URL=fake.api_base_url`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

from gpu.schemas import EngineHealth, Health

NO_GPUS = "There are not enough free GPUs on the host machine to start this pod."

_POD_QUERY = re.compile(r'\bpod\(input:\s*\{\s*podId:\s*"([^"]*)"\s*\}\)')
_RESUME = re.compile(r'\bpodResume\(input:\s*\{\s*podId:\s*"([^"]*)",\s*gpuCount:\s*(\d+)\s*\}\)')
_STOP = re.compile(r'\bpodStop\(input:\s*\{\s*podId:\s*"([^"]*)"\s*\}\)')
_HEALTH = re.compile(r"^/pods/([^/]+)/(\d+)/health$")


@dataclass
class FakePod:
    id: str
    desired_status: str = "EXITED"  # RUNNING | EXITED | TERMINATED
    gpu_count: int = 1
    port: int = 8100
    resumed_at: float | None = None
    queued: int = 0  # what the pod's /health reports as waiting and running tasks
    running: int = 0
    first_step_wait_s: float | None = None  # the pod's own estimate; None: an older server
    boot_delay_s: float | None = None  # None: the fake's own
    resume_error: str | None = None  # e.g. NO_GPUS: this pod's machine has no GPU free

    def booted(self, boot_delay_s: float) -> bool:
        delay = self.boot_delay_s if self.boot_delay_s is not None else boot_delay_s
        return (
            self.desired_status == "RUNNING"
            and self.resumed_at is not None
            and time.monotonic() - self.resumed_at >= delay
        )


@dataclass
class FakeRunPod:
    api_key: str = "rp-test-key"
    gpu_api_key: str = "test-gpu-key"
    boot_delay_s: float = 0.3
    resume_error: str | None = None  # e.g. NO_GPUS: every podResume is refused with it
    api_delay_s: float = 0.0  # latency of each GraphQL call, as over the internet
    pods: dict[str, FakePod] = field(default_factory=dict)
    calls: list[tuple[str, str]] = field(default_factory=list)  # (operation, pod id)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, args=(0.05,), daemon=True
        )
        self._thread.start()

    @property
    def base(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    @property
    def api_base_url(self) -> str:
        """The value for RUNPOD_API_BASE_URL (the SDK appends /graphql)."""
        return self.base

    @property
    def proxy_url_template(self) -> str:
        return self.base + "/pods/{pod_id}/{port}"

    def add_pod(
        self,
        pod_id: str,
        *,
        status: str = "EXITED",
        booted: bool = False,
        boot_delay_s: float | None = None,
    ) -> FakePod:
        pod = FakePod(pod_id, desired_status=status, boot_delay_s=boot_delay_s)
        if status == "RUNNING":
            # A running pod was resumed at some point; `booted` says whether it answers yet.
            delay = boot_delay_s if boot_delay_s is not None else self.boot_delay_s
            pod.resumed_at = time.monotonic() - (delay if booted else 0)
        with self._lock:
            self.pods[pod_id] = pod
        return pod

    def count(self, operation: str, pod_id: str | None = None) -> int:
        """How many `operation` calls were made (for `pod_id` only, if given)."""
        with self._lock:
            return sum(1 for op, pod in self.calls if op == operation and pod_id in (None, pod))

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # -- GraphQL ---------------------------------------------------------------------------------

    def graphql(self, query: str) -> dict[str, Any]:
        time.sleep(self.api_delay_s)
        with self._lock:
            if match := _RESUME.search(query):
                return self._resume(match.group(1), int(match.group(2)))
            if match := _STOP.search(query):
                return self._stop(match.group(1))
            if match := _POD_QUERY.search(query):
                self.calls.append(("pod", match.group(1)))
                pod = self.pods.get(match.group(1))
                return {"data": {"pod": _pod_json(pod, self.boot_delay_s) if pod else None}}
        return _error(f'Cannot query field in "{query.strip()[:60]}"', "GRAPHQL_VALIDATION_FAILED")

    def _resume(self, pod_id: str, gpu_count: int) -> dict[str, Any]:
        self.calls.append(("podResume", pod_id))
        pod = self.pods.get(pod_id)
        if pod is None:
            return _error("Pod not found", "NOT_FOUND", "podResume")
        refusal = self.resume_error if self.resume_error is not None else pod.resume_error
        if refusal is not None:
            return _error(refusal, "INTERNAL_SERVER_ERROR", "podResume")
        if pod.desired_status == "RUNNING":
            return _error("Pod is already running", "BAD_USER_INPUT", "podResume")
        pod.desired_status, pod.gpu_count, pod.resumed_at = "RUNNING", gpu_count, time.monotonic()
        return {
            "data": {
                "podResume": {
                    "id": pod.id,
                    "desiredStatus": pod.desired_status,
                    "imageName": "skyie/gpu-server:latest",
                    "env": ["SKYIE_GPU_ENGINES=real"],
                    "machineId": "m-fake",
                    "machine": {"podHostId": f"{pod.id}-host"},
                }
            }
        }

    def _stop(self, pod_id: str) -> dict[str, Any]:
        self.calls.append(("podStop", pod_id))
        pod = self.pods.get(pod_id)
        if pod is None:
            return _error("Pod not found", "NOT_FOUND", "podStop")
        pod.desired_status, pod.resumed_at = "EXITED", None
        return {"data": {"podStop": {"id": pod.id, "desiredStatus": pod.desired_status}}}

    # -- the pod's GPU server behind the proxy ---------------------------------------------------

    def health(self, pod_id: str, port: int, authorization: str) -> tuple[int, dict[str, Any]]:
        with self._lock:
            self.calls.append(("health", pod_id))
            pod = self.pods.get(pod_id)
            if pod is None or pod.port != port or pod.desired_status != "RUNNING":
                return 404, {"error": "pod not found or not running"}
            if not pod.booted(self.boot_delay_s):
                return 502, {"error": "bad gateway: the pod's server is not up yet"}
            queued, running, first_wait = pod.queued, pod.running, pod.first_step_wait_s
        if authorization != f"Bearer {self.gpu_api_key}":
            return 401, {"detail": "invalid API key"}
        health = Health(
            ok=True,
            gpu="NVIDIA GeForce RTX 5090",
            vram_free_gb=31.5,
            engines={"tts": EngineHealth(available=True, variants=["kokoro"])},
            queued=queued,
            running=running,
            first_step_wait_s=first_wait,
        )
        return 200, health.model_dump(mode="json")


def _pod_json(pod: FakePod, boot_delay_s: float) -> dict[str, Any]:
    runtime = None
    if pod.desired_status == "RUNNING" and pod.resumed_at is not None:
        up = time.monotonic() - pod.resumed_at
        runtime = {
            "uptimeInSeconds": int(up),
            "ports": [
                {
                    "ip": "100.65.0.2",
                    "isIpPublic": False,
                    "privatePort": pod.port,
                    "publicPort": 60000 + pod.port % 1000,
                    "type": "http",
                }
            ]
            if pod.booted(boot_delay_s)
            else [],
        }
    return {
        "id": pod.id,
        "containerDiskInGb": 50,
        "costPerHr": 0.89,
        "desiredStatus": pod.desired_status,
        "dockerArgs": "",
        "dockerId": None,
        "env": ["SKYIE_GPU_ENGINES=real"],
        "gpuCount": pod.gpu_count,
        "imageName": "skyie/gpu-server:latest",
        "lastStatusChange": f"{pod.desired_status.title()} by user",
        "machineId": "m-fake",
        "memoryInGb": 62,
        "name": "skyie-gpu",
        "podType": "RESERVED",
        "port": None,
        "ports": f"{pod.port}/http",
        "uptimeSeconds": int(time.monotonic() - pod.resumed_at) if pod.resumed_at else 0,
        "vcpuCount": 16,
        "volumeInGb": 0,
        "volumeMountPath": "/workspace",
        "runtime": runtime,
        "machine": {"gpuDisplayName": "RTX 5090"},
    }


def _error(message: str, code: str, path: str | None = None) -> dict[str, Any]:
    error: dict[str, Any] = {"message": message, "extensions": {"code": code}}
    if path is not None:
        error["path"] = [path]
        return {"errors": [error], "data": {path: None}}
    return {"errors": [error]}


def _handler_for(fake: FakeRunPod) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            url = urlparse(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if url.path != "/graphql":
                self._send(404, {"error": "not found"})
                return
            given = self.headers.get("Authorization", "").removeprefix("Bearer ").strip()
            given = given or parse_qs(url.query).get("api_key", [""])[0]
            if given != fake.api_key:
                self._send(401, {"errors": [{"message": "Unauthorized"}]})
                return
            try:
                query = json.loads(body)["query"]
            except (ValueError, KeyError, TypeError):
                self._send(400, {"errors": [{"message": "Must provide query string."}]})
                return
            self._send(200, fake.graphql(str(query)))

        def do_GET(self) -> None:
            match = _HEALTH.match(urlparse(self.path).path)
            if match is None:
                self._send(404, {"error": "not found"})
                return
            auth = self.headers.get("Authorization", "")
            status, payload = fake.health(match.group(1), int(match.group(2)), auth)
            self._send(status, payload)

        def _send(self, status: int, payload: dict[str, Any]) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, format: str, *args: Any) -> None:
            return None  # keep test output quiet

    return Handler
