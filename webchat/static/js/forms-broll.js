// The b-roll form: a list of generated clips (add, remove, reorder), a look for all of them,
// music and format. POST /v1/videos/broll {scenes[{prompt, duration_s, narration}], style,
// music, music_prompt, format[, quote_id]}.

import { el } from "./ui.js";
import {
  FormProblem,
  LIMITS,
  checkbox,
  counted,
  field,
  formatSelect,
  pricePanel,
  studioForm,
} from "./forms-parts.js";

let uid = 0;

export async function renderBroll(root, ctx) {
  const scenes = []; // in order: {node, prompt, duration, narration, counts, buttons}
  const list = el("ol", { class: "scene-list", "aria-label": "Scenes" });
  const add = el("button", { type: "button" }, "+ Add scene");
  const style = el("input", {
    type: "text",
    maxlength: LIMITS.style,
    placeholder: "cinematic, warm light, shallow depth of field",
  });
  const music = checkbox("br-music", "Music bed under the clips", true);
  const musicPrompt = el("input", {
    type: "text",
    maxlength: LIMITS.musicPrompt,
    value: "upbeat light background music",
  });
  const format = formatSelect();
  music.input.addEventListener("change", () => {
    musicPrompt.disabled = !music.input.checked;
  });

  function sceneNode(initial = {}) {
    const id = `br-scene-${++uid}`;
    const prompt = el("textarea", {
      rows: 2,
      placeholder: "close-up of a smart thermostat on a white wall, morning light",
    });
    prompt.value = initial.prompt || "";
    const duration = el("input", {
      type: "range",
      min: LIMITS.minSeconds,
      max: LIMITS.maxSeconds,
      step: 0.5,
      value: initial.duration ?? 4,
    });
    const shown = el("output", { for: `${id}-duration`, class: "range-value" });
    const narration = el("textarea", { rows: 2, placeholder: "Optional voice-over for this clip" });
    narration.value = initial.narration || "";
    const showDuration = () => {
      shown.textContent = `${duration.value} s`;
      duration.setAttribute("aria-valuetext", `${duration.value} seconds`);
    };
    duration.addEventListener("input", showDuration);
    showDuration();
    const legend = el("legend", {});
    const up = el("button", { type: "button", class: "small-button" }, "↑ Up");
    const down = el("button", { type: "button", class: "small-button" }, "↓ Down");
    const remove = el("button", { type: "button", class: "small-button danger" }, "Remove");
    const promptCount = counted(prompt, LIMITS.prompt);
    const narrationCount = counted(narration, LIMITS.text);
    const scene = {
      id,
      prompt,
      duration,
      narration,
      legend,
      up,
      down,
      remove,
      promptCount,
      narrationCount,
    };
    scene.node = el(
      "li",
      { class: "scene" },
      el(
        "fieldset",
        {},
        legend,
        field(`${id}-prompt`, "What the clip shows", prompt, promptCount.counter),
        el(
          "div",
          { class: "field range-field" },
          el("label", { for: `${id}-duration` }, "Duration ", shown),
          Object.assign(duration, { id: `${id}-duration` }),
        ),
        field(`${id}-narration`, "Narration", narration, narrationCount.counter),
        el("div", { class: "scene-actions" }, up, down, remove),
      ),
    );
    up.addEventListener("click", () => move(scene, -1, up));
    down.addEventListener("click", () => move(scene, +1, down));
    remove.addEventListener("click", () => removeScene(scene));
    return scene;
  }

  // Legends, button names and which moves are possible follow the order after every change.
  function renumber() {
    scenes.forEach((s, i) => {
      const n = i + 1;
      s.legend.textContent = `Scene ${n}`;
      s.up.setAttribute("aria-label", `Move scene ${n} up`);
      s.down.setAttribute("aria-label", `Move scene ${n} down`);
      s.remove.setAttribute("aria-label", `Remove scene ${n}`);
      s.up.disabled = i === 0;
      s.down.disabled = i === scenes.length - 1;
      s.remove.disabled = scenes.length === 1;
    });
    add.disabled = scenes.length >= LIMITS.scenes;
    panel.reset();
  }

  function addScene(initial) {
    const scene = sceneNode(initial);
    scenes.push(scene);
    list.append(scene.node);
    renumber();
    return scene;
  }

  function move(scene, step, button) {
    const from = scenes.indexOf(scene);
    const to = from + step;
    if (to < 0 || to >= scenes.length) return;
    scenes.splice(from, 1);
    scenes.splice(to, 0, scene);
    list.replaceChildren(...scenes.map((s) => s.node));
    renumber();
    // Keep the keyboard where it was: on the same button, or its twin once at an end.
    (button.disabled ? (step < 0 ? scene.down : scene.up) : button).focus();
  }

  function removeScene(scene) {
    const at = scenes.indexOf(scene);
    scenes.splice(at, 1);
    scene.node.remove();
    renumber();
    const next = scenes[Math.min(at, scenes.length - 1)];
    next.prompt.focus();
  }

  const body = () => {
    const out = scenes.map((s, i) => {
      const prompt = s.prompt.value.trim();
      if (!prompt) throw new FormProblem(`Scene ${i + 1}: describe what the clip shows.`, s.prompt);
      if (s.promptCount.over())
        throw new FormProblem(
          `Scene ${i + 1}: the description is longer than ${LIMITS.prompt} characters.`,
          s.prompt,
        );
      if (s.narrationCount.over())
        throw new FormProblem(
          `Scene ${i + 1}: the narration is longer than ${LIMITS.text} characters.`,
          s.narration,
        );
      return { prompt, duration_s: Number(s.duration.value), narration: s.narration.value.trim() };
    });
    return {
      scenes: out,
      style: style.value.trim(),
      music: music.input.checked,
      music_prompt: musicPrompt.value.trim() || "upbeat light background music",
      format: format.value,
    };
  };
  const panel = pricePanel({ ctx, endpoint: "/v1/videos/broll", body });
  add.addEventListener("click", () => addScene().prompt.focus());

  const form = studioForm(
    {
      title: "B-roll",
      intro: "A sequence of generated clips, each with an optional voice-over.",
      panel,
    },
    list,
    add,
    field("br-style", "Style for every scene", style, "Added to each scene's description."),
    music.node,
    field("br-music-prompt", "Music style", musicPrompt),
    field("br-format", "Format (resolution)", format),
  );
  addScene();
  root.append(form);
}
