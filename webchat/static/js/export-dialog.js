// The export dialog: pick platforms, cut the finished video for each in one free export job,
// follow it, then download each file.

import { authUrl, followJob } from "./api.js";
import { el, percent } from "./ui.js";

export const PLATFORMS = [
  ["tiktok", "TikTok", "1080×1920, vertical"],
  ["youtube", "YouTube", "1920×1080, landscape"],
  ["instagram", "Instagram", "1080×1350, portrait feed"],
  ["x", "X", "1280×720, landscape"],
];
const NAMES = Object.fromEntries(PLATFORMS.map(([key, name]) => [key, name]));

// A download link whose token is taken fresh at the click: the page may have been open a while.
export function downloadLink(path, text) {
  const link = el("a", { class: "button", href: authUrl(path), download: "" }, text);
  link.addEventListener("click", () => {
    link.href = authUrl(path);
  });
  return link;
}

export function exportLinks(exports) {
  return Object.entries(exports).map(([format, url]) =>
    el("li", {}, downloadLink(new URL(url, location.origin).pathname, `Download ${NAMES[format] || format}`)),
  );
}

// Opens the dialog for job `jobId`; onExported(exportJob) is called when the files are ready.
export function openExportDialog({ api, jobId, onExported }) {
  let stop = null;
  const error = el("p", { class: "error", role: "alert" });
  const bar = el("progress", { max: 1, value: 0, "aria-label": "Export progress" });
  const state = el("p", { role: "status" });
  const progress = el("div", { class: "export-progress", hidden: true }, bar, state);
  const links = el("ul", { class: "export-links" });
  const submit = el("button", { type: "submit", class: "primary" }, "Export");
  const close = el("button", { type: "button", class: "close" }, "Close");
  const form = el(
    "form",
    {},
    el("h2", { id: "export-title" }, "Export for platforms"),
    el(
      "fieldset",
      {},
      el("legend", {}, "Formats"),
      PLATFORMS.map(([key, name, size]) =>
        el(
          "label",
          { class: "platform" },
          el("input", { type: "checkbox", name: "formats", value: key }),
          ` ${name} `,
          el("span", { class: "muted" }, size),
        ),
      ),
    ),
    el("p", { class: "field-hint" }, "Exports are free; each platform gets its own file."),
    error,
    progress,
    links,
    el("div", { class: "actions" }, submit, close),
  );
  const dialog = el("dialog", { class: "export-dialog", "aria-labelledby": "export-title" }, form);

  close.addEventListener("click", () => dialog.close());
  dialog.addEventListener("close", () => {
    stop?.();
    dialog.remove();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const formats = new FormData(form).getAll("formats");
    error.textContent = "";
    if (!formats.length) {
      error.textContent = "Pick at least one platform.";
      form.querySelector("input").focus();
      return;
    }
    submit.disabled = true;
    links.replaceChildren();
    try {
      const job = await api(`/v1/jobs/${jobId}/exports`, { method: "POST", body: { formats } });
      progress.hidden = false;
      state.textContent = "Exporting…";
      stop = followJob(job.id, (event) => follow(job.id, event));
    } catch (failure) {
      error.textContent = failure.message;
      submit.disabled = false;
    }
  });

  async function follow(exportId, event) {
    bar.value = event.fraction;
    const done = ["succeeded", "failed", "cancelled"].includes(event.status);
    if (!done) {
      state.textContent = `Exporting… ${percent(event.fraction)}`;
      return;
    }
    submit.disabled = false;
    if (event.status !== "succeeded") {
      state.textContent = "";
      error.textContent = event.message || `The export ${event.status}.`;
      return;
    }
    try {
      const job = await api(`/v1/jobs/${exportId}`);
      state.textContent = "Ready to download.";
      links.replaceChildren(...exportLinks(job.links.exports));
      links.querySelector("a")?.focus();
      onExported?.(job);
    } catch (failure) {
      error.textContent = failure.message;
    }
  }

  document.body.append(dialog);
  dialog.showModal();
  form.querySelector("input").focus();
  return dialog;
}
