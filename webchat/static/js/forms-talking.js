// The talking-head form: the host says a text, in a chosen voice, language, face and format.
// POST /v1/videos/talking-head {text, voice, voice_engine, language, avatar_asset_id,
// background, background_prompt, format[, quote_id]}.

import { el } from "./ui.js";
import { listAvatars, listVoices } from "./studio-parts.js";
import {
  FormProblem,
  LIMITS,
  avatarSelect,
  backgroundFields,
  counted,
  field,
  formatSelect,
  gpuStatus,
  languageSelect,
  pricePanel,
  voiceEngineSelect,
  voiceSelect,
  studioForm,
} from "./forms-parts.js";

export async function renderTalkingHead(root, ctx) {
  const [voices, avatars, gpu] = await Promise.all([
    listVoices(ctx.api),
    listAvatars(ctx.api),
    gpuStatus(ctx.api),
  ]);
  const text = el("textarea", {
    rows: 6,
    placeholder: "Hi, I'm Maya. Here are three ways to cut your energy bill…",
  });
  const count = counted(text, LIMITS.text);
  const avatar = avatarSelect(avatars);
  const voice = voiceSelect(voices);
  const engine = voiceEngineSelect(gpu);
  const background = backgroundFields("th");
  const language = languageSelect();
  const format = formatSelect();

  const body = () => {
    const words = text.value.trim();
    if (!words) throw new FormProblem("Write what the host says.", text);
    if (count.over())
      throw new FormProblem(`The text is longer than ${LIMITS.text} characters.`, text);
    return {
      text: words,
      avatar_asset_id: avatar.value || undefined,
      voice: voice.value,
      voice_engine: engine.value,
      language: language.value,
      format: format.value,
      ...background.value(),
    };
  };
  const panel = pricePanel({ ctx, endpoint: "/v1/videos/talking-head", body });
  const form = studioForm(
    { title: "Talking head", intro: "A host speaks your script to the camera.", panel },
    field("th-text", "Script", text, count.counter),
    field(
      "th-avatar",
      "Avatar",
      avatar,
      el(
        "p",
        { class: "field-hint" },
        "Your portraits from the ",
        el("a", { href: "#/library/avatars" }, "library"),
        ", or the default host.",
      ),
    ),
    field(
      "th-voice",
      "Voice",
      voice,
      el(
        "p",
        { class: "field-hint" },
        "A built-in voice or one of your voice references (",
        el("a", { href: "#/library/voices" }, "add one"),
        ").",
      ),
    ),
    el(
      "div",
      { class: "field-row" },
      field("th-engine", "Voice engine", engine),
      field("th-language", "Language", language),
    ),
    ...background.nodes,
    field("th-format", "Format", format),
  );
  root.append(form);
}
