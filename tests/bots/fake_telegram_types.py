"""The fake Telegram's data (users, files, messages) and the checks Telegram makes on calls."""

from __future__ import annotations

import html
import io
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from PIL import Image, UnidentifiedImageError
from starlette.datastructures import UploadFile
from starlette.requests import Request
from starlette.responses import Response
from starlette.types import Receive, Scope, Send

JSON = dict[str, Any]

TEXT_LIMIT = 4096  # characters after entity parsing, counted in UTF-16 units as Telegram does
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
GET_FILE_LIMIT = 20 * 1024 * 1024  # getFile refuses bigger files; bots must not download them
NOT_MODIFIED = (
    "message is not modified: specified new message content and reply markup are exactly the "
    "same as a current content and reply markup of the message"
)
CHAT_ACTIONS = {
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
}  # fmt: skip
# Without allowed_updates Telegram sends every kind but these three.
OPT_IN_UPDATES = {"chat_member", "message_reaction", "message_reaction_count"}


class TelegramError(Exception):
    """A Bot API error, answered with Telegram's status and body so PTB raises its own error."""

    def __init__(self, status: int, description: str, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.retry_after = status, description, retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(reason: str) -> TelegramError:
    return TelegramError(400, f"Bad Request: {reason}")


# -- the wire --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Upload:
    """A file part of a multipart request."""

    file_name: str
    data: bytes
    mime_type: str


async def read_request(request: Request, limit: int) -> tuple[dict[str, str], dict[str, Upload]]:
    """The parameters of a call, sent in the query, as a form, multipart or JSON, and its
    files; nested objects stay JSON strings, as the form encodings carry them."""
    body = await request.body()
    if len(body) > limit:
        raise TelegramError(413, "Request Entity Too Large")
    raw = dict(request.query_params)
    uploads: dict[str, Upload] = {}
    content_type = request.headers.get("content-type", "")
    if content_type.startswith("application/json") and body:
        try:
            loaded = json.loads(body)
        except ValueError:
            raise bad_request("can't parse JSON object") from None
        raw.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in loaded.items()})
    elif content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
        async with request.form() as form:
            for name, value in form.multi_items():
                if isinstance(value, UploadFile):
                    data, mime = await value.read(), value.content_type or ""
                    uploads[name] = Upload(value.filename or name, data, mime)
                else:
                    raw[name] = value
    return raw, uploads


class DroppedConnection(Response):
    """Headers promising a body that never comes: uvicorn then closes the connection, and the
    client sees a network error, as when Telegram's side of the connection goes away."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        headers = [(b"content-type", b"application/json"), (b"content-length", b"64")]
        await send({"type": "http.response.start", "status": 200, "headers": headers})


class QuietDrops(logging.Filter):
    """Keeps uvicorn's complaint about each dropped connection out of the test logs."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != "ASGI callable returned without completing response."


# -- parameters ------------------------------------------------------------------------------

# What each method accepts, from the Bot API 9 reference: "name:kind", kind str when left out,
# "!" when required. The real API ignores unknown parameters; the fake refuses them so that a
# misspelt option fails the test instead.
_SEND = (
    "business_connection_id chat_id:chat! message_thread_id:int direct_messages_topic_id:int "
    "disable_notification:bool protect_content:bool allow_paid_broadcast:bool message_effect_id "
    "suggested_post_parameters:json reply_parameters:json reply_markup:json"
)
_CAPTION = "caption parse_mode caption_entities:json show_caption_above_media:bool"
_EDIT = "business_connection_id chat_id:chat message_id:int inline_message_id reply_markup:json"
_TEXT = "text! parse_mode entities:json link_preview_options:json"
_COMMANDS = "scope:json language_code"
_METHODS = {
    "getMe": "",
    "getUpdates": "offset:int limit:int timeout:int allowed_updates:json",
    "setWebhook": "url! certificate:file ip_address max_connections:int allowed_updates:json "
    "drop_pending_updates:bool secret_token",
    "deleteWebhook": "drop_pending_updates:bool",
    "getWebhookInfo": "",
    "sendMessage": f"{_SEND} {_TEXT}",
    "sendPhoto": f"{_SEND} {_CAPTION} photo:file! has_spoiler:bool",
    "sendVideo": f"{_SEND} {_CAPTION} video:file! duration:int width:int height:int "
    "thumbnail:file cover:file start_timestamp:int has_spoiler:bool supports_streaming:bool",
    "sendDocument": f"{_SEND} caption parse_mode caption_entities:json document:file! "
    "thumbnail:file disable_content_type_detection:bool",
    "editMessageText": f"{_EDIT} {_TEXT}",
    "editMessageCaption": f"{_EDIT} {_CAPTION}",
    "editMessageReplyMarkup": _EDIT,
    "deleteMessage": "chat_id:chat! message_id:int!",
    "answerCallbackQuery": "callback_query_id! text show_alert:bool url cache_time:int",
    "sendChatAction": "business_connection_id chat_id:chat! message_thread_id:int action!",
    "getFile": "file_id!",
    "setMyCommands": f"commands:json! {_COMMANDS}",
    "getMyCommands": _COMMANDS,
}
PARAMS: dict[str, dict[str, str]] = {
    method: {word.rstrip("!").partition(":")[0]: word.rstrip("!").partition(":")[2] or "str"
             for word in words.split()}
    for method, words in _METHODS.items()
}  # fmt: skip
REQUIRED = {
    method: [word.rstrip("!").partition(":")[0] for word in words.split() if word.endswith("!")]
    for method, words in _METHODS.items()
}


def parse_params(method: str, raw: dict[str, str], uploads: dict[str, Upload]) -> JSON:
    """The typed parameters of one call; a file parameter becomes an Upload or a file_id str."""
    spec = PARAMS[method]
    referenced = {value.removeprefix("attach://") for value in raw.values()}
    for name in [*raw, *(name for name in uploads if name not in referenced)]:
        if name not in spec:
            raise bad_request(f'unknown parameter "{name}" for {method}')
    args: JSON = {}
    for name, value in raw.items():
        kind = spec[name]
        if kind == "file":
            attached = value.removeprefix("attach://")
            if value.startswith("attach://") and attached not in uploads:
                raise bad_request(f"file {attached} for {name} is not attached")
            args[name] = uploads.get(attached) if value.startswith("attach://") else value
        else:
            args[name] = _convert(name, kind, value)
    for name, upload in uploads.items():
        if spec.get(name) == "file":
            args[name] = upload
    for name in REQUIRED[method]:
        if name not in args or args[name] == "":
            raise bad_request("message text is empty" if name == "text" else f"{name} is empty")
    return args


def _convert(name: str, kind: str, value: str) -> Any:
    if kind == "str":
        return value
    if kind in ("int", "chat"):
        try:
            return int(value)
        except ValueError:
            if kind == "chat":  # "@username" names channels and groups, never a private chat
                raise bad_request("chat not found") from None
            raise bad_request(f'field "{name}" must be of type Integer') from None
    if kind == "bool":
        if value.lower() not in ("true", "false", "1", "0"):
            raise bad_request(f'field "{name}" must be of type Boolean')
        return value.lower() in ("true", "1")
    try:
        return json.loads(value)
    except ValueError:
        what = "reply keyboard markup" if name == "reply_markup" else name
        raise bad_request(f"can't parse {what} JSON object") from None


# -- HTML (parse_mode="HTML") ----------------------------------------------------------------

_ENTITY_TYPES = {  # the tags Telegram knows, and the entity each one makes
    "b": "bold", "strong": "bold", "i": "italic", "em": "italic", "u": "underline",
    "ins": "underline", "s": "strikethrough", "strike": "strikethrough", "del": "strikethrough",
    "a": "text_link", "code": "code", "pre": "pre", "tg-spoiler": "spoiler", "span": "spoiler",
    "blockquote": "blockquote", "tg-emoji": "custom_emoji",
}  # fmt: skip
_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}
_ENTITY = re.compile(r"&(#[0-9]+|#x[0-9a-fA-F]+|[a-zA-Z]+);")
_ATTRIBUTE = re.compile(r"""\s*([a-zA-Z][\w-]*)\s*(?:=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")


def _utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """The plain text and entities Telegram makes of `source`, or its own parse error."""
    out: list[str] = []
    length = 0  # of the output so far, in UTF-16 units
    stack: list[tuple[str, int, dict[str, str]]] = []
    entities: list[JSON] = []
    i = 0
    while i < len(source):
        char = source[i]
        if char == "<":
            offset = len(source[:i].encode())
            end = source.find(">", i)
            if end < 0:
                raise _unparsable(f"Unclosed start tag at byte offset {offset}")
            tag = source[i + 1 : end]
            if tag.startswith("/"):
                name = tag[1:].strip().lower()
                if not stack:
                    raise _unparsable(f"Unexpected end tag at byte offset {offset}")
                opened, start, attributes = stack.pop()
                if name != opened:
                    raise _unparsable(
                        f'Unmatched end tag at byte offset {offset}, expected "</{opened}>", '
                        f'found "</{name}>"'
                    )
                entity = _entity(opened, start, length - start, attributes, stack)
                if entity:
                    entities.append(entity)
            else:
                name = re.split(r"[^a-zA-Z0-9-]", tag, maxsplit=1)[0].lower()
                if name not in _ENTITY_TYPES:
                    raise _unparsable(f'Unsupported start tag "{name}" at byte offset {offset}')
                attributes = {
                    match[1].lower(): match[2] or match[3] or match[4] or ""
                    for match in _ATTRIBUTE.finditer(tag[len(name) :].rstrip("/"))
                }
                if name == "span" and attributes.get("class") != "tg-spoiler":
                    raise _unparsable(
                        f'Tag "span" must have class "tg-spoiler" at byte offset {offset}'
                    )
                stack.append((name, length, attributes))
            i = end + 1
            continue
        match = _ENTITY.match(source, i)
        decoded = _decode_entity(match[1]) if char == "&" and match else None
        text = decoded if decoded is not None else char
        i = match.end() if decoded is not None and match else i + 1
        out.append(text)
        length += _utf16(text)
    if stack:
        raise _unparsable(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(out), entities


def _decode_entity(name: str) -> str | None:
    """Known entities decode; anything else after & stays literal text, as in TDLib."""
    if name.startswith("#"):
        code = int(name[2:], 16) if name[1:2] in "xX" else int(name[1:])
        return chr(code) if 0 < code < 0x110000 else None
    return _NAMED.get(name)


def _entity(
    tag: str,
    offset: int,
    length: int,
    attributes: dict[str, str],
    stack: list[tuple[str, int, dict[str, str]]],
) -> JSON | None:
    language = attributes.get("class", "")
    inside_pre = tag == "code" and stack and stack[-1][0] == "pre"
    if inside_pre and language.startswith("language-"):  # <pre><code class=…> is one entity
        stack[-1][2]["language"] = language.removeprefix("language-")
        return None
    if length == 0:
        return None
    entity: JSON = {"type": _ENTITY_TYPES[tag], "offset": offset, "length": length}
    if tag == "a":
        if "href" not in attributes:
            return None
        entity["url"] = html.unescape(attributes["href"])
    elif tag == "pre" and "language" in attributes:
        entity["language"] = attributes["language"]
    elif tag == "blockquote" and "expandable" in attributes:
        entity["type"] = "expandable_blockquote"
    elif tag == "tg-emoji":
        entity["custom_emoji_id"] = attributes.get("emoji-id", "")
    return entity


def _unparsable(reason: str) -> TelegramError:
    return bad_request(f"can't parse entities: {reason}")


def content(args: JSON, field: str) -> JSON:
    """The text or caption in `args` as the person sees it, with its entities and parse_mode;
    Telegram's limits are checked here."""
    entities_key = "entities" if field == "text" else "caption_entities"
    if field not in args:
        return {field: None, entities_key: [], "parse_mode": None}
    shown, mode = args[field], args.get("parse_mode")
    if (mode or "").lower() == "html":
        shown, entities = parse_html(shown)
    elif mode:  # the Markdown dialects are not modelled: no test may pass on unchecked markup
        raise bad_request(f"unsupported parse_mode {mode!r} (the fake parses only HTML)")
    else:
        entities = []
    if field == "text" and not shown.strip():
        raise bad_request("message text is empty")
    if _utf16(shown) > (TEXT_LIMIT if field == "text" else CAPTION_LIMIT):
        raise bad_request(
            "message is too long" if field == "text" else "message caption is too long"
        )
    return {field: shown, entities_key: args.get(entities_key, entities), "parse_mode": mode}


# -- keyboards -------------------------------------------------------------------------------

_BUTTON_ACTIONS = [
    "url", "callback_data", "web_app", "login_url", "switch_inline_query",
    "switch_inline_query_current_chat", "switch_inline_query_chosen_chat", "copy_text",
    "callback_game", "pay",
]  # fmt: skip


def check_markup(markup: Any) -> JSON:
    """A reply_markup as Telegram accepts it, or its error."""
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" in markup:
        rows = markup["inline_keyboard"]
        if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
            raise bad_request("can't parse inline keyboard button: InlineKeyboardButton must be")
        for button in (button for row in rows for button in row):
            _check_inline_button(button)
        if sum(len(row) for row in rows) > 100:
            raise bad_request("reply markup is too long")
        return markup
    if "keyboard" in markup and isinstance(markup["keyboard"], list):
        return markup
    if markup.get("remove_keyboard") is True or markup.get("force_reply") is True:
        return markup
    raise bad_request("can't parse reply keyboard markup JSON object")


def _check_inline_button(button: Any) -> None:
    if not isinstance(button, dict) or not isinstance(button.get("text"), str):
        raise bad_request("can't parse inline keyboard button: Text must be a String")
    actions = [name for name in _BUTTON_ACTIONS if name in button]
    if len(actions) != 1:
        raise bad_request("text buttons are unallowed in the inline keyboard")
    if "callback_data" in button:
        data = button["callback_data"]
        if not isinstance(data, str) or not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
            raise bad_request("BUTTON_DATA_INVALID")
    if "url" in button:
        url = str(button["url"])
        parts = urlsplit(url)
        # Telegram wants a public-looking host: "localhost" or "testserver" are refused.
        if parts.scheme not in ("http", "https", "tg") or (
            parts.scheme != "tg" and "." not in (parts.hostname or "")
        ):
            raise bad_request(f"inline keyboard button URL '{url}' is invalid: Wrong HTTP URL")


def buttons_of(markup: JSON | None) -> list[list[tuple[str, str | None]]]:
    """Rows of (text, callback_data or url); a reply keyboard's buttons have None."""
    if not markup:
        return []
    if "inline_keyboard" in markup:
        return [
            [(button["text"], button.get("callback_data", button.get("url"))) for button in row]
            for row in markup["inline_keyboard"]
        ]
    return [
        [(button if isinstance(button, str) else button["text"], None) for button in row]
        for row in markup.get("keyboard", [])
    ]


def check_commands(commands: Any) -> list[JSON]:
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad_request("can't parse commands JSON object")
    for command in commands:
        name = command.get("command") if isinstance(command, dict) else None
        if not isinstance(name, str) or not re.fullmatch(r"[a-z0-9_]{1,32}", name):
            raise bad_request("BOT_COMMAND_INVALID")
        if not 1 <= len(str(command.get("description", "")).strip()) <= 256:
            raise bad_request(f"command description of /{name} must be 1-256 characters")
    return [{"command": c["command"], "description": c["description"]} for c in commands]


def check_webhook(args: JSON) -> None:
    parts = urlsplit(args["url"])
    # Telegram wants HTTPS; plain HTTP is let through on the loopback so tests can serve one.
    if parts.scheme != "https" and not (
        parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost")
    ):
        raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
    secret = args.get("secret_token")
    if secret is not None and not re.fullmatch(r"[A-Za-z0-9_-]{1,256}", secret):
        raise bad_request("secret token contains unallowed characters")
    if not 1 <= args.get("max_connections", 40) <= 100:
        raise bad_request("bad webhook: max_connections must be between 1 and 100")


# -- people, files, messages -----------------------------------------------------------------


@dataclass(frozen=True)
class FakeUser:
    """A simulated person; their private chat with the bot has their id."""

    id: int
    first_name: str
    username: str | None = None
    language_code: str | None = "en"

    def to_dict(self) -> JSON:
        user: JSON = {"id": self.id, "is_bot": False, "first_name": self.first_name}
        if self.username:
            user["username"] = self.username
        if self.language_code:
            user["language_code"] = self.language_code
        return user

    def chat(self) -> JSON:
        chat: JSON = {"id": self.id, "type": "private", "first_name": self.first_name}
        if self.username:
            chat["username"] = self.username
        return chat


_FILE_ID_PREFIX = {"photo": "AgAC", "video": "BAAC", "document": "BQAC", "voice": "AwAC"}
_FILE_DIRS = {"photo": "photos", "video": "videos", "document": "documents", "voice": "voice"}


@dataclass
class StoredFile:
    """A file Telegram holds: uploaded by the bot or sent by a person."""

    kind: str  # photo, video, document, voice, audio
    data: bytes
    file_path: str
    mime_type: str | None = None
    file_name: str | None = None
    width: int = 0
    height: int = 0
    duration: int = 0
    file_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    file_unique_id: str = field(default_factory=lambda: "AQAD" + uuid.uuid4().hex[:12])

    @classmethod
    def new(cls, kind: str, data: bytes, number: int, ext: str, **fields: Any) -> StoredFile:
        return cls(
            kind=kind,
            data=data,
            file_path=f"{_FILE_DIRS.get(kind, 'music')}/file_{number}.{ext}",
            file_id=_FILE_ID_PREFIX.get(kind, "CQAC") + uuid.uuid4().hex,
            **fields,
        )

    def to_dict(self) -> JSON:
        """The PhotoSize, Video, Document, Voice or Audio object."""
        info: JSON = {
            "file_id": self.file_id,
            "file_unique_id": self.file_unique_id,
            "file_size": len(self.data),
        }
        if self.kind in ("photo", "video"):
            info.update(width=self.width, height=self.height)
        if self.kind in ("video", "voice", "audio"):
            info["duration"] = self.duration
        if self.kind == "photo":
            return info
        info["mime_type"] = self.mime_type
        if self.file_name and self.kind in ("video", "document", "audio"):
            info["file_name"] = self.file_name
        return info


def photo_sizes(data: bytes) -> list[tuple[bytes, int, int]] | None:
    """A photo as Telegram keeps it: a small JPEG and the original, each with its size; None
    when `data` is not an image."""
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
            small = image.convert("RGB")
    except (UnidentifiedImageError, OSError):
        return None
    small.thumbnail((320, 320))
    buffer = io.BytesIO()
    small.save(buffer, "JPEG")
    return [(buffer.getvalue(), small.width, small.height), (data, width, height)]


@dataclass
class FakeMessage:
    """A message in a private chat, sent by the bot (`from_bot`) or by the person."""

    message_id: int
    chat: FakeUser
    date: int
    from_bot: bool
    text: str | None = None
    entities: list[JSON] = field(default_factory=list)
    caption: str | None = None
    caption_entities: list[JSON] = field(default_factory=list)
    parse_mode: str | None = None
    reply_markup: JSON | None = None
    media: str | None = None  # photo, video, document, voice, audio
    files: list[StoredFile] = field(default_factory=list)  # a photo's sizes, or the one file
    reply_to: FakeMessage | None = None
    history: list[JSON] = field(default_factory=list)  # the earlier states, oldest first
    edit_date: int | None = None
    deleted: bool = False

    @property
    def file(self) -> StoredFile | None:
        """The file (the largest size of a photo)."""
        return self.files[-1] if self.files else None

    @property
    def data(self) -> bytes | None:
        return self.file.data if self.file else None

    def state(self) -> JSON:
        """What an edit can change: two equal states make "message is not modified"."""
        return {
            "text": self.text,
            "entities": self.entities,
            "caption": self.caption,
            "caption_entities": self.caption_entities,
            "parse_mode": self.parse_mode,
            "reply_markup": self.reply_markup,
        }

    def to_dict(self, bot: JSON) -> JSON:
        message: JSON = {
            "message_id": self.message_id,
            "from": bot if self.from_bot else self.chat.to_dict(),
            "chat": self.chat.chat(),
            "date": self.date,
        }
        if self.edit_date:
            message["edit_date"] = self.edit_date
        if self.reply_to:
            replied = self.reply_to.to_dict(bot)  # Telegram nests one level only
            message["reply_to_message"] = {
                k: v for k, v in replied.items() if k != "reply_to_message"
            }
        if self.text is not None:
            message["text"] = self.text
        if self.entities:
            message["entities"] = self.entities
        if self.media == "photo":
            message["photo"] = [size.to_dict() for size in self.files]
        elif self.media and self.file:
            message[self.media] = self.file.to_dict()
        if self.caption is not None:
            message["caption"] = self.caption
        if self.caption_entities:
            message["caption_entities"] = self.caption_entities
        if self.reply_markup and "inline_keyboard" in self.reply_markup:
            message["reply_markup"] = self.reply_markup  # only inline keyboards are shown back
        return message

    def __str__(self) -> str:
        who = "bot" if self.from_bot else self.chat.first_name
        caption = f" {self.caption}" if self.caption else ""
        body = self.text if self.text is not None else f"[{self.media}]{caption}"
        keys = " | ".join(
            f"{text}({data})" for row in buttons_of(self.reply_markup) for text, data in row
        )
        gone = " (deleted)" if self.deleted else ""
        return f"#{self.message_id} {who}{gone}: {body}" + (f"  [{keys}]" if keys else "")


@dataclass(frozen=True)
class Call:
    """One request the bot made, with the status it was answered."""

    method: str
    params: JSON
    files: dict[str, str]  # parameter → uploaded file name
    status: int
    description: str | None = None


@dataclass(frozen=True)
class WebhookDelivery:
    """One POST of an update to the bot's webhook: the status it answered, or why it failed."""

    update_id: int
    status: int | None
    error: str | None = None
