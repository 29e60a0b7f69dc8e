// The full-production form: a whole script of [TALKING] and [BROLL: …] segments, checked as it
// is typed, plus every production setting. POST /v1/videos/production {script, options[, quote_id]}.

import { el } from "./ui.js";
import { debounce, listAvatars, listVoices } from "./studio-parts.js";
import { scriptEditor } from "./script-highlight.js";
import {
  FormProblem,
  LIMITS,
  avatarSelect,
  backgroundFields,
  captionFields,
  checkbox,
  field,
  formatSelect,
  gpuStatus,
  languageSelect,
  pricePanel,
  select,
  voiceEngineSelect,
  voiceSelect,
  studioForm,
} from "./forms-parts.js";

const EXAMPLE = `[TALKING] Hi, I'm Maya. Three ways to cut your energy bill, in thirty seconds.
[BROLL: close-up of a smart thermostat on a white wall, morning light | 5s] First, let it learn your schedule.
[BROLL: rooftop solar panels, aerial drone shot] Second, make your own power.
[TALKING] Follow for part two.
`;

const PRESETS = [
  ["fast", "Fast (quickest, lighter quality)"],
  ["balanced", "Balanced"],
  ["quality", "Quality (slowest)"],
];

// Above the plan's size the API refuses (403 plan_required) and the price panel says which plan.
const RESOLUTIONS = [
  ["auto", "Auto (best your plan allows)"],
  ["720p", "720p"],
  ["1080p", "1080p (Starter and above)"],
  ["4k", "4K (Business)"],
];

export async function renderProduction(root, ctx) {
  const [voices, avatars, gpu] = await Promise.all([
    listVoices(ctx.api),
    listAvatars(ctx.api),
    gpuStatus(ctx.api),
  ]);
  const editor = scriptEditor({
    id: "pr-script",
    placeholder:
      "[TALKING] What the host says\n[BROLL: what the clip shows | 5s] Optional narration",
    describedBy: "pr-script-help pr-script-check",
  });
  const check = el("div", {
    class: "script-check",
    id: "pr-script-check",
    role: "status",
    "aria-live": "polite",
  });
  const example = el(
    "button",
    { type: "button", class: "link-button" },
    "Insert an example script",
  );

  const format = formatSelect();
  const voice = voiceSelect(voices);
  const engine = voiceEngineSelect(gpu);
  const language = languageSelect();
  const avatar = avatarSelect(avatars);
  const background = backgroundFields("pr");
  const music = checkbox("pr-music", "Music bed", true);
  const musicPrompt = el("input", {
    type: "text",
    maxlength: LIMITS.musicPrompt,
    value: "upbeat light background music",
  });
  const captions = checkbox("pr-captions", "Burn in captions (and write an SRT file)", true);
  const captionLook = captionFields("pr", captions);
  const preset = select(PRESETS, "fast");
  const resolution = select(RESOLUTIONS, "auto");
  const title = el("input", {
    type: "text",
    maxlength: LIMITS.title,
    placeholder: "Used for file names",
  });
  music.input.addEventListener("change", () => {
    musicPrompt.disabled = !music.input.checked;
  });

  // Checked as typed: only the newest answer is shown, however the requests overtake each other.
  let asked = 0;
  const validate = debounce(async () => {
    const script = editor.input.value;
    const mine = ++asked;
    if (!script.trim()) {
      editor.setIssues([]);
      check.replaceChildren();
      return;
    }
    try {
      const out = await ctx.api("/v1/scripts/validate", { method: "POST", body: { script } });
      if (mine !== asked) return;
      editor.setIssues(out.errors);
      showCheck(out);
    } catch (error) {
      if (mine === asked) check.replaceChildren(el("p", { class: "error" }, error.message));
    }
  }, 400);

  function showCheck(out) {
    if (out.valid) {
      const talking = out.segments.filter((s) => s.kind === "talking").length;
      check.replaceChildren(
        el(
          "p",
          { class: "ok" },
          `✓ ${out.segments.length} segments (${talking} talking, ${out.segments.length - talking} b-roll), about ${Math.round(out.planned_seconds)} s`,
        ),
      );
      return;
    }
    check.replaceChildren(
      el(
        "p",
        { class: "error" },
        `${out.errors.length} problem${out.errors.length === 1 ? "" : "s"} in the script:`,
      ),
      el(
        "ul",
        { class: "script-issues" },
        out.errors.map((issue) =>
          el(
            "li",
            {},
            el(
              "button",
              {
                type: "button",
                class: "link-button issue",
                onclick: () => editor.goTo(issue.line, issue.column),
              },
              `Line ${issue.line}, column ${issue.column}: ${issue.message}`,
            ),
          ),
        ),
      ),
    );
  }

  editor.input.addEventListener("input", validate);
  example.addEventListener("click", () => {
    editor.setValue(EXAMPLE);
    editor.input.dispatchEvent(new Event("input", { bubbles: true }));
    editor.input.focus();
  });

  const body = () => {
    const script = editor.input.value;
    if (!script.trim())
      throw new FormProblem("Write a script first, or insert the example.", editor.input);
    const options = {
      format: format.value,
      language: language.value,
      voice: voice.value,
      voice_engine: engine.value,
      ...background.value(),
      music: music.input.checked,
      music_prompt: musicPrompt.value.trim() || "upbeat light background music",
      captions: captions.input.checked,
      caption_look: captionLook.value(),
      preset: preset.value,
      resolution: resolution.value,
      title: title.value.trim(),
    };
    if (avatar.value) options.avatar_asset_id = avatar.value;
    return { script, options };
  };
  const panel = pricePanel({ ctx, endpoint: "/v1/videos/production", body });

  const form = studioForm(
    { title: "Full production", intro: "Talking and b-roll segments in one video.", panel },
    el("div", { class: "field" }, el("label", { for: "pr-script" }, "Script"), editor.node),
    el(
      "p",
      { class: "field-hint", id: "pr-script-help" },
      "One segment a line: ",
      el("code", { class: "tok-talking" }, "[TALKING] words"),
      " or ",
      el("code", { class: "tok-broll" }, "[BROLL: what the clip shows | 5s] narration"),
      ". Lines starting with # are notes. ",
      example,
    ),
    check,
    el(
      "fieldset",
      { class: "settings" },
      el("legend", {}, "Settings"),
      el(
        "div",
        { class: "field-row" },
        field("pr-format", "Format", format),
        field("pr-preset", "Quality", preset),
      ),
      el("div", { class: "field-row" }, field("pr-resolution", "Resolution", resolution)),
      el(
        "div",
        { class: "field-row" },
        field("pr-voice", "Voice", voice),
        field("pr-language", "Language", language),
      ),
      el(
        "div",
        { class: "field-row" },
        field("pr-avatar", "Avatar", avatar),
        field("pr-engine", "Voice engine", engine),
      ),
      ...background.nodes,
      music.node,
      field("pr-music-prompt", "Music style", musicPrompt),
      captions.node,
      ...captionLook.nodes,
      field("pr-title", "Title", title),
    ),
  );
  root.append(form);
  return () => validate.cancel();
}
