// A file drop zone that is also usable without a mouse: a real button opens the file picker.

import { el } from "./ui.js";

let count = 0;

// onFiles(File[]) is called for a drop or a pick. Returns {node, input, setBusy(text|null)}.
export function dropZone({ label, hint, accept, multiple = false, onFiles }) {
  const id = `drop-${++count}`;
  // The input stays in the page (tests and assistive tech can reach it) but the button is the
  // control people use: a styled file input cannot show a clear label in every browser.
  const input = el("input", {
    type: "file",
    id: `${id}-input`,
    class: "sr-only",
    accept,
    multiple,
    tabindex: "-1",
    "aria-hidden": "true",
  });
  const button = el(
    "button",
    { type: "button", class: "primary" },
    "Choose file" + (multiple ? "s" : ""),
  );
  const status = el("p", { class: "drop-status", role: "status" });
  const zone = el(
    "div",
    {
      class: "drop-zone",
      role: "group",
      "aria-labelledby": `${id}-label`,
      "aria-describedby": `${id}-hint`,
    },
    el("p", { class: "drop-title", id: `${id}-label` }, label),
    el("p", { class: "field-hint", id: `${id}-hint` }, hint),
    el("p", { class: "drop-or" }, "Drag and drop here, or"),
    button,
    input,
    status,
  );

  button.addEventListener("click", () => input.click());
  input.addEventListener("change", () => {
    const files = [...input.files];
    input.value = ""; // picking the same file again must fire change again
    if (files.length) onFiles(files);
  });
  // dragenter/leave fire for every child crossed; a depth counter tells when the pointer left.
  let depth = 0;
  zone.addEventListener("dragenter", (event) => {
    event.preventDefault();
    depth += 1;
    zone.classList.add("over");
  });
  zone.addEventListener("dragover", (event) => {
    event.preventDefault();
    if (event.dataTransfer) event.dataTransfer.dropEffect = "copy";
  });
  zone.addEventListener("dragleave", () => {
    depth = Math.max(0, depth - 1);
    if (!depth) zone.classList.remove("over");
  });
  zone.addEventListener("drop", (event) => {
    event.preventDefault();
    depth = 0;
    zone.classList.remove("over");
    const files = [...(event.dataTransfer?.files || [])];
    if (files.length) onFiles(multiple ? files : files.slice(0, 1));
  });

  return {
    node: zone,
    input,
    setBusy(text) {
      zone.setAttribute("aria-busy", String(Boolean(text)));
      button.disabled = Boolean(text);
      status.textContent = text || "";
    },
  };
}

// While a view with drop zones is shown, a file dropped beside a zone must not make the browser
// leave the studio to open the file. Returns the function that undoes it.
export function guardWindowDrops() {
  const stop = (event) => {
    if (event.dataTransfer?.types?.includes("Files")) event.preventDefault();
  };
  window.addEventListener("dragover", stop);
  window.addEventListener("drop", stop);
  return () => {
    window.removeEventListener("dragover", stop);
    window.removeEventListener("drop", stop);
  };
}
