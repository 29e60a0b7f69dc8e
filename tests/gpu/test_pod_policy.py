"""The pod policy's decisions, and the month it is measured on (`skyie bench gpu-cost`)."""

from __future__ import annotations

import pytest

from cli.bench_gpu_cost import POLICIES, WORKFLOWS, Simulation, arrivals
from gpu.pods.policy import PodPolicy

RULES = PodPolicy(cold_start_s=60, max_pods=3, wait_slack_s=60)


def test_a_pod_starts_for_waiting_work_and_another_only_when_waiting_costs_more() -> None:
    assert RULES.pods_wanted(pods_up=0, new_job_wait_s=0) == 1
    assert RULES.pods_wanted(pods_up=0, new_job_wait_s=None) == 0
    # A new job would wait 100 s for the busy pod: less than a start plus the slack.
    assert RULES.pods_wanted(pods_up=1, new_job_wait_s=100) == 1
    assert RULES.pods_wanted(pods_up=1, new_job_wait_s=121) == 2
    assert RULES.pods_wanted(pods_up=3, new_job_wait_s=9999) == 3, "never past max_pods"


def test_the_last_pod_stays_only_while_a_job_in_flight_needs_the_gpu() -> None:
    assert RULES.keep_warm(gpu_steps_to_come=True)
    assert not RULES.keep_warm(gpu_steps_to_come=False)


@pytest.fixture(scope="module")
def two_days() -> dict[str, tuple[float, float, int]]:
    jobs = arrivals(2, 100, seed=3)
    out = {}
    for name in POLICIES:
        r = Simulation(name, jobs, boot_s=40, days=2).run()
        assert len(r.waits) == len(jobs), f"{name}: every job finished"
        out[name] = (r.pod_seconds / r.inference_s, r.p95_wait(), r.starts)
    return out


def test_every_policy_pays_at_least_the_inference(
    two_days: dict[str, tuple[float, float, int]],
) -> None:
    for name, (ratio, _, _) in two_days.items():
        assert ratio > 1.0, f"{name} cannot cost less than the work itself"


def test_ours_is_cheaper_than_the_naive_policies_and_waits_about_a_cold_start(
    two_days: dict[str, tuple[float, float, int]],
) -> None:
    ours, always, per_job, fixed = (two_days[n] for n in POLICIES)
    assert ours[0] < min(always[0], per_job[0], fixed[0])
    assert ours[2] < per_job[2], "pods are shared by jobs that overlap"
    assert ours[1] <= 40 + 45 + 60, "p95 wait within a cold start (boot + Wan load) + 60 s"
    assert per_job[2] == len(arrivals(2, 100, seed=3)) and always[2] == 1


def test_the_workflows_are_valid_step_graphs() -> None:
    for name, (_share, minutes, steps) in WORKFLOWS.items():
        names = [s.name for s in steps]
        assert len(set(names)) == len(names), name
        for step in steps:
            assert all(a in names for a in step.after), (name, step.name)
        assert any(s.model for s in steps) and minutes > 0
    assert sum(share for share, _, _ in WORKFLOWS.values()) == pytest.approx(1.0)
