// A script editor with its markers highlighted: a transparent textarea over a <pre> that
// mirrors the same text in colour. Same font, padding and wrapping, so the two line up glyph
// for glyph; only colours and underlines differ (never weight or size, which would shift text).

import { el } from "./ui.js";

// The grammar of core/script.py, as far as colouring needs it.
const MARKER = /^(\s*)(\[\s*([A-Za-z]+)\s*(?::([^\]]*))?\])(.*)$/;

export function scriptEditor({ id, placeholder = "", describedBy = "" }) {
  const mirror = el("pre", { class: "script-mirror", "aria-hidden": "true" });
  const input = el("textarea", {
    id,
    class: "script-input",
    spellcheck: "false",
    autocapitalize: "off",
    autocomplete: "off",
    placeholder,
    rows: 10,
    "aria-describedby": describedBy || false,
  });
  let issueLines = new Set();

  function paint() {
    const lines = input.value.split("\n");
    mirror.replaceChildren(
      ...lines.flatMap((line, i) => {
        const parts = lineParts(line);
        const node = el(
          "span",
          { class: issueLines.has(i + 1) ? "line line-error" : "line" },
          parts,
        );
        return i < lines.length - 1 ? [node, "\n"] : [node];
      }),
      // A textarea shows an empty last line after a final newline; the <pre> needs a glyph there.
      "\u200b",
    );
    mirror.scrollTop = input.scrollTop;
  }

  input.addEventListener("input", paint);
  input.addEventListener("scroll", () => {
    mirror.scrollTop = input.scrollTop;
    mirror.scrollLeft = input.scrollLeft;
  });
  paint();

  return {
    node: el("div", { class: "script-editor" }, mirror, input),
    input,
    mirror,
    // issues: [{line, column, message}] from /v1/scripts/validate; their lines get underlined.
    setIssues(issues) {
      issueLines = new Set(issues.map((i) => i.line));
      paint();
    },
    setValue(text) {
      input.value = text;
      paint();
    },
    // Put the caret where an issue is, so a person can jump from the message to the fault.
    goTo(line, column) {
      const lines = input.value.split("\n");
      let offset = 0;
      for (let i = 0; i < line - 1 && i < lines.length; i++) offset += lines[i].length + 1;
      offset += Math.max(0, column - 1);
      input.focus();
      input.setSelectionRange(offset, offset);
    },
  };
}

function lineParts(line) {
  const trimmed = line.trim();
  if (!trimmed) return [line];
  if (trimmed.startsWith("#")) return [el("span", { class: "tok-comment" }, line)];
  const match = MARKER.exec(line);
  if (!match) return [line]; // narration continuing the segment above
  const [, indent, marker, tag, body, rest] = match;
  const kind = tag.toUpperCase();
  const cls = kind === "TALKING" ? "tok-talking" : kind === "BROLL" ? "tok-broll" : "tok-unknown";
  const markerParts = [];
  if (body === undefined) {
    markerParts.push(marker);
  } else {
    // [BROLL: prompt | 5s] -> the prompt and the duration get their own colours.
    const colon = marker.indexOf(":");
    const head = marker.slice(0, colon + 1);
    const inner = marker.slice(colon + 1, -1);
    const bar = inner.indexOf("|");
    const prompt = bar >= 0 ? inner.slice(0, bar) : inner;
    markerParts.push(head, el("span", { class: "tok-prompt" }, prompt));
    if (bar >= 0) markerParts.push(el("span", { class: "tok-duration" }, inner.slice(bar)));
    markerParts.push("]");
  }
  return [indent, el("span", { class: `tok-marker ${cls}` }, markerParts), rest];
}
