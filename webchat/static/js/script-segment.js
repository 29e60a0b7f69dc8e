// One scene on the script card: its number, kind and length, the line editor, and the
// "Regenerate" action, which asks the assistant for a new version of just this scene.

import { kindOf, segmentEditor } from "./script-editor.js";
import { el } from "./ui.js";

const KIND_LABELS = { talking: "Host talking", broll: "B-roll" };
// A wish that already says what to do ("say: …", "show …") is passed on as it is.
const VERB = /^(?:say|says|read|reads|show|shows|showing|be|feature|features|depict|look like)\b/i;

// The chat message for a new version of scene `number`, in words the planner reads
// (agent/planner/revise_scenes.py) as much as a language model does.
export function regenerateMessage(number, kind, wish) {
  const text = wish.trim().replace(/\s+/g, " ");
  if (VERB.test(text)) return `Scene ${number} should ${text}`;
  if (kind === "broll") return `Make scene ${number} show ${text}`;
  return `Scene ${number} should say: "${text.replaceAll('"', "'")}"`;
}

// onInput(): the line changed. onEnter(): Enter was pressed in it. onRemove(): drop the scene.
// onRegenerate(message): ask the assistant; resolves when its reply is over.
export function segmentItem({ line, index, onInput, onEnter, onRemove, onRegenerate }) {
  const number = index + 1;
  const kindBadge = el("span", { class: "badge kind" });
  const seconds = el("span", { class: "seconds muted" });
  const wishId = `regen-${number}`;
  const wish = el("input", { id: wishId, name: "wish", required: true, autocomplete: "off" });
  const wishLabel = el("label", { for: wishId });
  const regenerate = el(
    "button",
    { type: "button", class: "regen", "aria-expanded": "false", "aria-controls": `${wishId}-form` },
    "Regenerate",
  );
  const form = el(
    "form",
    { class: "regen-form", id: `${wishId}-form`, hidden: true },
    wishLabel,
    wish,
    el(
      "div",
      { class: "actions" },
      el("button", { type: "submit", class: "primary" }, `Regenerate scene ${number}`),
      el("button", { type: "button", onclick: () => toggle(false) }, "Cancel"),
    ),
  );
  const editor = segmentEditor({
    id: `segment-${number}`,
    label: `Scene ${number}`,
    value: line,
    onInput: () => {
      setKind();
      onInput();
    },
    onEnter,
  });
  const item = el(
    "li",
    { class: "segment" },
    el(
      "div",
      { class: "segment-head" },
      el("span", { class: "segment-title" }, `Scene ${number}`),
      kindBadge,
      seconds,
      el("span", { class: "spacer" }),
      regenerate,
      el(
        "button",
        {
          type: "button",
          class: "icon-button remove",
          "aria-label": `Remove scene ${number}`,
          title: "Remove this scene",
          onclick: onRemove,
        },
        "✕",
      ),
    ),
    editor.root,
    form,
  );

  function setKind() {
    const kind = kindOf(editor.value);
    item.dataset.kind = kind || "unknown";
    kindBadge.textContent = KIND_LABELS[kind] || "No marker";
    wishLabel.textContent =
      kind === "broll"
        ? `What should scene ${number} show instead?`
        : `What should the host say in scene ${number} instead?`;
  }

  function toggle(open) {
    form.hidden = !open;
    regenerate.setAttribute("aria-expanded", String(open));
    if (open) wish.focus();
    else regenerate.focus();
  }

  function setBusy(busy) {
    item.classList.toggle("busy", busy);
    item.setAttribute("aria-busy", String(busy));
    form.querySelectorAll("button, input").forEach((node) => (node.disabled = busy));
  }

  regenerate.addEventListener("click", () => toggle(form.hidden));
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setBusy(true);
    try {
      await onRegenerate(regenerateMessage(number, kindOf(editor.value), wish.value));
    } finally {
      setBusy(false);
    }
  });
  setKind();
  return { item, editor, seconds };
}
