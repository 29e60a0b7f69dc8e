// The dashboard: the person's recent jobs as cards (status, progress or thumbnail), newest
// first, and a way in for someone who has made nothing yet.

import { authUrl } from "../api.js";
import { FINISHED, el, formatDate, jobTitle, percent, statusBadge } from "../ui.js";

const PAGE = 12;
const REFRESH_MS = 5000;

function jobCard(job) {
  const thumbnail =
    job.status === "succeeded" && job.links.thumbnail
      ? el("img", {
          src: authUrl(job.links.thumbnail),
          alt: "",
          loading: "lazy",
          width: 320,
          height: 180,
        })
      : el("div", { class: "job-thumb-placeholder", "aria-hidden": "true" }, "▶");
  const running = !FINISHED.has(job.status);
  return el(
    "li",
    { class: "job-card card", dataset: { status: job.status, job: job.id } },
    el("div", { class: "job-thumb" }, thumbnail),
    el(
      "div",
      { class: "job-card-body" },
      el("h3", {}, el("a", { href: `#/job/${job.id}` }, jobTitle(job))),
      el(
        "p",
        { class: "muted" },
        statusBadge(job.status),
        " ",
        formatDate(job.created_at),
        job.credits ? ` · ${job.credits} credits` : "",
      ),
      running
        ? el(
            "p",
            { class: "job-card-progress" },
            el("progress", { max: 1, value: job.fraction, "aria-label": `${job.phase}` }),
            ` ${job.phase} · ${percent(job.fraction)}`,
          )
        : null,
      job.status === "failed" && job.error ? el("p", { class: "error" }, job.error) : null,
    ),
  );
}

export async function render(root, ctx) {
  const list = el("ul", { class: "job-grid" });
  const more = el("button", { type: "button", hidden: true }, "Show more");
  const section = el(
    "section",
    { class: "dashboard" },
    el(
      "header",
      { class: "view-head" },
      el("h1", {}, "Dashboard"),
      el("a", { class: "button primary", href: "#/chat" }, "New video"),
    ),
    list,
    more,
  );
  root.append(section);
  let cursor = null;
  let timer = null;
  let stopped = false;

  async function load(next) {
    const query = new URLSearchParams({ limit: String(PAGE) });
    if (next) query.set("cursor", next);
    const page = await ctx.api(`/v1/jobs?${query}`);
    cursor = page.next_cursor;
    more.hidden = !cursor;
    return page.items;
  }

  const first = await load(null);
  if (!first.length) {
    section.replaceChildren(
      el("h1", {}, "Dashboard"),
      el(
        "div",
        { class: "empty-state card" },
        el("h2", {}, "No videos yet"),
        el(
          "p",
          { class: "muted" },
          "Tell the studio what you want: a topic, a length and a platform. It writes the " +
            "script, shows the price, and makes the video when you say so.",
        ),
        el("a", { class: "button primary", href: "#/chat" }, "Make your first video"),
      ),
    );
    return;
  }
  list.append(...first.map(jobCard));
  more.addEventListener("click", async () => {
    list.append(...(await load(cursor)).map(jobCard));
  });

  // Jobs still running are re-read now and then, so their cards move on by themselves.
  async function refreshRunning() {
    const running = [...list.querySelectorAll(".job-card")].filter(
      (card) => !FINISHED.has(card.dataset.status),
    );
    for (const card of running) {
      try {
        card.replaceWith(jobCard(await ctx.api(`/v1/jobs/${card.dataset.job}`)));
      } catch {
        /* gone or offline: keep the card as it was */
      }
    }
    if (!stopped) timer = setTimeout(refreshRunning, REFRESH_MS);
  }
  timer = setTimeout(refreshRunning, REFRESH_MS);
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}
