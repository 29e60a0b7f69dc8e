"""Accounts: sign-up, login, rotating refresh tokens, logout, password reset, API keys."""

from __future__ import annotations

import asyncio

import jwt

from api.auth.mail import ConsoleMailer
from tests.api.conftest import PASSWORD, Api, set_plan


async def test_register_login_and_me(api: Api) -> None:
    caller = await api.register("Ada@Example.com")
    r = await api.client.get("/v1/me", headers=caller.headers)
    assert r.status_code == 200
    me = r.json()
    assert me["email"] == "ada@example.com"
    assert me["credits"] == api.settings.starting_credits
    r = await api.client.post(
        "/v1/auth/login", json={"email": "ada@example.com", "password": PASSWORD}
    )
    assert r.status_code == 200 and r.json()["user"]["id"] == caller.id


async def test_register_refuses_duplicates_weak_passwords_and_bad_emails(api: Api) -> None:
    await api.register("bob@example.com")
    r = await api.client.post(
        "/v1/auth/register", json={"email": "BOB@example.com", "password": PASSWORD}
    )
    assert r.status_code == 409 and r.json()["error"]["code"] == "email_taken"
    r = await api.client.post("/v1/auth/register", json={"email": "c@example.com", "password": "x"})
    assert r.status_code == 422 and "at least 8" in r.json()["error"]["message"]
    r = await api.client.post("/v1/auth/register", json={"email": "nope", "password": PASSWORD})
    assert r.status_code == 422 and "not an email" in r.json()["error"]["message"]


async def test_wrong_password_and_missing_token_are_401(api: Api) -> None:
    await api.register("eve@example.com")
    r = await api.client.post("/v1/auth/login", json={"email": "eve@example.com", "password": "x"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_credentials"
    r = await api.client.get("/v1/me")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = await api.client.get("/v1/me", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"


async def test_expired_and_forged_access_tokens_are_refused(api: Api) -> None:
    caller = await api.register()
    key = api.settings.signing_key()
    expired = jwt.encode(
        {"sub": caller.id, "typ": "access", "iat": 0, "exp": 1}, key, algorithm="HS256"
    )
    r = await api.client.get("/v1/me", headers={"Authorization": f"Bearer {expired}"})
    assert r.json()["error"]["code"] == "token_expired"
    forged = jwt.encode(
        {"sub": caller.id, "typ": "access", "iat": 0, "exp": 2**31}, "a guessed key " * 4, "HS256"
    )
    r = await api.client.get("/v1/me", headers={"Authorization": f"Bearer {forged}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_token"


async def test_refresh_rotates_and_a_reused_token_revokes_the_family(api: Api) -> None:
    caller = await api.register()
    first = caller.refresh_token
    r = await api.client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert r.status_code == 200
    second = r.json()["refresh_token"]
    assert second != first
    # The first token presented again: someone else has it. Both chains die.
    r = await api.client.post("/v1/auth/refresh", json={"refresh_token": first})
    assert r.status_code == 401 and "already used" in r.json()["error"]["message"]
    r = await api.client.post("/v1/auth/refresh", json={"refresh_token": second})
    assert r.status_code == 401


async def test_logout_revokes_the_refresh_token(api: Api) -> None:
    caller = await api.register()
    r = await api.client.post("/v1/auth/logout", json={"refresh_token": caller.refresh_token})
    assert r.status_code == 204
    r = await api.client.post("/v1/auth/refresh", json={"refresh_token": caller.refresh_token})
    assert r.status_code == 401


async def test_password_reset_by_emailed_token(api: Api) -> None:
    caller = await api.register("reset@example.com")
    mailer = api.app.state.mailer
    assert isinstance(mailer, ConsoleMailer)
    r = await api.client.post("/v1/auth/password-reset", json={"email": "nobody@example.com"})
    same = r.json()
    assert r.status_code == 202 and not mailer.outbox  # no mail, and no hint that none went
    r = await api.client.post("/v1/auth/password-reset", json={"email": "reset@example.com"})
    assert r.status_code == 202 and r.json() == same
    mail = mailer.outbox[-1]
    assert mail.to == "reset@example.com"
    token = mail.body.split("Reset token: ")[1].split()[0]
    assert f"reset-password?token={token}" in mail.body
    new = "a much better passphrase"
    r = await api.client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "password": new}
    )
    assert r.status_code == 204
    # Used once only; the old password and the old sessions stop working.
    r = await api.client.post(
        "/v1/auth/password-reset/confirm", json={"token": token, "password": new}
    )
    assert r.status_code == 422
    r = await api.client.post("/v1/auth/refresh", json={"refresh_token": caller.refresh_token})
    assert r.status_code == 401
    r = await api.client.get("/v1/me", headers=caller.headers)
    assert r.status_code == 401 and "password changed" in r.json()["error"]["message"]
    r = await api.client.post(
        "/v1/auth/login", json={"email": "reset@example.com", "password": PASSWORD}
    )
    assert r.status_code == 401
    r = await api.client.post(
        "/v1/auth/login", json={"email": "reset@example.com", "password": new}
    )
    assert r.status_code == 200


async def test_api_keys_are_shown_once_work_and_can_be_revoked(api: Api) -> None:
    caller = await api.register()
    await set_plan(api, caller.id, "business")
    r = await api.client.post("/v1/api-keys", json={"name": "ci"}, headers=caller.headers)
    assert r.status_code == 201
    created = r.json()
    key = created["key"]
    assert key.startswith("sk_") and created["prefix"] == key[:10]
    listed = (await api.client.get("/v1/api-keys", headers=caller.headers)).json()
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0]
    r = await api.client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 200 and r.json()["id"] == caller.id
    r = await api.client.get("/v1/me", headers={"X-API-Key": key})
    assert r.status_code == 200
    r = await api.client.delete(f"/v1/api-keys/{created['id']}", headers=caller.headers)
    assert r.status_code == 204
    r = await api.client.get("/v1/me", headers={"Authorization": f"Bearer {key}"})
    assert r.status_code == 401 and r.json()["error"]["code"] == "invalid_api_key"


async def test_racing_sign_ups_with_one_email_get_one_account(api_on: Api) -> None:
    body = {"email": "twins@example.com", "password": PASSWORD}
    answers = await asyncio.gather(
        *(api_on.client.post("/v1/auth/register", json=body) for _ in range(4))
    )
    codes = sorted(r.status_code for r in answers)
    assert codes == [201, 409, 409, 409], [r.text for r in answers]


async def test_tokens_in_urls_only_for_event_streams_and_never_api_keys(api: Api) -> None:
    caller = await api.register()
    token = caller.access_token
    # An ordinary route ignores a token in the query string.
    r = await api.client.get("/v1/me", params={"access_token": token})
    assert r.status_code == 401
    await set_plan(api, caller.id, "business")
    key = (await api.client.post("/v1/api-keys", json={}, headers=caller.headers)).json()["key"]
    r = await api.client.get("/v1/jobs/job_x/events", params={"access_token": key})
    assert r.status_code == 401 and r.json()["error"]["code"] == "key_in_url"
    r = await api.client.get("/v1/jobs/job_x/events", params={"access_token": token})
    assert r.status_code == 404  # authenticated; the job just does not exist


async def test_api_keys_come_with_the_business_plan(api: Api) -> None:
    caller = await api.register()
    r = await api.client.post("/v1/api-keys", json={"name": "ci"}, headers=caller.headers)
    assert r.status_code == 403
    error = r.json()["error"]
    assert error["code"] == "plan_required"
    assert error["message"] == "API keys come with the Business plan; this account is on Free"
    assert (await api.client.get("/v1/api-keys", headers=caller.headers)).json() == []
    await set_plan(api, caller.id, "pro")
    r = await api.client.post("/v1/api-keys", json={"name": "ci"}, headers=caller.headers)
    assert r.status_code == 403 and "this account is on Pro" in r.json()["error"]["message"]


async def test_a_key_stops_working_on_a_downgrade_and_works_again_after_upgrading(
    api: Api,
) -> None:
    caller = await api.register()
    await set_plan(api, caller.id, "business")
    created = await api.client.post("/v1/api-keys", json={}, headers=caller.headers)
    key = {"Authorization": f"Bearer {created.json()['key']}"}
    assert (await api.client.get("/v1/me", headers=key)).status_code == 200
    await set_plan(api, caller.id, "starter")
    r = await api.client.get("/v1/me", headers=key)
    assert r.status_code == 403 and r.json()["error"]["code"] == "plan_required"
    assert "this account is on Starter" in r.json()["error"]["message"]
    # The account itself still works, and can still see and revoke its keys.
    listed = await api.client.get("/v1/api-keys", headers=caller.headers)
    assert [k["id"] for k in listed.json()] == [created.json()["id"]]
    await set_plan(api, caller.id, "business")
    r = await api.client.get("/v1/me", headers=key)
    assert r.status_code == 200 and r.json()["id"] == caller.id
