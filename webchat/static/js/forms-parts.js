// What the three forms share: labelled fields, the settings selects, and the price-then-generate
// panel that keeps Generate disabled until the person has seen the cost of exactly this form.

import { el } from "./ui.js";
import { busy, clearError, errorBox, showError } from "./studio-parts.js";

// Limits of the API (core/script.py, tools/production.py, core/production.py), checked here
// only to say so while typing; the API checks them again.
export const LIMITS = {
  text: 800,
  prompt: 400,
  scenes: 60,
  minSeconds: 1,
  maxSeconds: 20,
  style: 120,
  musicPrompt: 200,
  backgroundPrompt: 300,
  title: 120,
};

// Speech engines a job may ask for (core/production.py VoiceEngine). "auto" is always there;
// the others only where the GPU server has them installed (/v1/gpu/status voice_engines).
export const VOICE_ENGINES = [
  ["auto", "Automatic (the best installed)"],
  ["fish-speech", "Fish Speech"],
  ["cosyvoice", "CosyVoice"],
  ["espeak", "eSpeak NG (lite, CPU)"],
];
export const DEFAULT_BACKGROUND = "a bright modern studio with soft light";

export const FORMATS = [
  ["tiktok", "Vertical 9:16 · 1080×1920 (TikTok, Reels, Shorts)"],
  ["youtube", "Landscape 16:9 · 1920×1080 (YouTube)"],
  ["square", "Square 1:1 · 1080×1080"],
];

export const LANGUAGES = [
  ["en", "English"],
  ["es", "Spanish"],
  ["fr", "French"],
  ["de", "German"],
  ["it", "Italian"],
  ["pt", "Portuguese"],
  ["nl", "Dutch"],
  ["pl", "Polish"],
  ["tr", "Turkish"],
  ["ru", "Russian"],
  ["uk", "Ukrainian"],
  ["ar", "Arabic"],
  ["hi", "Hindi"],
  ["ja", "Japanese"],
  ["ko", "Korean"],
  ["zh", "Chinese"],
];

// A control with its label (and hint, described-by) in one block.
export function field(id, label, control, hint) {
  control.id = id;
  const parts = [el("label", { for: id }, label), control];
  if (hint) {
    const hintId = `${id}-hint`;
    control.setAttribute(
      "aria-describedby",
      [control.getAttribute("aria-describedby"), hintId].filter(Boolean).join(" "),
    );
    parts.push(
      hint instanceof Node
        ? Object.assign(hint, { id: hintId })
        : el("p", { class: "field-hint", id: hintId }, hint),
    );
  }
  return el("div", { class: "field" }, parts);
}

export function select(options, value) {
  return el(
    "select",
    {},
    options.map(([v, label]) => el("option", { value: v, selected: v === value }, label)),
  );
}

export function checkbox(id, label, checked) {
  const box = el("input", { type: "checkbox", id, checked });
  return { input: box, node: el("div", { class: "check" }, box, el("label", { for: id }, label)) };
}

// A text field with a live "n / max" counter that turns red past the limit.
export function counted(control, max) {
  const counter = el("p", { class: "char-count", "aria-live": "polite" });
  const update = () => {
    const n = control.value.length;
    counter.textContent = `${n} / ${max} characters`;
    counter.classList.toggle("over", n > max);
    control.setAttribute("aria-invalid", String(n > max));
  };
  control.addEventListener("input", update);
  update();
  return { counter, update, over: () => control.value.length > max };
}

export function formatSelect(value = "tiktok") {
  return select(FORMATS, value);
}

export function languageSelect(value = "en") {
  return select(LANGUAGES, value);
}

// Built-in voices, then the person's voice references (cloned from their uploads).
export function voiceSelect(voices) {
  const builtIn = voices.filter((v) => v.kind === "builtin");
  const cloned = voices.filter((v) => v.kind === "cloned");
  return el(
    "select",
    {},
    el(
      "optgroup",
      { label: "Built-in voices" },
      builtIn.map((v) => el("option", { value: v.id }, v.name)),
    ),
    cloned.length
      ? el(
          "optgroup",
          { label: "Your voice references" },
          cloned.map((v) => el("option", { value: v.id }, v.name)),
        )
      : null,
  );
}

// The engine list marks what this GPU server cannot run now, so a choice never waits for an
// engine that is not there; while the GPU is offline nothing can be known, so nothing is marked.
export function voiceEngineSelect(status) {
  const installed = status && status.state === "online" ? status.voice_engines : null;
  return el(
    "select",
    {},
    VOICE_ENGINES.map(([value, label]) => {
      const missing = installed && value !== "auto" && !installed.includes(value);
      return el(
        "option",
        { value, disabled: Boolean(missing) },
        missing ? `${label} — not installed on the GPU server` : label,
      );
    }),
  );
}

export async function gpuStatus(api) {
  try {
    return await api("/v1/gpu/status");
  } catch {
    return null;
  }
}

// "Background" toggle and what it shows: the host then stands in a frame over a generated
// picture instead of in front of the portrait's own backdrop.
export function backgroundFields(prefix) {
  const toggle = checkbox(`${prefix}-background`, "Generated background behind the host", false);
  const prompt = el("input", {
    type: "text",
    maxlength: LIMITS.backgroundPrompt,
    value: DEFAULT_BACKGROUND,
    disabled: true,
  });
  toggle.input.addEventListener("change", () => {
    prompt.disabled = !toggle.input.checked;
  });
  return {
    nodes: [toggle.node, field(`${prefix}-background-prompt`, "Background shows", prompt)],
    value() {
      if (!toggle.input.checked) return { background: false };
      const text = prompt.value.trim();
      if (!text) throw new FormProblem("Say what the background shows, or turn it off.", prompt);
      return { background: true, background_prompt: text };
    },
  };
}

// How burned-in captions look; the controls follow the captions toggle, and the colour of the
// spoken word and capitals only apply to the word-by-word style.
export function captionFields(prefix, toggle) {
  const style = select(
    [
      ["word", "Word by word (bold, spoken word marked)"],
      ["classic", "Classic subtitle lines"],
    ],
    "word",
  );
  const position = select(
    [
      ["bottom", "Bottom"],
      ["middle", "Middle"],
      ["top", "Top"],
    ],
    "bottom",
  );
  const colour = el("input", { type: "color", value: "#ffffff" });
  const highlight = el("input", { type: "color", value: "#ffe500" });
  const upper = checkbox(`${prefix}-caption-upper`, "Captions in capital letters", false);
  const sync = () => {
    const on = toggle.input.checked;
    for (const control of [style, position, colour]) control.disabled = !on;
    for (const control of [highlight, upper.input]) control.disabled = !on || style.value !== "word";
  };
  toggle.input.addEventListener("change", sync);
  style.addEventListener("change", sync);
  sync();
  return {
    nodes: [
      el(
        "div",
        { class: "field-row" },
        field(`${prefix}-caption-style`, "Caption style", style),
        field(`${prefix}-caption-position`, "Caption position", position),
      ),
      el(
        "div",
        { class: "field-row" },
        field(`${prefix}-caption-colour`, "Caption colour", colour),
        field(`${prefix}-caption-highlight`, "Spoken word colour", highlight),
      ),
      upper.node,
    ],
    value() {
      return {
        style: style.value,
        position: position.value,
        text_colour: colour.value.toUpperCase(),
        highlight_colour: highlight.value.toUpperCase(),
        uppercase: upper.input.checked,
      };
    },
  };
}

export function avatarSelect(avatars) {
  return el(
    "select",
    {},
    el("option", { value: "" }, "Default host"),
    avatars.map((a) => el("option", { value: a.id }, a.name)),
  );
}

// A problem the form finds before asking the API (an empty field, a text over its limit).
export class FormProblem extends Error {
  constructor(message, control) {
    super(message);
    this.control = control;
  }
}

// The price panel. `body()` builds the request from the form (or throws FormProblem).
// "Get price" posts it without quote_id; Generate posts the very same body with the quote id,
// so what is produced is what was priced. Any edit calls invalidate() and Generate is off again.
export function pricePanel({ ctx, endpoint, body }) {
  const summary = el(
    "div",
    { class: "price-summary", role: "status", "aria-live": "polite" },
    "Get a price to generate.",
  );
  const priceButton = el("button", { type: "submit", class: "price-button" }, "Get price");
  const generate = el(
    "button",
    { type: "button", class: "primary generate-button", disabled: true },
    "Generate",
  );
  const errors = errorBox();
  let quoted = null; // {key, quote}

  function invalidate() {
    if (!quoted) return;
    quoted = null;
    generate.disabled = true;
    summary.replaceChildren("The form changed: get the price again to generate.");
  }

  function build() {
    try {
      return body();
    } catch (problem) {
      if (!(problem instanceof FormProblem)) throw problem;
      showError(errors, problem);
      problem.control?.focus();
      return null;
    }
  }

  async function getPrice() {
    clearError(errors);
    const request = build();
    if (!request) return;
    try {
      const out = await busy(priceButton, "Pricing…", () =>
        ctx.api(endpoint, { method: "POST", body: request }),
      );
      quoted = { key: JSON.stringify(request), quote: out.quote };
      showQuote(out.quote);
    } catch (error) {
      showError(errors, error);
    }
  }

  function showQuote(quote) {
    const short = quote.credits > quote.balance;
    summary.replaceChildren(
      el(
        "p",
        { class: "price-line" },
        el("strong", { class: "price-credits" }, `${quote.credits} credits`),
        ` · about ${Math.round(quote.planned_seconds)} s of video`,
      ),
      el(
        "p",
        { class: short ? "error" : "muted" },
        short
          ? `Your balance is ${quote.balance} credits: not enough for this video.`
          : `Your balance: ${quote.balance} credits.`,
      ),
      el(
        "details",
        {},
        el("summary", {}, "Price breakdown"),
        el(
          "ul",
          { class: "price-items" },
          quote.items.map((i) =>
            el("li", {}, el("span", {}, i.label), el("span", {}, `${round(i.credits)} cr`)),
          ),
        ),
      ),
    );
    generate.disabled = short;
    generate.textContent = `Generate for ${quote.credits} credits`;
  }

  async function produce() {
    clearError(errors);
    const request = build();
    if (!request || !quoted) return;
    if (JSON.stringify(request) !== quoted.key) {
      invalidate(); // an edit that slipped past the input events: never spend on an old price
      return;
    }
    try {
      const out = await busy(generate, "Starting…", () =>
        ctx.api(endpoint, {
          method: "POST",
          body: { ...request, quote_id: quoted.quote.quote_id },
        }),
      );
      window.dispatchEvent(new CustomEvent("skyie:balance-changed"));
      ctx.toast(`Started: ${out.job.credits} credits held until the video is ready`);
      ctx.navigate(`#/job/${encodeURIComponent(out.job.job_id)}`);
    } catch (error) {
      showError(errors, error);
      if (error.status === 409 || error.status === 422) {
        quoted = null; // a used or expired quote cannot be tried again
        generate.disabled = true;
      }
    }
  }

  generate.addEventListener("click", produce);
  const node = el(
    "div",
    { class: "price-panel card" },
    el("h2", { class: "price-title" }, "Cost"),
    summary,
    el("div", { class: "form-actions" }, priceButton, generate),
    errors,
  );
  return {
    node,
    invalidate,
    getPrice,
    reset() {
      generate.textContent = "Generate";
      invalidate();
    },
  };
}

// The frame every form shares: title, intro, its fields beside the price panel. Submitting
// (Enter or "Get price") prices it; any edit withdraws the price until it is asked again.
export function studioForm({ title, intro, panel }, ...fields) {
  const form = el(
    "form",
    { class: "studio-form", "aria-labelledby": "form-title", novalidate: true },
    el("h2", { id: "form-title" }, title),
    el("p", { class: "muted" }, intro),
    el("div", { class: "form-layout" }, el("div", { class: "form-fields" }, ...fields), panel.node),
  );
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    panel.getPrice();
  });
  form.addEventListener("input", () => panel.reset());
  form.addEventListener("change", () => panel.reset());
  return form;
}

function round(value) {
  return Math.round(value * 100) / 100;
}
