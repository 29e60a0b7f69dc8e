// The classic forms, the fallback to the chat: one address each (#/forms/talking-head,
// #/forms/broll, #/forms/production). Each shows its credit cost before Generate is enabled.

import { el } from "../ui.js";
import { renderTalkingHead } from "../forms-talking.js";
import { renderBroll } from "../forms-broll.js";
import { renderProduction } from "../forms-production.js";

const FORMS = [
  { id: "talking-head", label: "Talking head", render: renderTalkingHead },
  { id: "broll", label: "B-roll", render: renderBroll },
  { id: "production", label: "Full production", render: renderProduction },
];

export async function render(root, ctx) {
  const current = FORMS.find((f) => f.id === ctx.params[0]) || FORMS[0];
  root.append(
    el("h1", {}, "Create a video"),
    el(
      "nav",
      { class: "section-tabs", "aria-label": "Forms" },
      FORMS.map((f) =>
        el(
          "a",
          { href: `#/forms/${f.id}`, "aria-current": f === current ? "page" : false },
          f.label,
        ),
      ),
    ),
  );
  const panel = el("section", { class: "form-panel" });
  root.append(panel);
  return current.render(panel, ctx);
}
