// The library's avatars (portraits to animate) and voices (built-in, and references to clone,
// uploaded only with the speaker's consent).

import { el, formatDate, formatSeconds } from "./ui.js";
import { dropZone, guardWindowDrops } from "./drop-zone.js";
import {
  busy,
  clearError,
  confirmDialog,
  errorBox,
  formatBytes,
  listAvatars,
  listVoiceAssets,
  listVoices,
  setPrivateSource,
  showError,
} from "./studio-parts.js";

export async function renderAvatars(panel, ctx) {
  const grid = el("ul", { class: "asset-grid", "aria-label": "Your avatars" });
  const empty = el("p", { class: "muted" }, "No avatars yet: the default host is used.");
  const errors = errorBox();
  const zone = dropZone({
    label: "Add a portrait",
    hint: "PNG, JPEG or WebP, at least 128 px a side. A face looking at the camera works best.",
    accept: "image/png,image/jpeg,image/webp",
    multiple: true,
    onFiles: upload,
  });

  async function upload(files) {
    clearError(errors);
    for (const file of files) {
      zone.setBusy(`Uploading ${file.name}…`);
      try {
        const form = new FormData();
        form.append("file", file, file.name);
        const asset = await ctx.api("/v1/assets/avatars", { method: "POST", form });
        grid.prepend(avatarCard(asset));
        ctx.toast(`Avatar “${asset.name}” added`);
      } catch (error) {
        // The API checks the image itself (type, size); its message says what was wrong.
        showError(errors, { ...error, message: `${file.name}: ${error.message}` });
      }
    }
    zone.setBusy(null);
    empty.hidden = grid.children.length > 0;
  }

  function avatarCard(asset) {
    const errors = errorBox();
    const remove = el("button", { type: "button", class: "danger" }, "Delete");
    const size = asset.meta.width
      ? `${asset.meta.width}×${asset.meta.height}`
      : formatBytes(asset.size);
    const node = el(
      "li",
      { class: "asset-card card", "data-asset-id": asset.id },
      setPrivateSource(
        el("img", { class: "avatar-preview", alt: `Avatar ${asset.name}`, loading: "lazy" }),
        asset.content_url,
      ),
      el("p", { class: "asset-name" }, asset.name),
      el("p", { class: "muted small" }, size, " · ", formatDate(asset.created_at)),
      remove,
      errors,
    );
    const removed = () => (empty.hidden = grid.children.length > 0);
    remove.addEventListener("click", () =>
      removeAsset(ctx, asset, node, remove, errors, "avatar", removed),
    );
    return node;
  }

  panel.append(el("h2", { id: "section-title" }, "Avatars"), zone.node, errors, empty, grid);
  const undoGuard = guardWindowDrops();
  try {
    const avatars = await listAvatars(ctx.api);
    grid.append(...avatars.map(avatarCard));
  } catch (error) {
    showError(errors, error);
  }
  empty.hidden = grid.children.length > 0;
  return undoGuard;
}

export async function renderVoices(panel, ctx) {
  const builtIn = el("ul", { class: "chip-list", "aria-label": "Built-in voices" });
  const own = el("ul", { class: "voice-list", "aria-label": "Your voice references" });
  const empty = el("p", { class: "muted" }, "No voice references yet.");
  const loadErrors = errorBox();

  const file = el("input", {
    type: "file",
    id: "voice-file",
    accept: "audio/*,.wav,.mp3,.ogg,.flac,.m4a,.webm",
    "aria-describedby": "voice-file-hint",
  });
  const consent = el("input", { type: "checkbox", id: "voice-consent", name: "consent" });
  const submit = el("button", { type: "submit", class: "primary" }, "Upload voice");
  const errors = errorBox();
  const form = el(
    "form",
    { class: "voice-upload card", "aria-labelledby": "voice-upload-title" },
    el("h3", { id: "voice-upload-title" }, "Add a voice reference"),
    el("label", { for: "voice-file" }, "Recording"),
    file,
    el(
      "p",
      { class: "field-hint", id: "voice-file-hint" },
      "3 to 120 seconds of one person speaking clearly: WAV, MP3, OGG, FLAC, M4A or WebM.",
    ),
    el(
      "div",
      { class: "check" },
      consent,
      el(
        "label",
        { for: "voice-consent" },
        "I am this speaker, or the speaker agreed that their voice may be cloned.",
      ),
    ),
    el(
      "p",
      { class: "field-hint" },
      "A voice is cloned only with the speaker's consent; it is recorded with the time you gave it.",
    ),
    el("div", { class: "form-actions" }, submit),
    errors,
  );

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    clearError(errors);
    const chosen = file.files[0];
    if (!chosen) {
      showError(errors, { message: "Choose a recording first." });
      file.focus();
      return;
    }
    // Consent is sent as given: the API is the one that refuses a voice without it, so the
    // rule lives in one place and its words are the ones shown.
    const body = new FormData();
    body.append("file", chosen, chosen.name);
    body.append("consent", consent.checked ? "true" : "false");
    try {
      const asset = await busy(submit, "Uploading…", () =>
        ctx.api("/v1/assets/voices", { method: "POST", form: body }),
      );
      own.prepend(voiceCard(asset));
      empty.hidden = true;
      form.reset();
      ctx.toast(`Voice “${asset.name}” added`);
    } catch (error) {
      showError(errors, error);
    }
  });

  function voiceCard(asset) {
    const errors = errorBox();
    const remove = el("button", { type: "button", class: "danger" }, "Delete");
    const audio = setPrivateSource(
      el("audio", { controls: true, preload: "none", "aria-label": `Play ${asset.name}` }),
      asset.content_url,
    );
    const facts = [
      asset.meta.duration_s ? formatSeconds(asset.meta.duration_s) : formatBytes(asset.size),
    ];
    if (asset.meta.consent_at) facts.push(`consent ${formatDate(asset.meta.consent_at)}`);
    const node = el(
      "li",
      { class: "voice-card card", "data-asset-id": asset.id },
      el("p", { class: "asset-name" }, asset.name),
      el("p", { class: "muted small" }, facts.join(" · ")),
      audio,
      remove,
      errors,
    );
    const removed = () => (empty.hidden = own.children.length > 0);
    remove.addEventListener("click", () =>
      removeAsset(ctx, asset, node, remove, errors, "voice", removed),
    );
    return node;
  }

  panel.append(
    el("h2", { id: "section-title" }, "Voices"),
    loadErrors,
    el("h3", {}, "Built-in voices"),
    builtIn,
    el("h3", {}, "Your voice references"),
    empty,
    own,
    form,
  );
  try {
    const [voices, assets] = await Promise.all([listVoices(ctx.api), listVoiceAssets(ctx.api)]);
    const builtIns = voices.filter((v) => v.kind === "builtin");
    builtIn.append(...builtIns.map((v) => el("li", { class: "chip" }, v.name)));
    own.append(...assets.map(voiceCard));
  } catch (error) {
    showError(loadErrors, error);
  }
  empty.hidden = own.children.length > 0;
}

async function removeAsset(ctx, asset, node, button, errors, what, onRemoved) {
  const ok = await confirmDialog({
    title: `Delete this ${what}?`,
    message: `“${asset.name}” is removed with its file. Videos already made keep it.`,
    confirmLabel: "Delete",
    danger: true,
  });
  if (!ok) return;
  clearError(errors);
  try {
    await busy(button, "Deleting…", () => ctx.api(`/v1/assets/${asset.id}`, { method: "DELETE" }));
    node.remove();
    onRemoved();
    ctx.toast(`${what[0].toUpperCase()}${what.slice(1)} deleted`);
  } catch (error) {
    showError(errors, error); // 409 while a queued or running job uses it
  }
}
