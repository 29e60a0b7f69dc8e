// The Telegram section of the account page (#/billing): the chats tied to this account, untying
// one, and the one-time link that ties a new chat. A studio without a bot says so in one line.

import { ApiError } from "./api.js";
import { busy, clearError, confirmDialog, errorBox, showError } from "./studio-parts.js";
import { el, toast } from "./ui.js";

// A failed fetch names the studio, not fetch; the API's refusals keep their own words.
function explain(error) {
  if (error instanceof ApiError) return error;
  return { message: `Could not reach the studio: ${error.message || error}` };
}

function chatName(chat) {
  if (chat.first_name) return chat.first_name;
  return chat.username ? `@${chat.username}` : `Telegram user ${chat.telegram_id}`;
}

// "Works once, for 30 minutes": the minutes are counted from the expiry the API gives, so the
// line stays true if the studio changes how long links last.
function expiryLine(expiresAt) {
  const expires = new Date(expiresAt);
  const time = expires.toLocaleTimeString([], { hour: "numeric", minute: "2-digit" });
  const minutes = Math.round((expires.getTime() - Date.now()) / 60000);
  return minutes > 0
    ? `The link works once, for ${minutes} minutes (until ${time}).`
    : `The link works once, until ${time}.`;
}

// Outside a secure context (a self-hosted studio on plain http) there is no clipboard API:
// select the text and use the older copy command.
async function copyText(input) {
  try {
    await navigator.clipboard.writeText(input.value);
    return true;
  } catch {
    input.select();
    return document.execCommand("copy");
  }
}

export function telegramCard(ctx) {
  const problem = errorBox();
  const body = el("div", { class: "telegram-body card" });
  const section = el(
    "section",
    { class: "telegram", "aria-labelledby": "telegram-title" },
    el("h2", { id: "telegram-title" }, "Telegram"),
    problem,
    body,
  );
  const connect = el("button", { type: "button", class: "primary" }, "Connect Telegram");
  const linkBox = el("div", { class: "telegram-link", role: "status", hidden: true });
  let status = null;
  // While a link is out, the person comes back from Telegram to this tab: read the chats
  // again then, so the one they just tied shows without a reload.
  let pending = false;

  function chatRow(chat) {
    const untie = el("button", { type: "button", class: "danger" }, "Untie");
    untie.setAttribute("aria-label", `Untie ${chatName(chat)}`);
    untie.addEventListener("click", () => unlink(chat, untie));
    return el(
      "li",
      { class: "telegram-chat" },
      el(
        "span",
        { class: "who" },
        el("strong", {}, chatName(chat)),
        chat.username && chat.first_name
          ? el("span", { class: "muted" }, `@${chat.username}`)
          : null,
      ),
      el("span", { class: "muted since" }, `Tied ${new Date(chat.linked_at).toLocaleDateString()}`),
      untie,
    );
  }

  function draw() {
    if (!status.enabled) {
      body.replaceChildren(el("p", { class: "muted" }, "This studio has no Telegram bot."));
      return;
    }
    const bot = status.bot_username ? `@${status.bot_username}` : "the studio's bot";
    body.replaceChildren(
      el(
        "p",
        {},
        `Make videos by chatting with ${bot}. A chat tied to this account shares its credits ` +
          "and library.",
      ),
      status.chats.length
        ? el(
            "ul",
            { class: "telegram-chats", "aria-label": "Tied chats" },
            status.chats.map(chatRow),
          )
        : el("p", { class: "muted" }, "No Telegram chat is tied to this account yet."),
      el("div", { class: "actions" }, connect),
      linkBox,
    );
  }

  function showLink(link) {
    const parts = [];
    if (link.url) {
      parts.push(
        el("p", {}, "Open the bot in Telegram and tap Start to tie that chat to this account."),
        el(
          "a",
          { class: "button primary", href: link.url, target: "_blank", rel: "noopener" },
          "Open Telegram",
        ),
      );
    } else {
      const command = el("input", {
        type: "text",
        readonly: true,
        value: link.command,
        "aria-label": "Message for the bot",
      });
      const copy = el("button", { type: "button" }, "Copy");
      copy.addEventListener("click", async () => {
        if (await copyText(command)) toast("Copied");
        else toast("Select the message and copy it", "error");
      });
      parts.push(
        el(
          "p",
          {},
          "Send this message to the studio's Telegram bot to tie that chat to this account:",
        ),
        el("div", { class: "copy-row" }, command, copy),
      );
    }
    parts.push(el("p", { class: "muted expiry" }, expiryLine(link.expires_at)));
    linkBox.replaceChildren(...parts);
    linkBox.hidden = false;
    connect.textContent = "Make a new link";
    pending = true;
  }

  async function read() {
    const known = new Set(status ? status.chats.map((c) => c.telegram_id) : []);
    try {
      status = await ctx.api("/v1/telegram");
      clearError(problem);
    } catch (error) {
      showError(problem, explain(error));
      return;
    }
    if (pending && status.chats.some((c) => !known.has(c.telegram_id))) {
      // The link was used: it cannot be used again, and bought credits may have come along.
      pending = false;
      linkBox.hidden = true;
      linkBox.replaceChildren();
      connect.textContent = "Connect Telegram";
      toast("Telegram chat tied to this account");
      window.dispatchEvent(new CustomEvent("skyie:balance-changed"));
    }
    draw();
  }

  // Coming back to the tab fires both focus and visibilitychange: one read serves both.
  let reading = null;
  function load() {
    reading ??= read().finally(() => {
      reading = null;
    });
    return reading;
  }

  async function unlink(chat, button) {
    const name = chatName(chat);
    const ok = await confirmDialog({
      title: `Untie ${name}?`,
      message: [
        "That Telegram chat will no longer act as this account.",
        "Videos and credits made from it stay here.",
      ],
      confirmLabel: "Untie",
      danger: true,
    });
    if (!ok) return;
    clearError(problem);
    try {
      await busy(button, "Untying…", () =>
        ctx.api(`/v1/telegram/chats/${chat.telegram_id}`, { method: "DELETE" }),
      );
      toast(`${name} untied`);
    } catch (error) {
      showError(problem, explain(error));
    }
    await load();
  }

  connect.addEventListener("click", async () => {
    clearError(problem);
    try {
      const link = await busy(connect, "Making a link…", () =>
        ctx.api("/v1/telegram/link", { method: "POST" }),
      );
      showLink(link);
    } catch (error) {
      showError(problem, explain(error));
    }
  });

  const returned = () => pending && document.visibilityState === "visible" && load();
  window.addEventListener("focus", returned);
  document.addEventListener("visibilitychange", returned);

  function stop() {
    window.removeEventListener("focus", returned);
    document.removeEventListener("visibilitychange", returned);
  }

  return { section, load, stop };
}
