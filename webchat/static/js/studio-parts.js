// Pieces the library and the forms share: error boxes, a confirm dialog, private media, and
// the person's voices and avatars as the API lists them.

import { authUrl, blobUrl } from "./api.js";
import { el } from "./ui.js";

// Point a media element at a private file; if the token in the URL has expired meanwhile, fetch
// it once through the API client (which refreshes the token) and show it as a blob instead.
export function setPrivateSource(media, path) {
  let retried = false;
  media.addEventListener("error", async () => {
    if (retried) return;
    retried = true;
    try {
      const url = await blobUrl(new URL(path, location.origin).pathname);
      media.src = url;
    } catch {
      media.classList.add("broken");
    }
  });
  media.src = authUrl(path);
  return media;
}

// A box next to a form or a card that tells what the API refused, in the API's own words.
export function errorBox() {
  return el("div", { class: "error-box", role: "alert", hidden: true });
}

// What a person can do about some statuses, beyond the API's message.
const HINTS = {
  403: (error) =>
    error?.code === "plan_required"
      ? [el("a", { href: "#/billing" }, "See the plans"), "."]
      : [],
  402: () => [
    "Not enough credits. ",
    el("a", { href: "#/billing" }, "Buy credits or change plan"),
    ".",
  ],
};

export function showError(box, error) {
  const message = error?.message || String(error);
  const parts = [el("p", {}, message)];
  const hint = HINTS[error?.status]?.(error) || [];
  if (hint.length) parts.push(el("p", { class: "hint" }, ...hint));
  const details = (error?.details || []).filter((d) => d.message && !message.includes(d.message));
  if (details.length) {
    parts.push(
      el(
        "ul",
        {},
        details.map((d) => el("li", {}, `${fieldName(d.field)}: ${d.message}`)),
      ),
    );
  }
  box.replaceChildren(...parts);
  box.hidden = false;
}

export function clearError(box) {
  box.replaceChildren();
  box.hidden = true;
}

// "body.scenes.1.prompt" -> "scene 2 prompt": details should read as the form reads.
function fieldName(field = "") {
  return field
    .replace(/^body\./, "")
    .replace(/scenes\.(\d+)/, (_, n) => `scene ${Number(n) + 1}`)
    .replaceAll(".", " ")
    .replaceAll("_", " ");
}

// A modal question with the safe answer focused first. Resolves true only on the confirm button.
export function confirmDialog({ title, message, confirmLabel = "OK", danger = false }) {
  return new Promise((resolve) => {
    const cancel = el("button", { type: "button", autofocus: true }, "Cancel");
    const ok = el("button", { type: "button", class: danger ? "danger" : "primary" }, confirmLabel);
    const dialog = el(
      "dialog",
      { class: "confirm-dialog", "aria-labelledby": "confirm-title" },
      el("h2", { id: "confirm-title" }, title),
      ...(Array.isArray(message) ? message : [message]).map((m) =>
        m instanceof Node ? m : el("p", {}, m),
      ),
      el("div", { class: "dialog-actions" }, cancel, ok),
    );
    const finish = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    cancel.addEventListener("click", () => finish(false));
    ok.addEventListener("click", () => finish(true));
    dialog.addEventListener("cancel", (event) => {
      event.preventDefault(); // Escape: answer "no" and clean up the same way as Cancel
      finish(false);
    });
    document.body.append(dialog);
    dialog.showModal();
  });
}

// A button that shows it is working and cannot be pressed twice meanwhile.
export async function busy(button, label, work) {
  const before = button.textContent;
  const wasDisabled = button.disabled;
  button.disabled = true;
  button.setAttribute("aria-busy", "true");
  if (label) button.textContent = label;
  try {
    return await work();
  } finally {
    button.textContent = before;
    button.disabled = wasDisabled;
    button.removeAttribute("aria-busy");
  }
}

export async function listAll(api, path) {
  // The library is small enough to list whole; pages of 100 are followed to the end.
  const items = [];
  let cursor = null;
  do {
    const sep = path.includes("?") ? "&" : "?";
    const page = await api(
      `${path}${sep}limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`,
    );
    items.push(...page.items);
    cursor = page.next_cursor;
  } while (cursor);
  return items;
}

export const listAvatars = (api) => listAll(api, "/v1/assets?kind=avatar");
export const listVoiceAssets = (api) => listAll(api, "/v1/assets?kind=voice");
export async function listVoices(api) {
  return (await api("/v1/voices")).items;
}

export function formatBytes(size) {
  if (size < 1024) return `${size} B`;
  if (size < 1024 * 1024) return `${(size / 1024).toFixed(0)} KB`;
  return `${(size / 1024 / 1024).toFixed(1)} MB`;
}

export function debounce(fn, ms) {
  let timer = null;
  const wrapped = (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
  wrapped.cancel = () => clearTimeout(timer);
  return wrapped;
}
