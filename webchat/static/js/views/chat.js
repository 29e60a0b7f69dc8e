// The chat: talk to the assistant (replies stream in), resume or delete earlier conversations,
// and edit, price and generate the script it drafts on the script card.
// #/chat/<conversation id> resumes.

import { streamChat } from "../api.js";
import { scriptCard } from "../script-card.js";
import { busy, clearError, confirmDialog, errorBox, showError } from "../studio-parts.js";
import { el, formatDate } from "../ui.js";

const EXAMPLES = [
  "A 30-second vertical video about three ways to save energy at home, with a friendly host",
  "A 20-second YouTube clip showing a mountain sunrise, with calm music and no host",
  "A 15-second square video announcing our bakery's new sourdough, with a host",
];

// What each tool did, in words a person reads in the thread.
const TOOL_LABELS = {
  draft_script: "Wrote a script",
  revise_script: "Revised the script",
  quote: "Priced it",
  produce_video: "Started the video",
  job_status: "Checked the job",
  cancel_job: "Cancelled the job",
  get_balance: "Checked your credits",
  validate_script: "Checked the script",
  export_video: "Started an export",
};

function message(role, text = "") {
  const body = el("div", { class: "text" }, text);
  const node = el(
    "article",
    { class: `message ${role}` },
    el("h3", { class: "sr-only" }, role === "user" ? "You said" : "Studio said"),
    role === "assistant" ? el("ul", { class: "tools" }) : null,
    body,
  );
  node.body = body;
  return node;
}

function toolLine(list, ok, text) {
  list.append(el("li", { class: ok ? "ok" : "failed" }, ok ? "✓ " : "✗ ", text));
}

export async function render(root, ctx) {
  let conversationId = ctx.params[0] || null;
  let streaming = null;

  const thread = el("div", {
    class: "thread",
    role: "log",
    "aria-live": "polite",
    "aria-label": "Conversation",
  });
  const input = el("textarea", {
    id: "composer-input",
    name: "message",
    rows: 2,
    maxlength: 4000,
    placeholder: "Describe your video, or ask for a change…",
    "aria-describedby": "composer-hint",
  });
  const sendButton = el("button", { type: "submit", class: "primary" }, "Send");
  const composer = el(
    "form",
    { class: "composer", "aria-label": "Message the studio" },
    el("label", { for: "composer-input", class: "sr-only" }, "Message"),
    input,
    sendButton,
    el("p", { id: "composer-hint", class: "field-hint" }, "Enter sends; Shift+Enter adds a line."),
  );
  const history = el("ul", { class: "conversation-list" });
  const historyErrors = errorBox();
  const conversations = el(
    "details",
    { class: "conversations" },
    el("summary", {}, "Recent conversations"),
    historyErrors,
    history,
  );
  const empty = el(
    "div",
    { class: "empty-state" },
    el("h2", {}, "What video shall we make?"),
    el("p", { class: "muted" }, "Describe it: topic, length, platform, host or no host."),
    el(
      "ul",
      { class: "examples" },
      EXAMPLES.map((text) =>
        el(
          "li",
          {},
          el(
            "button",
            {
              type: "button",
              class: "example",
              onclick: () => {
                input.value = text;
                input.focus();
              },
            },
            text,
          ),
        ),
      ),
    ),
  );
  const card = scriptCard({
    api: ctx.api,
    conversationId: () => conversationId,
    onRegenerate: (text) => send(text),
    onJob: (job) => ctx.navigate(`#/job/${job.job_id}`),
  });

  root.append(
    el(
      "section",
      { class: "chat" },
      el(
        "header",
        { class: "view-head chat-head" },
        el("h1", {}, "Chat"),
        el("a", { class: "button", href: "#/chat", onclick: newChat }, "New chat"),
      ),
      conversations,
      el("div", { class: "chat-main" }, thread, composer),
      card.root,
    ),
  );

  function newChat(event) {
    // Already on #/chat with a conversation shown: the router must still start afresh.
    if (location.hash === "#/chat") {
      event.preventDefault();
      ctx.navigate("#/chat");
    }
  }

  function setBusy(busy) {
    sendButton.textContent = busy ? "Stop" : "Send";
    sendButton.classList.toggle("primary", !busy);
    input.setAttribute("aria-busy", String(busy));
  }

  // One turn with the assistant; resolves when it is over. A job it starts opens its page.
  async function send(text) {
    if (streaming || !text.trim()) return;
    empty.remove();
    thread.append(message("user", text));
    const reply = message("assistant");
    reply.setAttribute("aria-busy", "true");
    thread.append(reply);
    reply.scrollIntoView({ block: "nearest" });
    const tools = reply.querySelector(".tools");
    let script = null;
    let job = null;
    const controller = new AbortController();
    streaming = controller;
    setBusy(true);
    const onEvent = (event) => {
      switch (event.type) {
        case "text":
          reply.body.textContent += event.text;
          break;
        case "tool":
          toolLine(tools, event.ok, event.ok ? TOOL_LABELS[event.name] || event.name : event.error);
          break;
        case "script":
          script = event;
          // Shown at once, unless it would replace an unsaved edit: then the card asks.
          card.propose(event);
          break;
        case "quote":
          card.setQuote(event);
          break;
        case "job":
          job = event;
          reply.append(
            el("p", {}, el("a", { href: `#/job/${event.job_id}` }, "Watch the progress")),
          );
          window.dispatchEvent(new CustomEvent("skyie:balance-changed"));
          break;
        case "error":
          reply.append(el("p", { class: "error" }, event.message));
          break;
        case "done":
          if (event.conversation_id && event.conversation_id !== conversationId) {
            conversationId = event.conversation_id;
            // The address names the conversation, without re-rendering the view.
            window.history.replaceState(null, "", `#/chat/${conversationId}`);
            loadConversations();
          }
          break;
      }
      reply.scrollIntoView({ block: "nearest" });
    };
    try {
      await streamChat({ message: text, conversation_id: conversationId }, onEvent, controller.signal);
    } catch (error) {
      if (error.name !== "AbortError") reply.append(el("p", { class: "error" }, error.message));
    } finally {
      streaming = null;
      setBusy(false);
      reply.removeAttribute("aria-busy");
    }
    if (script) card.root.scrollIntoView({ block: "nearest" });
    if (job) ctx.navigate(`#/job/${job.job_id}`);
  }

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    if (streaming) {
      streaming.abort();
      return;
    }
    const text = input.value;
    input.value = "";
    send(text);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      // While a reply streams, Enter waits: only the Stop button stops it.
      if (!streaming) composer.requestSubmit();
    }
  });

  function conversationItem(item) {
    const remove = el(
      "button",
      {
        type: "button",
        class: "icon-button danger delete-conversation",
        "aria-label": `Delete conversation ${item.title}`,
        title: "Delete this conversation",
      },
      "✕",
    );
    const node = el(
      "li",
      { class: "conversation", "data-conversation-id": item.id },
      el(
        "a",
        {
          href: `#/chat/${item.id}`,
          "aria-current": item.id === conversationId ? "page" : null,
        },
        el("span", { class: "title" }, item.title),
        el("span", { class: "muted" }, formatDate(item.updated_at)),
      ),
      remove,
    );
    remove.addEventListener("click", () => deleteConversation(item, node, remove));
    return node;
  }

  async function deleteConversation(item, node, button) {
    const ok = await confirmDialog({
      title: "Delete this conversation?",
      message: [
        `“${item.title}” and its messages are removed.`,
        "Videos made from it stay in your library.",
      ],
      confirmLabel: "Delete",
      danger: true,
    });
    if (!ok) return;
    clearError(historyErrors);
    try {
      const path = `/v1/conversations/${encodeURIComponent(item.id)}`;
      await busy(button, null, () => ctx.api(path, { method: "DELETE" }));
    } catch (error) {
      showError(historyErrors, error);
      return;
    }
    ctx.toast("Conversation deleted");
    // The one on screen is gone: what is left of it here could not be continued.
    if (item.id === conversationId) {
      ctx.navigate("#/chat");
      return;
    }
    // The button is removed with its item: the focus moves to a neighbour, not to the page.
    const neighbour = node.nextElementSibling || node.previousElementSibling;
    node.remove();
    conversations.hidden = history.children.length === 0;
    (neighbour?.querySelector(".delete-conversation") || input).focus();
  }

  async function loadConversations() {
    try {
      const page = await ctx.api("/v1/conversations?limit=20");
      history.replaceChildren(...page.items.map(conversationItem));
      conversations.hidden = page.items.length === 0;
    } catch {
      conversations.hidden = true;
    }
  }

  async function resume(id) {
    const detail = await ctx.api(`/v1/conversations/${encodeURIComponent(id)}`);
    // Tools run before the reply that reports on them: their lines go into that reply.
    let pending = [];
    for (const item of detail.messages) {
      if (item.role === "tool") {
        pending.push(item);
        continue;
      }
      const node = message(item.role, item.text);
      const tools = node.querySelector(".tools");
      if (tools) {
        pending.forEach((tool) => toolLine(tools, tool.ok, tool.text));
        pending = [];
      }
      thread.append(node);
    }
    pending.forEach((tool) => thread.append(el("p", { class: "tool-note muted" }, tool.text)));
    if (detail.draft) card.setDraft(detail.draft);
  }

  thread.append(empty);
  conversations.hidden = true;
  loadConversations();
  if (conversationId) {
    empty.remove();
    await resume(conversationId);
  }
  // On touch screens focusing would pop up the keyboard over the page before it is read.
  if (window.matchMedia("(pointer: fine)").matches) input.focus();

  return () => {
    streaming?.abort();
    card.cleanup();
  };
}
