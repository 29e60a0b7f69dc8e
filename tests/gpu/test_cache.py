"""The model cache: on-demand loads within a VRAM budget, LRU eviction, idle unloads."""

from __future__ import annotations

import threading
import time

import pytest

from gpu.engines.cache import ModelCache, ModelSpec, ModelTooLarge


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


class Models:
    """Specs whose loads and unloads are recorded, like real weights coming and going."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def spec(self, name: str, gb: float, *, fail: bool = False, delay_s: float = 0.0) -> ModelSpec:
        def load() -> dict[str, str]:
            time.sleep(delay_s)
            if fail:
                raise RuntimeError(f"{name} weights are corrupt")
            self.events.append(f"load {name}")
            return {"name": name}

        def unload(handle: dict[str, str]) -> None:
            self.events.append(f"unload {handle['name']}")

        return ModelSpec(name, gb, load, unload)


def test_loads_once_and_evicts_the_least_recently_used_to_fit() -> None:
    models, clock = Models(), Clock()
    cache = ModelCache(budget_gb=40, clock=clock)
    wan, music, whisper = models.spec("wan", 30), models.spec("music", 8), models.spec("whisper", 4)
    with cache.use(wan) as handle:
        assert handle == {"name": "wan"}
    with cache.use(music):
        pass
    with cache.use(wan):  # already loaded: no second load, and now the most recent
        pass
    assert cache.loaded() == ["music", "wan"] and cache.loads == 2
    with cache.use(whisper):  # 30 + 8 + 4 > 40: the least recently used (music) goes
        pass
    assert cache.loaded() == ["wan", "whisper"]
    assert models.events == ["load wan", "load music", "unload music", "load whisper"]
    assert cache.used_gb() == 34


def test_a_model_in_use_is_never_evicted() -> None:
    models = Models()
    cache = ModelCache(budget_gb=10)
    first, second = models.spec("a", 6), models.spec("b", 6)
    entered = threading.Event()
    release = threading.Event()

    def hold_a() -> None:
        with cache.use(first):
            entered.set()
            release.wait(5)

    holder = threading.Thread(target=hold_a)
    holder.start()
    entered.wait(5)
    waiter = threading.Thread(target=lambda: cache.use(second).__enter__())
    waiter.start()
    time.sleep(0.2)
    assert models.events == ["load a"], "b waits: a is in use and both do not fit"
    release.set()
    holder.join(5)
    waiter.join(5)
    assert models.events == ["load a", "unload a", "load b"]


def test_idle_models_are_unloaded_after_the_timeout() -> None:
    models, clock = Models(), Clock()
    cache = ModelCache(budget_gb=40, idle_unload_s=600, clock=clock)
    with cache.use(models.spec("wan", 30)):
        pass
    clock.now += 300
    with cache.use(models.spec("music", 8)):
        pass
    clock.now += 301
    assert cache.sweep() == ["wan"], "wan idle 601 s; music only 301 s"
    clock.now += 300
    assert cache.sweep() == ["music"] and cache.loaded() == []
    assert models.events[-2:] == ["unload wan", "unload music"]


def test_too_large_and_failed_loads_are_clear_and_leave_nothing_reserved() -> None:
    models = Models()
    cache = ModelCache(budget_gb=24)
    too_large = pytest.raises(ModelTooLarge, match=r"wan-a14b needs 48 GB of VRAM; .* is 24 GB")
    with too_large, cache.use(models.spec("wan-a14b", 48)):
        pass
    with pytest.raises(RuntimeError, match="corrupt"), cache.use(models.spec("bad", 10, fail=True)):
        pass
    assert cache.loaded() == [] and cache.used_gb() == 0
    with cache.use(models.spec("music", 20)):
        pass
    assert cache.loaded() == ["music"]


def test_concurrent_requests_for_one_model_load_it_once() -> None:
    models = Models()
    cache = ModelCache(budget_gb=40)
    spec = models.spec("wan", 30, delay_s=0.2)

    def run() -> None:
        with cache.use(spec):
            pass

    threads = [threading.Thread(target=run) for _ in range(3)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(5)
    assert models.events == ["load wan"] and cache.loads == 1


def test_unload_all_keeps_models_in_use() -> None:
    models = Models()
    cache = ModelCache(budget_gb=40)
    with cache.use(models.spec("music", 8)):
        pass
    with cache.use(models.spec("wan", 30)):
        assert cache.unload_all() == ["music"]
        assert cache.loaded() == ["wan"]
