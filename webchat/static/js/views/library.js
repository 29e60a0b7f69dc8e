// The library: the person's videos, avatars and voices. Each section has its own address
// (#/library/videos, #/library/avatars, #/library/voices) so it can be linked and bookmarked.

import { el } from "../ui.js";
import { renderVideos } from "../library-videos.js";
import { renderAvatars, renderVoices } from "../library-assets.js";

const SECTIONS = [
  { id: "videos", label: "Videos", render: renderVideos },
  { id: "avatars", label: "Avatars", render: renderAvatars },
  { id: "voices", label: "Voices", render: renderVoices },
];

export async function render(root, ctx) {
  const current = SECTIONS.find((s) => s.id === ctx.params[0]) || SECTIONS[0];
  const tabs = el(
    "nav",
    { class: "section-tabs", "aria-label": "Library sections" },
    SECTIONS.map((s) =>
      el(
        "a",
        { href: `#/library/${s.id}`, "aria-current": s === current ? "page" : false },
        s.label,
      ),
    ),
  );
  const panel = el("section", { class: "library-panel", "aria-labelledby": "section-title" });
  root.append(el("h1", {}, "Library"), tabs, panel);
  return current.render(panel, ctx);
}
