// The library's videos: a grid or a list of the person's jobs, with thumbnails, open, delete and
// re-generate. Unfinished jobs are polled so their cards turn into videos without a reload.

import { FINISHED, el, formatDate, jobTitle, statusBadge } from "./ui.js";
import {
  busy,
  clearError,
  confirmDialog,
  errorBox,
  setPrivateSource,
  showError,
} from "./studio-parts.js";

const LAYOUT_KEY = "skyie.library.layout";
const PAGE = 24;
const POLL_MS = 4000;
const WORKFLOWS = {
  production: "Production",
  talking_head: "Talking head",
  broll: "B-roll",
  export: "Export",
};

export async function renderVideos(panel, ctx) {
  let layout = localStorage.getItem(LAYOUT_KEY) === "list" ? "list" : "grid";
  const list = el("ul", { class: "video-list", "data-layout": layout, "aria-label": "Videos" });
  const empty = el(
    "p",
    { class: "muted", hidden: true },
    "No videos yet. ",
    el("a", { href: "#/chat" }, "Ask for one in the chat"),
    " or use a ",
    el("a", { href: "#/forms/talking-head" }, "form"),
    ".",
  );
  const errors = errorBox();
  const more = el("button", { type: "button", hidden: true }, "Load more");
  const cards = new Map(); // job id -> {job, node}
  let cursor = null;

  const layoutButtons = ["grid", "list"].map((name) =>
    el(
      "button",
      {
        type: "button",
        class: "toggle",
        "aria-pressed": String(layout === name),
        "data-layout": name,
        onclick: () => setLayout(name),
      },
      name === "grid" ? "Grid" : "List",
    ),
  );
  function setLayout(name) {
    layout = name;
    localStorage.setItem(LAYOUT_KEY, name); // remembered for the next visit
    list.dataset.layout = name;
    for (const b of layoutButtons)
      b.setAttribute("aria-pressed", String(b.dataset.layout === name));
  }

  panel.append(
    el(
      "div",
      { class: "section-head" },
      el("h2", { id: "section-title" }, "Videos"),
      el(
        "div",
        { class: "toggle-group", role: "group", "aria-label": "Show videos as" },
        layoutButtons,
      ),
    ),
    errors,
    empty,
    list,
    more,
  );

  const actions = {
    async remove(job, card, button) {
      const ok = await confirmDialog({
        title: "Delete this video?",
        message: `“${jobTitle(job)}” leaves your library. Your credit history keeps its record.`,
        confirmLabel: "Delete",
        danger: true,
      });
      if (!ok) return;
      clearError(card.errors);
      try {
        await busy(button, "Deleting…", () => ctx.api(`/v1/jobs/${job.id}`, { method: "DELETE" }));
        cards.delete(job.id);
        card.node.remove();
        ctx.toast("Video deleted");
        empty.hidden = cards.size > 0;
      } catch (error) {
        showError(card.errors, error); // 409: still queued or running, said in the API's words
      }
    },
    async regenerate(job, card, button) {
      clearError(card.errors);
      try {
        const started = await busy(button, "Pricing…", () => regenerate(ctx, job));
        if (!started) return;
        window.dispatchEvent(new CustomEvent("skyie:balance-changed"));
        ctx.navigate(`#/job/${started}`);
      } catch (error) {
        showError(card.errors, error);
      }
    },
  };

  function put(job, before = null) {
    const card = videoCard(job, actions);
    const old = cards.get(job.id);
    if (old) old.node.replaceWith(card.node);
    else if (before) list.insertBefore(card.node, before);
    else list.append(card.node);
    cards.set(job.id, { job, ...card });
  }

  async function load() {
    try {
      const query = `/v1/jobs?limit=${PAGE}${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
      const page = await ctx.api(query);
      for (const job of page.items) put(job);
      cursor = page.next_cursor;
      more.hidden = !cursor;
      empty.hidden = cards.size > 0;
    } catch (error) {
      showError(errors, error);
    }
  }
  more.addEventListener("click", () => busy(more, "Loading…", load));
  await load();

  // Only unfinished jobs are asked about again; a card is replaced only when something changed.
  const timer = setInterval(async () => {
    for (const { job } of [...cards.values()]) {
      if (FINISHED.has(job.status)) continue;
      try {
        const now = await ctx.api(`/v1/jobs/${job.id}`);
        if (now.status !== job.status || now.phase !== job.phase || now.fraction !== job.fraction) {
          if (cards.has(job.id)) put(now);
        }
      } catch {
        /* a failed poll is tried again on the next tick */
      }
    }
  }, POLL_MS);
  return () => clearInterval(timer);
}

// Failed or cancelled: the API re-runs it with its own script and settings (/retry).
// Finished: price the same script again, say the price, and produce only if the person agrees.
async function regenerate(ctx, job) {
  if (job.status === "failed" || job.status === "cancelled") {
    const ok = await confirmDialog({
      title: "Run this video again?",
      message: [
        "It runs again as a new job with the same script and settings.",
        "It is priced afresh: work the first run finished is reused and not charged twice.",
      ],
      confirmLabel: "Run again",
    });
    if (!ok) return null;
    return (await ctx.api(`/v1/jobs/${job.id}/retry`, { method: "POST" })).id;
  }
  // The same script with the same settings, priced afresh.
  const options = job.options;
  const quote = await ctx.api("/v1/quotes", {
    method: "POST",
    body: { script: job.script, options },
  });
  const ok = await confirmDialog({
    title: "Re-generate this video?",
    message: [
      el(
        "p",
        { class: "price-line" },
        `${quote.credits} credits`,
        el("span", { class: "muted" }, ` · your balance ${quote.balance}`),
      ),
      "A new job makes this script again with the default settings. " +
        "Parts made before are reused and cost less.",
    ],
    confirmLabel: `Generate for ${quote.credits} credits`,
  });
  if (!ok) return null;
  const out = await ctx.api("/v1/videos/production", {
    method: "POST",
    body: { script: job.script, options, quote_id: quote.quote_id },
  });
  return out.job.job_id;
}

function videoCard(job, actions) {
  const title = jobTitle(job);
  const href = `#/job/${encodeURIComponent(job.id)}`;
  const thumb = job.links.thumbnail
    ? setPrivateSource(
        el("img", { alt: "", loading: "lazy", class: "thumb-img" }),
        job.links.thumbnail,
      )
    : el("span", { class: "thumb-placeholder", "data-state": job.status }, placeholderText(job));
  const errors = errorBox();
  const regenerate = el("button", { type: "button" }, "Re-generate");
  const remove = el("button", { type: "button", class: "danger" }, "Delete");
  const card = { errors, node: null };
  regenerate.addEventListener("click", () => actions.regenerate(job, card, regenerate));
  remove.addEventListener("click", () => actions.remove(job, card, remove));
  const canRegenerate = job.workflow !== "export" && FINISHED.has(job.status);
  card.node = el(
    "li",
    { class: "video-card card", "data-job-id": job.id, "data-status": job.status },
    // The picture repeats the title link, so it is skipped by keyboard and screen readers.
    el("a", { class: "thumb", href, tabindex: "-1", "aria-hidden": "true" }, thumb),
    el(
      "div",
      { class: "video-body" },
      el("h3", { class: "video-title" }, el("a", { href }, title)),
      el(
        "p",
        { class: "video-meta" },
        statusBadge(job.status),
        el("span", {}, WORKFLOWS[job.workflow] || job.workflow),
        el("span", {}, `${job.credits} credits`),
        el("time", { datetime: job.created_at }, formatDate(job.created_at)),
      ),
      job.error ? el("p", { class: "error small" }, job.error) : null,
      el(
        "div",
        { class: "video-actions" },
        el("a", { class: "button", href }, "Open"),
        canRegenerate ? regenerate : null,
        remove,
      ),
      errors,
    ),
  );
  return card;
}

function placeholderText(job) {
  if (job.status === "running") return `${job.phase} · ${Math.round(job.fraction * 100)}%`;
  if (job.status === "queued") return "Queued";
  if (job.status === "succeeded") return "Ready";
  return job.status === "failed" ? "Failed" : "Cancelled";
}
