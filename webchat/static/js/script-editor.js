// One script line ("[TALKING] …" or "[BROLL: prompt | 5s] …") as an editable field whose
// marker is highlighted as you type. A plain <textarea> keeps typing, selection, undo and
// screen readers native; a mirror drawn underneath it in the same cell does the colouring.

import { readMarker } from "./script-marker.js";
import { el } from "./ui.js";

// What kind of segment a line is, from its marker: "talking", "broll" or null.
export function kindOf(line) {
  return readMarker(line)?.kind ?? null;
}

// The coloured copy of `line`; `errorColumn` (1-based) underlines the part the error names.
function mirrorOf(line, errorColumn) {
  const found = readMarker(line);
  const parts = [];
  let rest = line;
  if (found) {
    rest = line.slice(found.end);
    const className = `marker ${found.closed && found.kind ? found.kind : "unknown"}`;
    if (found.kind === "broll" && found.prompt !== null) {
      // The prompt and the optional "| 5s" length read as parts of one marker.
      parts.push(
        found.indent,
        el(
          "span",
          { class: className },
          found.head,
          el("span", { class: "marker-prompt" }, found.prompt),
          found.duration !== null
            ? el("span", { class: "marker-duration" }, found.duration)
            : null,
          found.closed ? "]" : "",
        ),
      );
    } else {
      parts.push(found.indent, el("span", { class: className }, found.marker));
    }
  }
  const text = el("span", { class: "segment-text" }, rest);
  parts.push(text);
  if (errorColumn) {
    const inMarker = found && errorColumn <= found.end;
    const target = inMarker ? parts[1] : text;
    target.classList?.add("err");
  }
  // A trailing space keeps the mirror as tall as the textarea when the text ends in a newline.
  parts.push(" ");
  return parts;
}

// An editor for one segment. onInput(value) fires on every change; Enter is reserved
// (one segment is one line), so onEnter() is called instead of inserting a newline.
export function segmentEditor({ id, label, value, onInput, onEnter }) {
  const mirror = el("div", { class: "mirror", "aria-hidden": "true" });
  const errorsId = `${id}-errors`;
  const textarea = el("textarea", {
    id,
    rows: 1,
    spellcheck: "true",
    "aria-describedby": errorsId,
  });
  const errors = el("ul", { class: "segment-errors", id: errorsId });
  let errorColumn = null;

  function paint() {
    mirror.replaceChildren(...mirrorOf(textarea.value, errorColumn));
  }

  textarea.value = value;
  textarea.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.isComposing) {
      event.preventDefault();
      onEnter?.();
    }
  });
  textarea.addEventListener("input", () => {
    // A pasted newline would start a second segment the card does not show: keep one line.
    if (/[\r\n]/.test(textarea.value)) {
      const at = textarea.selectionStart;
      textarea.value = textarea.value.replace(/\r?\n|\r/g, " ");
      textarea.setSelectionRange(at, at);
    }
    paint();
    onInput(textarea.value);
  });
  paint();

  return {
    root: el(
      "div",
      { class: "segment-editor" },
      el("label", { for: id, class: "sr-only" }, label),
      el("div", { class: "editor" }, mirror, textarea),
      errors,
    ),
    textarea,
    get value() {
      return textarea.value;
    },
    set(next) {
      textarea.value = next;
      paint();
    },
    // issues: [{column, message}] for this line; the first one is underlined.
    setErrors(issues) {
      errorColumn = issues.length ? issues[0].column : null;
      textarea.setAttribute("aria-invalid", String(issues.length > 0));
      errors.replaceChildren(
        ...issues.map((issue) =>
          el("li", {}, `Column ${issue.column}: ${issue.message}`),
        ),
      );
      paint();
    },
  };
}
