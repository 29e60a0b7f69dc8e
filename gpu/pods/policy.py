"""When to start another GPU pod and when to stop one: the decisions, apart from any API.

A pod costs money from the moment it is asked to start until it has stopped, whether it works
or not; a cold start costs `cold_start_s` of billing before any work and makes someone wait as
long. So the policy:

- starts a pod when GPU work is waiting and none is up, and another one (up to `max_pods`) only
  when a new job's first step would wait for the pods already up longer than a cold start plus
  `wait_slack_s`: a new pod then serves it sooner, and shorter waits are not worth a start;
- keeps the last pod up while a job in flight still has GPU steps to come, and otherwise stops
  an idle pod at once.

Keeping a pod idle for t seconds costs t; stopping it and starting it again costs a cold start.
A job in flight brings its next GPU steps within moments (they are queued as the step before
ends), so staying up for them is cheaper than a restart. New jobs arrive at random: at the
volumes this serves (a job every few minutes at the busiest hour, against a cold start of about
a minute) an idle pod waiting for one costs more than the cold start it saves, which is why
there is no idle timeout beyond a few seconds of clock slack.
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

    def keep_warm(self, *, gpu_steps_to_come: bool) -> bool:
        """Whether the last idle pod up should stay rather than stop now."""
        return gpu_steps_to_come
