"""The task queue: bounded (503 with Retry-After), paid work and first steps ahead, grouped by
model, never starving anyone, out-of-memory survivable."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator, Mapping
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, SecretStr

from gpu.engines.base import Engine, EngineError, EngineOutput, ProgressFn
from gpu.engines.cache import ModelCache, ModelSpec
from gpu.engines.registry import Slot
from gpu.schemas import ImageRequest, InferKind, TaskState
from gpu.server import GpuServerSettings, create_app
from gpu.server.files import FileStore
from gpu.server.tasks import QueueFull, Task, TaskManager

API_KEY = "test-gpu-key"


class Recorder:
    """An engine that loads its model through a cache and records the order it ran in."""

    def __init__(self, cache: ModelCache, gate: threading.Event | None = None) -> None:
        self.cache = cache
        self.order: list[str] = []
        self.gate = gate

    def engine(self, model: str) -> Engine:
        def run(
            request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
        ) -> EngineOutput:
            if self.gate is not None:
                self.gate.wait(10)
            with self.cache.use(ModelSpec(model, 10, load=lambda: model)):
                self.order.append(f"{model}:{request.prompt}")  # type: ignore[attr-defined]
            (out_dir / "x.txt").write_text(model)
            return EngineOutput(files={"x": out_dir / "x.txt"}, engine=model)

        return run


@pytest.fixture
def manager(tmp_path: Path) -> Iterator[tuple[TaskManager, ModelCache]]:
    cache = ModelCache(budget_gb=10)  # one model at a time: every switch is a load
    tasks = TaskManager(
        FileStore(tmp_path / "files", 60),
        tmp_path / "tasks",
        concurrency=1,
        ttl_s=60,
        max_queued=8,
        is_loaded=cache.is_loaded,
    )
    yield tasks, cache
    tasks.shutdown()


def wait_all(tasks: TaskManager, ids: list[str]) -> None:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if all(tasks.info(i).state is TaskState.succeeded for i in ids):
            return
        time.sleep(0.01)
    raise AssertionError([tasks.info(i) for i in ids])


def test_waiting_tasks_run_grouped_by_model(manager: tuple[TaskManager, ModelCache]) -> None:
    tasks, cache = manager
    gate = threading.Event()
    recorder = Recorder(cache, gate)
    arrivals = ["wan", "music", "wan", "music", "wan"]
    ids = [
        tasks.submit(
            InferKind.image,
            ImageRequest(prompt=str(n)),
            recorder.engine(m),
            {},
            model=m,
        ).id
        for n, m in enumerate(arrivals)
    ]
    gate.set()
    wait_all(tasks, ids)
    # The first wan task was already running; the other wan tasks follow it, then the music.
    assert recorder.order == ["wan:0", "wan:2", "wan:4", "music:1", "music:3"]
    assert cache.loads == 2, "two models, two loads (five in arrival order would mean four)"


def submit_behind_a_running_task(
    tasks: TaskManager, recorder: Recorder, arrivals: list[tuple[str, bool, bool]]
) -> list[Task]:
    """Submit (model, first, paid) tasks, numbered as they come; the first is running (held at
    the recorder's gate) before the others are queued."""
    queued = []
    for n, (model, first, paid) in enumerate(arrivals):
        task = tasks.submit(
            InferKind.image,
            ImageRequest(prompt=str(n)),
            recorder.engine(model),
            {},
            model=model,
            first=first,
            paid=paid,
        )
        queued.append(task)
        while n == 0 and tasks.info(task.id).state is TaskState.queued:
            time.sleep(0.005)
    return queued


def test_a_jobs_first_step_runs_before_work_already_under_way(
    manager: tuple[TaskManager, ModelCache],
) -> None:
    tasks, cache = manager
    gate = threading.Event()
    recorder = Recorder(cache, gate)
    queued = submit_behind_a_running_task(
        tasks,
        recorder,
        [
            ("wan", False, False),
            ("wan", False, False),
            ("music", True, False),
            ("wan", False, False),
        ],
    )
    gate.set()
    wait_all(tasks, [t.id for t in queued])
    assert recorder.order == ["wan:0", "music:2", "wan:1", "wan:3"]


def test_grouping_never_starves_an_old_task(manager: tuple[TaskManager, ModelCache]) -> None:
    tasks, cache = manager
    tasks.max_group_wait_s = 0.0  # every waiting task is already "too old" to pass over
    gate = threading.Event()
    recorder = Recorder(cache, gate)
    ids = [
        tasks.submit(
            InferKind.image,
            ImageRequest(prompt=str(n)),
            recorder.engine(m),
            {},
            model=m,
        ).id
        for n, m in enumerate(["wan", "music", "wan"])
    ]
    gate.set()
    wait_all(tasks, ids)
    assert recorder.order == ["wan:0", "music:1", "wan:2"], "strict arrival order"


def test_paid_tasks_run_before_free_ones_queued_earlier(
    manager: tuple[TaskManager, ModelCache],
) -> None:
    tasks, cache = manager
    gate = threading.Event()
    recorder = Recorder(cache, gate)
    queued = submit_behind_a_running_task(
        tasks,
        recorder,
        [
            ("wan", False, False),
            ("wan", False, False),
            ("music", False, False),
            ("music", False, True),
            ("wan", False, True),
            ("music", False, True),
        ],
    )
    # Positions follow the classes (by arrival within one); grouping is decided at run time.
    assert [tasks.info(t.id).queue_position for t in queued] == [0, 4, 5, 1, 2, 3]
    gate.set()
    wait_all(tasks, [t.id for t in queued])
    # Paid first, grouped by model within the class (wan was just used), then the free ones,
    # grouped the same way (music was just used).
    assert recorder.order == ["wan:0", "wan:4", "music:3", "music:5", "music:2", "wan:1"]


def test_a_paid_jobs_first_step_runs_before_a_free_jobs_first_step(
    manager: tuple[TaskManager, ModelCache],
) -> None:
    tasks, cache = manager
    gate = threading.Event()
    recorder = Recorder(cache, gate)
    queued = submit_behind_a_running_task(
        tasks,
        recorder,
        [
            ("wan", False, False),
            ("wan", False, False),
            ("wan", False, True),
            ("music", True, False),
            ("music", True, True),
        ],
    )
    gate.set()
    wait_all(tasks, [t.id for t in queued])
    assert recorder.order == ["wan:0", "music:4", "music:3", "wan:2", "wan:1"]


def test_priority_never_starves_a_free_task(manager: tuple[TaskManager, ModelCache]) -> None:
    tasks, cache = manager
    gate = threading.Event()
    recorder = Recorder(cache, gate)
    queued = submit_behind_a_running_task(
        tasks,
        recorder,
        [
            ("wan", False, False),
            ("music", False, False),
            ("wan", False, True),
            ("wan", True, True),
            ("wan", False, False),
        ],
    )
    queued[1].created -= tasks.max_group_wait_s  # it has waited as long as any task may
    gate.set()
    wait_all(tasks, [t.id for t in queued])
    # The free task that waited too long goes next, ahead of even a paid job's first step.
    assert recorder.order == ["wan:0", "music:1", "wan:3", "wan:2", "wan:4"]


async def test_the_priority_header_takes_tokens_and_ignores_unknown_ones(tmp_path: Path) -> None:
    app = create_app(
        GpuServerSettings(api_key=SecretStr(API_KEY), workdir=tmp_path / "gpu", concurrency=1)
    )
    gate = threading.Event()

    def held(
        request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
    ) -> EngineOutput:
        gate.wait(10)
        raise EngineError("stopped")

    state = app.state.gpu
    state.registry.slots[InferKind.image] = Slot(held, "test engine")
    body = {"prompt": "a"}
    try:
        async with _raw(app) as raw:
            running = (await raw.post("/infer/image", json=body)).json()["task_id"]
            while state.tasks.info(running).state is TaskState.queued:
                time.sleep(0.005)
            ids = {}
            for value in ["", "paid", "First, PAID, urgent", "first", "urgent"]:
                headers = {"X-Skyie-Priority": value} if value else {}
                created = await raw.post("/infer/image", json=body, headers=headers)
                ids[value] = created.json()["task_id"]
            positions = {v: state.tasks.info(i).queue_position for v, i in ids.items()}
        assert positions == {"First, PAID, urgent": 1, "first": 2, "paid": 3, "": 4, "urgent": 5}
    finally:
        gate.set()
        state.tasks.shutdown()


def test_a_full_queue_refuses_with_a_retry_time(manager: tuple[TaskManager, ModelCache]) -> None:
    tasks, cache = manager
    gate = threading.Event()
    engine = Recorder(cache, gate).engine("wan")
    for n in range(9):  # one running, eight waiting
        tasks.submit(InferKind.image, ImageRequest(prompt=str(n)), engine, {}, model="wan")
        time.sleep(0.02 if n == 0 else 0)
    with pytest.raises(QueueFull, match="8 tasks waiting") as full:
        tasks.submit(InferKind.image, ImageRequest(prompt="x"), engine, {}, model="wan")
    assert full.value.retry_after_s >= 1
    gate.set()


async def test_server_answers_503_with_retry_after_when_full(tmp_path: Path) -> None:
    settings = GpuServerSettings(
        api_key=SecretStr(API_KEY), workdir=tmp_path / "gpu", max_queued=1, concurrency=1
    )
    app = create_app(settings)
    gate = threading.Event()

    def slow(
        request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
    ) -> EngineOutput:
        gate.wait(10)
        raise EngineError("stopped")

    app.state.gpu.registry.slots[InferKind.image] = Slot(slow, "test engine")
    try:
        async with _raw(app) as raw:
            body = {"prompt": "a"}
            assert (await raw.post("/infer/image", json=body)).status_code == 202
            time.sleep(0.05)  # the first is running; the second waits; the third is refused
            assert (await raw.post("/infer/image", json=body)).status_code == 202
            refused = await raw.post("/infer/image", json=body)
            assert refused.status_code == 503
            assert int(refused.headers["Retry-After"]) >= 1
            assert "queue is full" in refused.json()["detail"]
    finally:
        gate.set()
        app.state.gpu.tasks.shutdown()


async def test_out_of_memory_fails_the_task_unloads_models_and_keeps_serving(
    tmp_path: Path,
) -> None:
    app = create_app(GpuServerSettings(api_key=SecretStr(API_KEY), workdir=tmp_path / "gpu"))
    state = app.state.gpu
    cache: ModelCache = state.cache
    with cache.use(ModelSpec("music", 8, load=lambda: "music")):
        pass

    def greedy(
        request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
    ) -> EngineOutput:
        raise RuntimeError("CUDA out of memory. Tried to allocate 20.00 GiB")

    state.registry.slots[InferKind.t2v] = Slot(greedy, "test engine")
    try:
        async with _raw(app) as raw:
            created = await raw.post("/infer/t2v", json={"prompt": "a city at night"})
            task_id = created.json()["task_id"]
            info = (await raw.get(f"/tasks/{task_id}")).json()
            for _ in range(200):
                if info["state"] == "failed":
                    break
                time.sleep(0.01)
                info = (await raw.get(f"/tasks/{task_id}")).json()
            assert info["state"] == "failed"
            assert "ran out of GPU memory" in info["error"] and "20.00 GiB" in info["error"]
            assert cache.loaded() == [], "models were unloaded to recover"
            health = await raw.get("/health")
            assert health.status_code == 200 and health.json()["ok"]
    finally:
        state.tasks.shutdown()


def _raw(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(
        base_url="http://gpu",
        transport=httpx.ASGITransport(app=app),
        headers={"Authorization": f"Bearer {API_KEY}"},
    )


def test_a_client_that_disconnects_mid_upload_leaves_nothing(tmp_path: Path) -> None:
    import socket

    import uvicorn

    app = create_app(GpuServerSettings(api_key=SecretStr(API_KEY), workdir=tmp_path / "gpu"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="error"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            assert thread.is_alive(), "the GPU server failed to start"
            time.sleep(0.02)
        host, port = server.servers[0].sockets[0].getsockname()[:2]
        boundary = "skyie-boundary"
        head = (
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; '
            'filename="clip.wav"\r\nContent-Type: audio/wav\r\n\r\n'
        ).encode()
        with socket.create_connection((host, port)) as conn:
            conn.sendall(
                (
                    "POST /files HTTP/1.1\r\nHost: gpu\r\n"
                    f"Authorization: Bearer {API_KEY}\r\n"
                    f"Content-Type: multipart/form-data; boundary={boundary}\r\n"
                    f"Content-Length: {len(head) + 1_000_000}\r\n\r\n"
                ).encode()
                + head
                + b"RIFF"
                + b"\0" * 200_000  # a fifth of what was announced, then gone
            )
        time.sleep(0.3)
        with httpx.Client(
            base_url=f"http://{host}:{port}", headers={"Authorization": f"Bearer {API_KEY}"}
        ) as client:
            assert client.get("/health").json()["ok"], "the server keeps serving"
        assert not list(app.state.gpu.files.root.iterdir()), "no partial file is kept"
    finally:
        server.should_exit = True
        thread.join(10)
        app.state.gpu.tasks.shutdown()


async def test_a_resubmit_with_the_same_key_resumes_the_same_task(tmp_path: Path) -> None:
    """A worker that restarted mid-wait gets its task back instead of paying for it twice."""
    from gpu.client import GpuClient
    from gpu.schemas import TTSRequest

    app = create_app(GpuServerSettings(api_key=SecretStr(API_KEY), workdir=tmp_path / "gpu"))
    transport = httpx.ASGITransport(app=app)
    try:
        async with GpuClient(
            "http://gpu", API_KEY, transport=transport, poll_interval_s=0.02
        ) as gpu:
            request = TTSRequest(text="Resume me.")
            first = await gpu.submit(InferKind.tts, request, key="step-key-1")
            again = await gpu.submit(InferKind.tts, request, key="step-key-1")
            other = await gpu.submit(InferKind.tts, request, key="step-key-2")
            assert first == again != other
            done = await gpu.wait(first)
            assert done.result is not None
            assert await gpu.submit(InferKind.tts, request, key="step-key-1") == first
            # Once its output was fetched (and so deleted), the key starts a fresh task.
            await gpu.download(done.result.files["audio"], tmp_path / "voice.wav")
            assert await gpu.submit(InferKind.tts, request, key="step-key-1") != first
    finally:
        app.state.gpu.tasks.shutdown()


def test_the_wait_a_new_jobs_first_step_would_have(manager: tuple[TaskManager, ModelCache]) -> None:
    tasks, _cache = manager
    assert tasks.first_step_wait_s() == 0.0, "an idle worker takes it at once"
    gate = threading.Event()

    def half_done(
        request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
    ) -> EngineOutput:
        time.sleep(0.4)
        progress(0.5)  # 0.4 s in and half done: about 0.4 s to go
        gate.wait(10)
        raise EngineError("stopped")

    running = tasks.submit(InferKind.image, ImageRequest(prompt="a"), half_done, {})
    while tasks.info(running.id).progress < 0.5:
        time.sleep(0.01)
    alone = tasks.first_step_wait_s()
    assert 0.3 <= alone <= 1.0
    for n in range(3):  # other jobs' later steps, paid or not, do not delay a first step
        request = ImageRequest(prompt=str(n))
        tasks.submit(InferKind.image, request, half_done, {}, paid=n == 0)
    assert tasks.first_step_wait_s() == pytest.approx(alone, abs=0.2)
    tasks.submit(InferKind.image, ImageRequest(prompt="f"), half_done, {}, first=True)
    assert tasks.first_step_wait_s() >= alone + 30, "behind a first step already waiting"
    gate.set()


def test_shutting_down_fails_waiting_tasks_and_releases_their_inputs(tmp_path: Path) -> None:
    files = FileStore(tmp_path / "files", 60)
    tasks = TaskManager(files, tmp_path / "tasks", concurrency=1, ttl_s=60)
    gate = threading.Event()

    def held(
        request: BaseModel, inputs: Mapping[str, Path], out_dir: Path, progress: ProgressFn
    ) -> EngineOutput:
        gate.wait(10)
        raise EngineError("stopped")

    source = tmp_path / "in.png"
    source.write_bytes(b"\x89PNG\r\n\x1a\n")
    stored = files.adopt(source)
    first = tasks.submit(InferKind.image, ImageRequest(prompt="a"), held, {})
    while tasks.info(first.id).state is TaskState.queued:
        time.sleep(0.005)
    (pinned,) = files.pin([stored.id])
    request = ImageRequest(prompt="b")
    waiting = tasks.submit(InferKind.image, request, held, {"image_file_id": pinned})
    tasks.shutdown(wait=False)
    gate.set()
    info = tasks.info(waiting.id)
    assert info.state is TaskState.failed and "shut down" in (info.error or "")
    assert files.get(stored.id).pins == 0, "its input is no longer held"
    with pytest.raises(QueueFull):
        tasks.submit(InferKind.image, ImageRequest(prompt="c"), held, {})
