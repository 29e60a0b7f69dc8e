// The script card: the draft as one editable block per segment (./script-segment.js),
// validated as you type, saved as the conversation's draft, priced, and generated. A new
// script from the assistant never silently replaces an unsaved edit: the card asks first.

import { askToNotify } from "./notify.js";
import { quotePanel } from "./quote-panel.js";
import { segmentItem } from "./script-segment.js";
import { el, formatSeconds } from "./ui.js";

const VALIDATE_DELAY_MS = 350;

// Lines of a script as the card shows them: one segment a line, no blanks.
function linesOf(script) {
  return script
    .split("\n")
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith("#"));
}

const same = (a, b) => linesOf(a).join("\n") === linesOf(b).join("\n");

// api: the client; conversationId(): the draft's conversation; onRegenerate(message): send it
// to the assistant (resolves when its turn is over); onJob(job): a job was started.
export function scriptCard({ api, conversationId, onRegenerate, onJob }) {
  let editors = [];
  let saved = ""; // the draft as the server holds it
  let options = null; // its production options, once known
  let savedQuote = null; // the price of `saved`, if one was shown
  let validateTimer = null;
  let validating = null;
  // The assistant's script held back while the card shows an unsaved edit: {draft, before},
  // `before` being the version it revised (to mark what changed, should it be shown).
  let proposal = null;

  const list = el("ol", { class: "segments" });
  const status = el("p", { class: "validation", role: "status" });
  const summary = el("p", { class: "summary muted" });
  const planned = el("span", { class: "planned muted" });
  const saveButton = el("button", { type: "button", class: "save" }, "Save edit");
  const undoButton = el("button", { type: "button", class: "undo" }, "Undo changes");
  const addButton = el("button", { type: "button", class: "add-scene" }, "Add scene");
  // Always in the page, empty until needed: a live region announces what is put into it.
  const notice = el("div", { class: "proposal-notice", role: "status" });
  const panel = quotePanel({ onQuote: () => price(), onGenerate: (quote) => generate(quote) });
  const root = el(
    "section",
    { class: "card script-card", "aria-labelledby": "script-title", hidden: true },
    el("header", {}, el("h2", { id: "script-title" }, "Script"), planned),
    notice,
    summary,
    el(
      "p",
      { class: "field-hint" },
      "Each scene starts with [TALKING] (the host speaks) or [BROLL: what it shows | 5s] " +
        "(a generated clip; the length is optional), then its words.",
    ),
    list,
    addButton,
    status,
    el("div", { class: "actions" }, saveButton, undoButton),
    panel.root,
  );

  // Untrimmed, so the columns of validation errors match what is in each field.
  const current = () => editors.map((e) => e.editor.value).join("\n") + "\n";
  const dirty = () => !same(current(), saved);

  function refresh() {
    const changed = dirty();
    // Nothing of the edit is left to keep (undone, or typed back): the question is moot.
    if (proposal && !changed) dismissProposal();
    saveButton.disabled = !changed;
    undoButton.disabled = !changed;
    if (changed) {
      panel.withdraw("You changed the script. Save it to see the price of this version.");
    } else if (savedQuote) {
      panel.show(savedQuote);
    } else if (!panel.quote) {
      panel.withdraw("");
    }
  }

  function renderSegments(lines, changed = new Set()) {
    editors = lines.map((line, index) =>
      segmentItem({
        line,
        index,
        onInput: () => {
          refresh();
          scheduleValidate();
        },
        onEnter: () => editors[index + 1]?.editor.textarea.focus(),
        onRemove: () => removeSegment(index),
        // Unsaved edits are saved first: the assistant revises the stored draft.
        onRegenerate: async (message) => {
          if (dirty() && !(await save({ quote: false }))) return;
          await onRegenerate(message);
        },
      }),
    );
    editors.forEach((entry, index) => entry.item.classList.toggle("changed", changed.has(index)));
    list.replaceChildren(...editors.map((entry) => entry.item));
  }

  function edit(lines, focusIndex) {
    renderSegments(lines);
    refresh();
    validateNow();
    editors[focusIndex]?.editor.textarea.focus();
  }

  function removeSegment(index) {
    const lines = editors.map((e) => e.editor.value);
    lines.splice(index, 1);
    edit(lines, Math.max(0, index - 1));
    if (!lines.length) addButton.focus();
  }

  addButton.addEventListener("click", () => {
    edit([...editors.map((e) => e.editor.value), "[TALKING] "], editors.length);
  });
  saveButton.addEventListener("click", () => save({ quote: true }));
  // Undoing goes back to the server's draft, which a held-back proposal has become.
  undoButton.addEventListener("click", () => (proposal ? showProposal() : edit(linesOf(saved), 0)));

  // A draft on the card as it is: the assistant's, or a resumed conversation's. Marks the
  // scenes that differ from `before`, the version it replaces.
  function apply({ script, summary: note = "", options: draftOptions, planned_seconds }, before) {
    const old = linesOf(before ?? saved);
    const lines = linesOf(script);
    const changed = new Set(
      old.length ? lines.flatMap((line, i) => (line === old[i] ? [] : [i])) : [],
    );
    dismissProposal();
    saved = script;
    if (draftOptions) options = draftOptions;
    savedQuote = null;
    summary.textContent = note;
    planned.textContent = planned_seconds ? `about ${formatSeconds(planned_seconds)}` : "";
    root.hidden = false;
    renderSegments(lines, changed);
    refresh();
    validateNow();
  }

  // The assistant wrote a new version while the card holds an unsaved edit. The server holds
  // the new version now, so the edit is measured against it (Save, Undo and the price), but
  // the card keeps showing the edit until the person chooses.
  function holdBack(draft) {
    const before = proposal ? proposal.before : saved;
    const newText = !same(draft.script, saved);
    saved = draft.script;
    if (draft.options) options = draft.options;
    savedQuote = null;
    // Only its options changed (say, the format): the edit is still an edit of the same text.
    if (!proposal && !newText) {
      refresh();
      return;
    }
    proposal = { draft, before };
    notice.replaceChildren(
      el("p", {}, "The assistant proposed a new version."),
      el(
        "div",
        { class: "actions" },
        el(
          "button",
          { type: "button", class: "primary", onclick: showProposal },
          "Show new version",
        ),
        el("button", { type: "button", onclick: keepEdit }, "Keep my edit"),
      ),
    );
    refresh();
  }

  function showProposal() {
    const { draft, before } = proposal;
    // A price that came with the proposal is for exactly its text: it stays on screen.
    const quote = savedQuote;
    apply(draft, before);
    savedQuote = quote;
    refresh();
    editors[0]?.editor.textarea.focus();
  }

  function keepEdit() {
    dismissProposal();
    saveButton.focus(); // saving is what keeps the edit for good
  }

  function dismissProposal() {
    proposal = null;
    notice.replaceChildren();
  }

  function scheduleValidate() {
    clearTimeout(validateTimer);
    validateTimer = setTimeout(validateNow, VALIDATE_DELAY_MS);
  }

  // Checks the card's text with the server's parser; a newer check supersedes an older one.
  async function validateNow() {
    clearTimeout(validateTimer);
    validating?.abort();
    const controller = new AbortController();
    validating = controller;
    const script = current();
    const empty = editors.flatMap((e, i) => (e.editor.value.trim() ? [] : [i]));
    let result;
    try {
      result = editors.length
        ? await api("/v1/scripts/validate", {
            method: "POST",
            body: { script },
            signal: controller.signal,
          })
        : { valid: false, errors: [{ line: 0, column: 1, message: "add at least one scene" }] };
    } catch (error) {
      if (error.name !== "AbortError") status.textContent = error.message;
      return;
    }
    if (validating !== controller) return;
    validating = null;
    const valid = result.valid && !empty.length;
    editors.forEach((entry, index) => {
      const issues = result.errors.filter((issue) => issue.line === index + 1);
      if (empty.includes(index)) {
        issues.unshift({ column: 1, message: "this scene is empty; write it or remove it" });
      }
      entry.editor.setErrors(issues);
      const segment = result.segments[index];
      entry.seconds.textContent = segment ? formatSeconds(segment.planned_seconds) : "";
    });
    const general = result.errors.filter((e) => e.line < 1 || e.line > editors.length);
    if (valid) {
      const count = result.segments.length;
      const length = formatSeconds(result.planned_seconds);
      status.className = "validation ok";
      status.textContent = `✓ Valid: ${count} scene${count === 1 ? "" : "s"}, about ${length}.`;
      planned.textContent = `about ${length}`;
    } else {
      const problems = result.errors.length + empty.length;
      status.className = "validation error";
      status.textContent =
        `${problems} problem${problems === 1 ? "" : "s"} to fix` +
        (general.length ? `: ${general.map((e) => e.message).join("; ")}` : ".");
    }
    return valid;
  }

  // Stores the card's text as the conversation's draft; then prices it unless told not to.
  async function save({ quote }) {
    if (!(await validateNow())) {
      editors.find((e) => e.editor.textarea.getAttribute("aria-invalid") === "true")
        ?.editor.textarea.focus();
      return false;
    }
    saveButton.disabled = true;
    try {
      const draft = await api(`/v1/conversations/${conversationId()}/draft`, {
        method: "PUT",
        body: { script: current() },
      });
      saved = draft.script;
      options = draft.options;
      savedQuote = null;
      dismissProposal(); // the edit replaced any proposal on the server
      if (!same(current(), saved)) {
        renderSegments(linesOf(saved));
        validateNow();
      }
      status.className = "validation ok";
      status.textContent = "Saved.";
      refresh();
      if (quote) await price();
      return true;
    } catch (error) {
      status.className = "validation error";
      status.textContent = error.message;
      saveButton.disabled = false;
      return false;
    }
  }

  // A fresh quote for the saved draft (saving first if the card was edited).
  async function price() {
    if (dirty()) return save({ quote: true });
    panel.setBusy(true);
    try {
      // The draft's options (format, voice…) are part of the price: read them if unknown.
      options ??= (await api(`/v1/conversations/${conversationId()}`)).draft?.options ?? null;
      const body = options ? { script: saved, options } : { script: saved };
      const quote = await api("/v1/quotes", { method: "POST", body });
      savedQuote = { ...quote, script: saved };
      panel.show(savedQuote);
    } catch (error) {
      panel.fail(error.message);
    } finally {
      panel.setBusy(false);
    }
  }

  async function generate(quote) {
    askToNotify();
    panel.setBusy(true);
    try {
      const answer = await api("/v1/videos/production", {
        method: "POST",
        body: { script: quote.script, quote_id: quote.quote_id },
      });
      window.dispatchEvent(new CustomEvent("skyie:balance-changed"));
      onJob(answer.job);
    } catch (error) {
      // A used, expired or mismatched quote cannot be paid again: take it off the screen.
      if ([404, 409, 422].includes(error.status)) {
        savedQuote = null;
        panel.withdraw("");
      }
      panel.fail(error.message);
    } finally {
      panel.setBusy(false);
    }
  }

  return {
    root,
    // A resumed conversation's draft: shown as it is.
    setDraft(draft) {
      apply(draft);
    },
    // A draft from the assistant: shown at once, unless the card holds an unsaved edit it
    // would replace; then the card asks (a proposal equal to the edit replaces nothing).
    propose(draft) {
      if (dirty() && !same(current(), draft.script)) holdBack(draft);
      else apply(draft, proposal?.before);
    },
    // The assistant's price for the draft it just wrote (while held back: for the proposal).
    setQuote(quote) {
      savedQuote = { ...quote, script: saved };
      refresh();
    },
    dirty,
    cleanup() {
      clearTimeout(validateTimer);
      validating?.abort();
    },
  };
}
