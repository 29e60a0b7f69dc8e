"""A local Telegram Bot API for the bot tests: the real python-telegram-bot talks to it over HTTP.

Point PTB at it with `base_url=fake.base_url, base_file_url=fake.base_file_url`. Only the
methods the bot uses are implemented, and strictly: unknown parameters, Telegram's limits, bad
HTML, stale callback queries and unmodified edits get the Bot API's own errors, so a wrong call
fails here the way it would at Telegram. Simulated people (`fake.user()`) push updates, which
the bot receives by long polling or, once a webhook is set, as POSTs to it. Tests watch the
chats (`chat`, `last`, `buttons`, `wait_for`, `calls`) and inject faults (`flood`, `block`,
`fail`).

The server runs on a thread with its own event loop while the bot runs in the test's loop,
which is why `wait_for` polls with `asyncio.sleep`. One lock guards all state. Messages are
live objects: an edit by the bot shows through a FakeMessage a test already holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import re
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from typing import Any, TypeVar

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tests.bots.fake_telegram_types import (
    CHAT_ACTIONS,
    GET_FILE_LIMIT,
    JSON,
    NOT_MODIFIED,
    OPT_IN_UPDATES,
    PARAMS,
    Call,
    DroppedConnection,
    FakeMessage,
    FakeUser,
    QuietDrops,
    StoredFile,
    TelegramError,
    Upload,
    WebhookDelivery,
    bad_request,
    buttons_of,
    check_commands,
    check_markup,
    check_webhook,
    content,
    parse_params,
    photo_sizes,
    read_request,
)

T = TypeVar("T")
DEFAULT_TOKEN = "123456:TEST-skyie-fake-telegram-token"
MiB = 1024 * 1024
FOREVER = sys.maxsize  # fail(times=None): a count that never runs out
UNAUTHORIZED = TelegramError(401, "Unauthorized")
NOT_FOUND = TelegramError(404, "Not Found")


class FakeTelegram:
    """The Bot API of one bot, its private chats, and a uvicorn server answering for it."""

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        bot_username: str = "skyie_test_bot",
        upload_limit_bytes: int = 50 * MiB,
    ) -> None:
        self.token, self.bot_username = token, bot_username
        self.upload_limit_bytes = upload_limit_bytes
        self.webhook_retry_delay = 0.2  # seconds before a failed webhook POST is tried again
        self.calls: list[Call] = []
        self.webhook_deliveries: list[WebhookDelivery] = []
        self.bot: JSON = {
            "id": int(token.split(":")[0]),
            "is_bot": True,
            "first_name": "Skyie Studio",
            "username": bot_username,
        }
        self._lock = threading.RLock()
        self._users: dict[int, FakeUser] = {}
        # Random, not counted from 1: ids land in unique columns of a database many tests share.
        self._first_user_id = random.randrange(10**9, 7 * 10**9, 1000)
        self._started: set[int] = set()  # people who wrote first: the bot may write to them
        self._blocked: set[int] = set()
        self._messages: dict[int, list[FakeMessage]] = {}  # chat id → every message, in order
        self._files: dict[str, StoredFile] = {}  # by file_id
        self._queries: dict[str, bool] = {}  # callback query id → answered
        self._updates: list[JSON] = []  # not yet confirmed by getUpdates or the webhook
        self._next_update_id = 500_000
        self._allowed: list[str] = []
        self._webhook: JSON | None = None
        self._commands: dict[str, list[JSON]] = {}
        self._floods: dict[str, list[int]] = {}  # method → [calls left, retry_after]
        self._failures: dict[str, int] = {}
        self._polls = 0  # the newest getUpdates wins; an older one still waiting gets 409
        self._closing = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._news = asyncio.Event()  # set on the server's loop whenever updates may be ready
        self._methods: dict[str, Callable[[JSON], Any]] = {
            "getMe": lambda args: {**self.bot, "can_join_groups": True,
                                   "can_read_all_group_messages": False,
                                   "supports_inline_queries": False},
            "setWebhook": self._set_webhook,
            "deleteWebhook": self._delete_webhook,
            "getWebhookInfo": self._get_webhook_info,
            "sendMessage": self._send_message,
            "sendPhoto": lambda args: self._send_media("photo", args),
            "sendVideo": lambda args: self._send_media("video", args),
            "sendDocument": lambda args: self._send_media("document", args),
            "editMessageText": lambda args: self._edit(args, "text"),
            "editMessageCaption": lambda args: self._edit(args, "caption"),
            "editMessageReplyMarkup": lambda args: self._edit(args, None),
            "deleteMessage": self._delete_message,
            "answerCallbackQuery": self._answer_callback_query,
            "sendChatAction": self._send_chat_action,
            "getFile": self._get_file,
            "setMyCommands": self._set_my_commands,
            "getMyCommands": lambda args: self._commands.get(_commands_key(args), []),
        }  # fmt: skip
        self._names = {name.lower(): name for name in PARAMS}  # Telegram ignores their case
        app = Starlette(
            routes=[
                Route("/bot{token}/{method}", self._api, methods=["GET", "POST"]),
                Route("/file/bot{token}/{path:path}", self._download, methods=["GET"]),
            ]
        )
        config = uvicorn.Config(
            app, host="127.0.0.1", port=0, log_level="warning", access_log=False,
            lifespan="off", timeout_graceful_shutdown=2,
        )  # fmt: skip
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._run, name="fake-telegram", daemon=True)
        self._quiet = QuietDrops()

    # -- the server --------------------------------------------------------------------------

    def __enter__(self) -> FakeTelegram:
        logging.getLogger("uvicorn.error").addFilter(self._quiet)
        self._thread.start()
        while not self._server.started:
            if not self._thread.is_alive():
                raise RuntimeError("the fake Telegram server failed to start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self._closing = True  # long polls answer at once instead of holding the shutdown
        self._wake()
        self._server.should_exit = True
        self._thread.join(timeout=15)
        logging.getLogger("uvicorn.error").removeFilter(self._quiet)

    def _run(self) -> None:
        asyncio.run(self._serve())

    async def _serve(self) -> None:
        self._loop = asyncio.get_running_loop()
        deliveries = asyncio.create_task(self._deliver_webhooks())
        try:
            await self._server.serve()
        finally:
            deliveries.cancel()

    @property
    def url(self) -> str:
        host, port = self._server.servers[0].sockets[0].getsockname()[:2]
        return f"http://{host}:{port}"

    @property
    def base_url(self) -> str:
        return f"{self.url}/bot"

    @property
    def base_file_url(self) -> str:
        return f"{self.url}/file/bot"

    def _wake(self) -> None:
        """Tell waiting long polls and the webhook sender that something changed."""
        if self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._news.set)

    async def _api(self, request: Request) -> Response:
        asked = request.path_params["method"]
        method = self._names.get(asked.lower(), asked)
        args: JSON = {}
        uploads: dict[str, Upload] = {}
        try:
            if request.path_params["token"] != self.token:
                raise UNAUTHORIZED
            if method not in PARAMS:
                raise NOT_FOUND
            raw, uploads = await read_request(request, self.upload_limit_bytes)
            args = dict(raw)
            with self._lock:
                if self._failures.get(method, 0) > 0:
                    self._failures[method] -= 1
                    self._record(method, args, uploads, 0, "connection dropped by fail()")
                    return DroppedConnection()
                left, retry_after = self._floods.get(method, [0, 0])
                if left > 0:
                    self._floods[method][0] -= 1
                    why = f"Too Many Requests: retry after {retry_after}"
                    raise TelegramError(429, why, retry_after)
            args = parse_params(method, raw, uploads)
            if method == "getUpdates":
                result = await self._get_updates(args)
            else:
                with self._lock:
                    result = self._methods[method](args)
        except TelegramError as error:
            self._record(method, args, uploads, error.status, error.description)
            return JSONResponse(error.body(), status_code=error.status)
        self._record(method, args, uploads, 200, None)
        return JSONResponse({"ok": True, "result": result})

    def _record(
        self, method: str, args: JSON, uploads: dict[str, Upload], status: int, why: str | None
    ) -> None:
        files = {name: upload.file_name for name, upload in uploads.items()}
        with self._lock:
            self.calls.append(Call(method, args, files, status, why))

    async def _download(self, request: Request) -> Response:
        path = request.path_params["path"]
        with self._lock:
            found = next((f for f in self._files.values() if f.file_path == path), None)
            status = 401 if request.path_params["token"] != self.token else 200 if found else 404
            self.calls.append(Call("download", {"file_path": path}, {}, status))
        if found is None or status != 200:
            error = UNAUTHORIZED if status == 401 else NOT_FOUND
            return JSONResponse(error.body(), status_code=error.status)
        return Response(found.data, media_type=found.mime_type or "application/octet-stream")

    # -- updates: long polling and webhooks --------------------------------------------------

    async def _get_updates(self, args: JSON) -> list[JSON]:
        with self._lock:
            if self._webhook:
                raise TelegramError(
                    409,
                    "Conflict: can't use getUpdates method while webhook is active; use "
                    "deleteWebhook to delete the webhook first",
                )
            self._polls += 1
            poll = self._polls
            if "allowed_updates" in args:
                self._allowed = list(args["allowed_updates"])
            offset = args.get("offset")
            if offset is not None:  # confirming an offset forgets every earlier update
                kept = [u for u in self._updates if u["update_id"] >= offset]
                self._updates = self._updates[offset:] if offset < 0 else kept
        self._wake()  # an older poll still waiting must hear that it lost
        limit = min(max(args.get("limit", 100), 1), 100)
        deadline = time.monotonic() + max(args.get("timeout", 0), 0)
        while True:
            self._news.clear()
            with self._lock:
                if poll != self._polls:
                    raise TelegramError(
                        409,
                        "Conflict: terminated by other getUpdates request; make sure that only "
                        "one bot instance is running",
                    )
                self._updates = [u for u in self._updates if _wanted(u, self._allowed)]
                if self._updates or self._closing or time.monotonic() >= deadline:
                    return self._updates[:limit]
            left = max(deadline - time.monotonic(), 0.001)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._news.wait(), timeout=left)

    async def _deliver_webhooks(self) -> None:
        """POST queued updates to the webhook one at a time, in order; a failed one is tried
        again and meanwhile counts in getWebhookInfo's pending_update_count."""
        async with httpx.AsyncClient(timeout=10) as client:
            while True:
                await self._news.wait()
                self._news.clear()
                while (job := self._next_delivery()) is not None:
                    hook, update = job
                    secret = hook["secret_token"]
                    headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
                    status, error = None, None
                    try:
                        response = await client.post(hook["url"], json=update, headers=headers)
                        status = response.status_code
                        if not response.is_success:
                            error = f"Wrong response from the webhook: {status} "
                            error += response.reason_phrase
                    except httpx.HTTPError as exc:
                        error = f"Connection failed: {exc!r}"
                    with self._lock:
                        self.webhook_deliveries.append(
                            WebhookDelivery(update["update_id"], status, error)
                        )
                        if error is not None:
                            hook.update(last_error_date=int(time.time()), last_error_message=error)
                        elif self._updates and self._updates[0] is update:
                            self._updates.pop(0)
                    if error is not None:
                        await asyncio.sleep(self.webhook_retry_delay)

    def _next_delivery(self) -> tuple[JSON, JSON] | None:
        with self._lock:
            hook = self._webhook
            if hook is None or self._closing:
                return None
            self._updates = [u for u in self._updates if _wanted(u, hook["allowed_updates"])]
            return (hook, self._updates[0]) if self._updates else None

    def _set_webhook(self, args: JSON) -> bool:
        if args["url"] == "":
            return self._delete_webhook(args)
        check_webhook(args)
        if args.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = {
            "url": args["url"],
            "secret_token": args.get("secret_token"),
            "max_connections": args.get("max_connections", 40),
            "allowed_updates": list(args.get("allowed_updates", self._allowed)),
        }
        self._wake()
        return True

    def _delete_webhook(self, args: JSON) -> bool:
        if args.get("drop_pending_updates"):
            self._updates.clear()
        self._webhook = None
        return True

    def _get_webhook_info(self, args: JSON) -> JSON:
        hook = self._webhook or {"url": ""}
        info = {"has_custom_certificate": False, "pending_update_count": len(self._updates)}
        shown = ("url", "max_connections", "allowed_updates", "last_error_date")
        info.update({key: hook[key] for key in (*shown, "last_error_message") if hook.get(key)})
        return {"url": "", **info}

    # -- sending and editing -----------------------------------------------------------------

    def _chat(self, chat_id: int) -> FakeUser:
        user = self._users.get(chat_id)
        if user is None:
            raise bad_request("chat not found")
        if chat_id in self._blocked:
            raise TelegramError(403, "Forbidden: bot was blocked by the user")
        if chat_id not in self._started:
            raise TelegramError(403, "Forbidden: bot can't initiate conversation with a user")
        return user

    def _message(self, user: FakeUser, message_id: int, missing: str) -> FakeMessage:
        for message in self._messages.get(user.id, []):
            if message.message_id == message_id and not message.deleted:
                return message
        raise bad_request(missing)

    def _add(self, user: FakeUser, from_bot: bool, **fields: Any) -> FakeMessage:
        chat = self._messages.setdefault(user.id, [])
        message = FakeMessage(len(chat) + 1, user, int(time.time()), from_bot, **fields)
        chat.append(message)
        return message

    def _bot_message(self, user: FakeUser, args: JSON, **fields: Any) -> JSON:
        """Store what the bot sends once everything in `args` has passed Telegram's checks."""
        markup = check_markup(args["reply_markup"]) if "reply_markup" in args else None
        reply_to = None
        if "reply_parameters" in args:
            wanted = args["reply_parameters"]
            if not isinstance(wanted, dict) or not isinstance(wanted.get("message_id"), int):
                raise bad_request("can't parse reply parameters JSON object")
            try:
                reply_to = self._message(
                    user, wanted["message_id"], "message to be replied not found"
                )
            except TelegramError:
                if not wanted.get("allow_sending_without_reply"):
                    raise
        message = self._add(user, True, reply_markup=markup, reply_to=reply_to, **fields)
        return message.to_dict(self.bot)

    def _send_message(self, args: JSON) -> JSON:
        return self._bot_message(self._chat(args["chat_id"]), args, **content(args, "text"))

    def _send_media(self, kind: str, args: JSON) -> JSON:
        user = self._chat(args["chat_id"])
        shown = content(args, "caption")
        sent = args[kind]
        if isinstance(sent, str):  # a file_id of a file Telegram already has
            known = self._files.get(sent)
            if known is None:
                raise bad_request("wrong file identifier/HTTP URL specified")
            if known.kind != kind:
                raise bad_request(f"can't use file of type {known.kind.title()} as {kind.title()}")
            files = [known]
        elif not sent.data:
            raise bad_request("file must be non-empty")
        elif kind == "photo":
            files = self._photo(sent.data, strict=True)
        else:
            mime = sent.mime_type
            if kind == "video" and mime in ("", "application/octet-stream"):
                mime = "video/mp4"  # Telegram looks into the file; PTB sends bytes untyped
            dimensions = {key: args.get(key, 0) for key in ("width", "height", "duration")}
            files = [self._store(kind, sent.data, sent.file_name, mime, **dimensions)]
        return self._bot_message(user, args, media=kind, files=files, **shown)

    def _store(
        self, kind: str, data: bytes, file_name: str | None, mime: str | None, **fields: Any
    ) -> StoredFile:
        ext = {"photo": "jpg", "voice": "oga", "video": "mp4"}.get(kind, "bin")
        if file_name and "." in file_name and kind not in ("photo", "voice"):
            ext = file_name.rsplit(".", 1)[1]
        stored = StoredFile.new(
            kind, data, len(self._files) + 1, ext, mime_type=mime, file_name=file_name, **fields
        )
        self._files[stored.file_id] = stored
        return stored

    def _photo(self, data: bytes, strict: bool) -> list[StoredFile]:
        """A small size and the original. Bytes that are no image fail the bot's upload, as
        at Telegram; a test's placeholder bytes are kept as they are, at nominal sizes."""
        sizes = photo_sizes(data)
        if sizes is None and strict:
            raise bad_request("IMAGE_PROCESS_FAILED")
        return [
            self._store("photo", blob, None, "image/jpeg", width=width, height=height)
            for blob, width, height in sizes or [(data, 90, 90), (data, 800, 800)]
        ]

    def _edit(self, args: JSON, field: str | None) -> JSON:
        """editMessageText (field "text"), editMessageCaption ("caption") or
        editMessageReplyMarkup (None). Leaving reply_markup out removes the keyboard."""
        if "inline_message_id" in args:
            raise bad_request("MESSAGE_ID_INVALID")  # the fake sends no inline messages
        if "chat_id" not in args or "message_id" not in args:
            raise bad_request("message identifier is not specified")
        user = self._chat(args["chat_id"])
        message = self._message(user, args["message_id"], "message to edit not found")
        if not message.from_bot:
            raise bad_request("message can't be edited")
        if field == "text" and message.text is None:
            raise bad_request("there is no text in the message to edit")
        if field == "caption" and message.media is None:
            raise bad_request("there is no caption in the message to edit")
        changes = content(args, field) if field else {}
        markup = check_markup(args["reply_markup"]) if "reply_markup" in args else None
        before = message.state()
        after = {**before, **changes, "reply_markup": markup}
        if {**after, "parse_mode": None} == {**before, "parse_mode": None}:
            raise bad_request(NOT_MODIFIED)
        message.history.append(before)
        for name, value in after.items():
            setattr(message, name, value)
        message.edit_date = int(time.time())
        return message.to_dict(self.bot)

    def _delete_message(self, args: JSON) -> bool:
        user = self._chat(args["chat_id"])
        self._message(user, args["message_id"], "message to delete not found").deleted = True
        return True

    def _answer_callback_query(self, args: JSON) -> bool:
        query_id = args["callback_query_id"]
        if self._queries.get(query_id, True):
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        if len(args.get("text", "")) > 200:
            raise bad_request("MESSAGE_TOO_LONG")
        self._queries[query_id] = True
        return True

    def _send_chat_action(self, args: JSON) -> bool:
        self._chat(args["chat_id"])
        if args["action"] not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _get_file(self, args: JSON) -> JSON:
        stored = self._files.get(args["file_id"])
        if stored is None:
            raise bad_request("wrong file_id or the file is temporarily unavailable")
        if len(stored.data) > GET_FILE_LIMIT:
            raise bad_request("file is too big")
        info = stored.to_dict()
        keys = ("file_id", "file_unique_id", "file_size")
        return {**{key: info[key] for key in keys}, "file_path": stored.file_path}

    def _set_my_commands(self, args: JSON) -> bool:
        self._commands[_commands_key(args)] = check_commands(args["commands"])
        return True

    # -- the people, driven by the tests -----------------------------------------------------

    def user(
        self, first_name: str = "Ada", username: str | None = None, language_code: str | None = "en"
    ) -> FakeUser:
        """A new person who can write to the bot; the bot cannot write to them first."""
        with self._lock:
            person = FakeUser(
                self._first_user_id + len(self._users), first_name, username, language_code
            )
            self._users[person.id] = person
            return person

    def send_text(self, user: FakeUser, text: str) -> FakeMessage:
        """The person sends `text`; a leading /command gets its bot_command entity."""
        command = re.match(r"/[A-Za-z0-9_]{1,32}(@\w+)?", text)
        entities = (
            [{"type": "bot_command", "offset": 0, "length": command.end()}] if command else []
        )
        return self._user_message(user, text=text, entities=entities)

    def reply(self, user: FakeUser, message: FakeMessage, text: str) -> FakeMessage:
        """The person answers `message` with Telegram's reply feature."""
        if message.chat.id != user.id:
            raise ValueError(f"message #{message.message_id} is not in {user.first_name}'s chat")
        return self._user_message(user, text=text, reply_to=message)

    def send_photo(self, user: FakeUser, data: bytes, caption: str | None = None) -> FakeMessage:
        with self._lock:
            sizes = self._photo(data, strict=False)
        return self._user_message(user, media="photo", files=sizes, caption=caption)

    def send_voice(
        self, user: FakeUser, data: bytes, duration: int, mime_type: str = "audio/ogg"
    ) -> FakeMessage:
        return self._user_file(user, "voice", data, None, mime_type, duration=duration)

    def send_audio(
        self, user: FakeUser, data: bytes, file_name: str, mime_type: str, duration: int = 0
    ) -> FakeMessage:
        return self._user_file(user, "audio", data, file_name, mime_type, duration=duration)

    def send_document(
        self, user: FakeUser, data: bytes, file_name: str, mime_type: str
    ) -> FakeMessage:
        return self._user_file(user, "document", data, file_name, mime_type)

    def _user_file(
        self, user: FakeUser, kind: str, data: bytes, name: str | None, mime: str, **fields: Any
    ) -> FakeMessage:
        with self._lock:
            stored = self._store(kind, data, name, mime, **fields)
            return self._user_message(user, media=kind, files=[stored])

    def press(self, user: FakeUser, message: FakeMessage, data: str) -> str:
        """The person presses the callback button `data` under one of the bot's messages;
        returns the callback query's id. A button that is not there is a bug in the test."""
        with self._lock:
            if message.chat.id != user.id or not message.from_bot or message.deleted:
                raise ValueError(f"{user.first_name} sees no bot message #{message.message_id}")
            rows = (message.reply_markup or {}).get("inline_keyboard", [])
            datas = [button.get("callback_data") for row in rows for button in row]
            if data not in datas:
                raise ValueError(f"message #{message.message_id} has no button {data!r}: {datas}")
            query_id = str(uuid.uuid4().int)[:19]
            self._queries[query_id] = False
            query = {"id": query_id, "from": user.to_dict(), "message": message.to_dict(self.bot),
                     "chat_instance": str(user.id * 7919), "data": data}  # fmt: skip
            self._push(user, "callback_query", query)
            return query_id

    def block(self, user: FakeUser) -> None:
        """The person blocks the bot: everything sent to them fails with 403 until `unblock`.
        Telegram tells the bot with a my_chat_member update, and so does the fake."""
        with self._lock:
            self._blocked.add(user.id)
            self._member_update(user, "member", "kicked")

    def unblock(self, user: FakeUser) -> None:
        with self._lock:
            self._blocked.discard(user.id)
            self._member_update(user, "kicked", "member")

    def _member_update(self, user: FakeUser, old: str, new: str) -> None:
        def member(status: str) -> JSON:  # a kicked member always says until when
            return {"user": self.bot, "status": status} | (
                {"until_date": 0} if status == "kicked" else {}
            )

        change = {"chat": user.chat(), "from": user.to_dict(), "date": int(time.time()),
                  "old_chat_member": member(old), "new_chat_member": member(new)}  # fmt: skip
        self._push(user, "my_chat_member", change)

    def _user_message(self, user: FakeUser, **fields: Any) -> FakeMessage:
        with self._lock:
            if user.id in self._blocked:
                raise ValueError(f"{user.first_name} blocked the bot; call unblock() first")
            message = self._add(user, False, **fields)
            self._push(user, "message", message.to_dict(self.bot))
            return message

    def _push(self, user: FakeUser, kind: str, payload: JSON) -> None:
        if self._users.get(user.id) != user:
            raise ValueError(f"{user} was not made by this fake's user()")
        self._started.add(user.id)
        self._updates.append({"update_id": self._next_update_id, kind: payload})
        self._next_update_id += 1
        self._wake()

    # -- watching, for the tests -------------------------------------------------------------

    def chat(self, user: FakeUser) -> list[FakeMessage]:
        """The bot's messages to `user` that are not deleted, oldest first."""
        with self._lock:
            return [m for m in self._messages.get(user.id, []) if m.from_bot and not m.deleted]

    def last(self, user: FakeUser) -> FakeMessage | None:
        messages = self.chat(user)
        return messages[-1] if messages else None

    def buttons(self, message: FakeMessage) -> list[list[tuple[str, str | None]]]:
        """Rows of (text, callback_data or url) under `message`."""
        with self._lock:
            return buttons_of(message.reply_markup)

    def transcript(self) -> str:
        """Every chat, both sides, and the calls Telegram refused: shown when a wait fails."""
        with self._lock:
            lines: list[str] = []
            for chat_id, messages in self._messages.items():
                lines.append(f"chat with {self._users[chat_id].first_name} ({chat_id}):")
                lines += [f"  {message}" for message in messages]
            refused = [call for call in self.calls if call.status != 200][-10:]
            lines += ["refused calls:"] if refused else []
            lines += [f"  {call.method} → {call.status} {call.description}" for call in refused]
            return "\n".join(lines) or "(no messages, no refused calls)"

    async def wait_for(self, predicate: Callable[[], T | None], timeout: float = 20) -> T:
        """Poll `predicate` until it is truthy and return its value. A LookupError or an
        AttributeError from it (the message is not there yet) counts as not yet."""
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while True:
            try:
                result = predicate()
                if result:
                    return result
            except (LookupError, AttributeError) as error:
                last_error = error
            if time.monotonic() >= deadline:
                why = f" (last error: {last_error!r})" if last_error else ""
                raise AssertionError(
                    f"waited {timeout}s and the condition never held{why}\n{self.transcript()}"
                )
            await asyncio.sleep(0.02)

    # -- faults ------------------------------------------------------------------------------

    def flood(self, method: str, times: int = 1, retry_after: int = 1) -> None:
        """The next `times` calls of `method` answer 429 with parameters.retry_after."""
        with self._lock:
            self._floods[_known_method(method)] = [times, retry_after]

    def fail(self, method: str, times: int | None = 1) -> None:
        """The next `times` calls of `method` lose their connection before the answer;
        `times=None`: every call does, until `heal` (Telegram out of reach)."""
        with self._lock:
            self._failures[_known_method(method)] = FOREVER if times is None else times

    def heal(self, method: str) -> None:
        """Calls of `method` are answered again."""
        with self._lock:
            self._failures.pop(_known_method(method), None)


def _wanted(update: JSON, allowed: list[str]) -> bool:
    kind = next(key for key in update if key != "update_id")
    return kind in allowed if allowed else kind not in OPT_IN_UPDATES


def _known_method(method: str) -> str:
    if method not in PARAMS:
        raise ValueError(f"the fake Telegram has no method {method!r}; it knows {sorted(PARAMS)}")
    return method


def _commands_key(args: JSON) -> str:
    return json.dumps([args.get("scope") or {"type": "default"}, args.get("language_code", "")])


@pytest.fixture
def fake_telegram() -> Iterator[FakeTelegram]:
    """A fresh fake Telegram served on a free port for one test."""
    with FakeTelegram() as fake:
        yield fake
