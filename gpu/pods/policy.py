"""When to start another GPU pod and when to stop one: the decisions, apart from any API.

A pod costs money from the moment it is asked to start until it has stopped, whether it works
or not; a cold start costs `cold_start_s` of billing before any work and makes someone wait as
long. So the policy:

- starts a pod when GPU work is waiting and none is up, and another one (up to `max_pods`) only
  when a new job's first step would wait for the pods already up longer than a cold start plus
  `wait_slack_s`: a new pod then serves it sooner, and shorter waits are not worth a start;
- stops an idle pod at once, unless GPU work is known to be coming within the break-even time
  (a job in flight whose next GPU step is a short CPU step away), or work arrives so often at
  this hour that a cold start would cost more than staying warm (arrival rate x cold start > 1).

Keeping a pod idle for t seconds costs t; stopping it and starting it again costs a cold start.
Staying warm for a known next step that is less than a cold start away is therefore always
cheaper, and otherwise stopping is, which is why there is no fixed idle timeout here.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class PodPolicy:
    cold_start_s: float
    max_pods: int = 3
    # How much longer than a cold start a new job may wait for a busy pod before another pod
    # is started for it: waiting costs nothing, a start costs a cold start of billing.
    wait_slack_s: float = 60.0

    def pods_wanted(self, *, pods_up: int, new_job_wait_s: float | None) -> int:
        """How many pods should be up (starting or running) now.

        `new_job_wait_s`: how long the first GPU step of the longest-waiting job that has not
        started yet is expected to wait for the pods already up (None: no such job waits).
        Only a new job's first step counts: a job already under way only goes faster on a
        second pod, and would pay its cold start for that.
        """
        if new_job_wait_s is None:
            return pods_up
        if pods_up == 0:
            return 1
        if new_job_wait_s > self.cold_start_s + self.wait_slack_s and pods_up < self.max_pods:
            return pods_up + 1  # ready sooner than a pod already up would be free
        return pods_up

    def keep_warm(self, *, next_known_work_in_s: float | None, arrivals_per_s: float) -> bool:
        """Whether an idle pod should stay up rather than stop now.

        `next_known_work_in_s`: when GPU work of a job in flight is expected to be ready (None
        when no job has GPU work left); `arrivals_per_s`: the expected rate of new jobs now.
        """
        if next_known_work_in_s is not None and next_known_work_in_s < self.cold_start_s:
            return True
        return arrivals_per_s * self.cold_start_s >= 1.0
