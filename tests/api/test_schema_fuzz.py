"""schemathesis against the app's own OpenAPI schema: whatever a client sends that the schema
allows (and much that it does not), the server never answers 5xx."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, given, settings

from api.app import create_app
from tests.api.conftest import PASSWORD, LiveServer
from tests.conftest import Stack

EXAMPLES_PER_OPERATION = 20


@pytest.fixture
def fuzz_target(sqlite_stack: Stack) -> Iterator[tuple[Any, dict[str, str]]]:
    # No worker: jobs the fuzzer manages to start stay queued instead of rendering.
    settings_ = sqlite_stack.settings.model_copy(
        update={"rate_limit_per_minute": 10**6, "auth_rate_limit_per_minute": 10**6}
    )
    with LiveServer(create_app(settings_, run_worker=False)) as server:
        r = requests.post(
            f"{server.url}/v1/auth/register",
            json={"email": "fuzz@example.com", "password": PASSWORD},
            timeout=30,
        )
        r.raise_for_status()
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        schema = schemathesis.openapi.from_url(f"{server.url}/openapi.json")
        yield schema, headers


def _fuzz(operation: Any, headers: dict[str, str], calls: list[int]) -> list[str]:
    """Server errors one operation gives over generated cases (valid and invalid ones)."""
    found: list[str] = []

    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
    def run(case: Any) -> None:
        # The generated bearer tokens are random: always send a real one, so cases get past
        # authentication and reach the code behind it (bad tokens have tests of their own).
        if case.headers:
            case.headers = {k: v for k, v in case.headers.items() if k.lower() != "authorization"}
        response = case.call(headers=headers, timeout=60)
        calls.append(response.status_code)
        if response.status_code >= 500:
            found.append(
                f"{case.method} {case.formatted_path} -> {response.status_code}: "
                f"{response.text[:300]}\n  body={str(case.body)[:300]} query={case.query}"
            )

    run()
    return found


def test_no_operation_answers_5xx(fuzz_target: tuple[Any, dict[str, str]]) -> None:
    schema, headers = fuzz_target
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) > 10
    failures: list[str] = []
    answered: dict[str, list[int]] = {}
    for operation in operations:
        calls: list[int] = []
        failures += _fuzz(operation, headers, calls)
        answered[operation.label] = calls
    assert not failures, "\n".join(failures[:20])
    # The fuzzer really ran, and got past authentication to the code behind it.
    assert all(calls for calls in answered.values())
    succeeded = [label for label, calls in answered.items() if any(c < 300 for c in calls)]
    assert len(succeeded) >= len(operations) // 3, sorted(succeeded)
