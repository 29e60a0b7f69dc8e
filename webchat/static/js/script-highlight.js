// A script editor with its markers highlighted: a transparent textarea over a <pre> that
// mirrors the same text in colour. Same font, padding and wrapping, so the two line up glyph
// for glyph; only colours and underlines differ (never weight or size, which would shift text).

import { readMarker } from "./script-marker.js";
import { el } from "./ui.js";

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
  const found = readMarker(line);
  if (!found) return [line]; // narration continuing the segment above
  const cls = found.closed && found.kind ? `tok-${found.kind}` : "tok-unknown";
  const markerParts =
    found.prompt === null
      ? [found.marker]
      : [
          // [BROLL: prompt | 5s] -> the prompt and the duration get their own colours.
          found.head,
          el("span", { class: "tok-prompt" }, found.prompt),
          found.duration !== null ? el("span", { class: "tok-duration" }, found.duration) : null,
          found.closed ? "]" : "",
        ];
  return [
    found.indent,
    el("span", { class: `tok-marker ${cls}` }, markerParts),
    line.slice(found.end),
  ];
}
