"""A revised script reuses everything that did not change: fewer GPU steps, a lower quote."""

from __future__ import annotations

from agent.loop import AgentDeps, JobEvent, QuoteEvent, run_turn, start_conversation
from agent.providers.offline import OfflineProvider
from agent.writer import PlannerWriter
from core.models import JobStatus
from core.storage import get_storage
from jobs.worker import JobWorker
from tests.conftest import Stack
from tests.jobs.helpers import make_user, steps_of, wait_for

BRIEF = (
    "A 30-second vertical video about three ways to save energy at home, "
    "with a friendly host who opens and closes"
)


async def turn(conversation: str, message: str, stack: Stack, user: str) -> list[object]:
    deps = AgentDeps(
        stack.settings, get_storage(stack.settings.storage_dir), OfflineProvider(), PlannerWriter()
    )
    return [e async for e in run_turn(conversation, message, deps, user_id=user)]


def first(events: list[object], kind: type) -> object:
    return next(e for e in events if isinstance(e, kind))


async def test_changing_one_scene_recomputes_only_that_scene(sqlite_stack: Stack) -> None:
    settings = sqlite_stack.settings
    user = await make_user(settings, 500)
    conversation = await start_conversation(user, "test")
    with JobWorker(settings):
        quote1 = first(await turn(conversation, BRIEF, sqlite_stack, user), QuoteEvent)
        job1 = first(await turn(conversation, "yes", sqlite_stack, user), JobEvent)
        assert isinstance(job1, JobEvent) and isinstance(quote1, QuoteEvent)
        assert (await wait_for(settings, job1.job_id)).status == JobStatus.succeeded.value

        revised = await turn(conversation, "make the second scene a sunset", sqlite_stack, user)
        quote2 = first(revised, QuoteEvent)
        assert isinstance(quote2, QuoteEvent)
        assert quote2.credits < quote1.credits, "reused scenes must not be charged again"
        job2 = first(await turn(conversation, "yes, generate", sqlite_stack, user), JobEvent)
        assert isinstance(job2, JobEvent)
        assert (await wait_for(settings, job2.job_id)).status == JobStatus.succeeded.value

    steps = await steps_of(settings, job2.job_id)
    recomputed = sorted(s.name for s in steps if not s.reused)
    gpu = [
        n for n in recomputed if n.split("/")[0] in {"tts", "lipsync", "keyframe", "clip", "music"}
    ]
    assert gpu == ["clip/1", "keyframe/1"]
    assert "render" in recomputed
