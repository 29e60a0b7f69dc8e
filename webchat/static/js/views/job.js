// One job, #/job/<id>: live progress while it runs, then the video, its downloads and exports;
// the error and a retry when it failed. An export job lists its files instead of a player.

import { authUrl, followJob } from "../api.js";
import { downloadLink, exportLinks, openExportDialog } from "../export-dialog.js";
import { notifyFinished } from "../notify.js";
import { progressView } from "../progress.js";
import { FINISHED, el, formatDate, jobTitle, statusBadge } from "../ui.js";

const CONFIRM_MS = 4000;
const RELOAD_GAP_MS = 10000;

// The player; on an error (most often an access token that expired mid-view) it takes a fresh
// token and carries on from where it was, at most once every few seconds.
function player(api, job) {
  const path = `/v1/jobs/${job.id}/video`;
  const video = el(
    "video",
    { controls: true, preload: "metadata", playsinline: true, src: authUrl(path) },
    el("track", {
      kind: "captions",
      srclang: "en",
      label: "Captions",
      src: authUrl(`/v1/jobs/${job.id}/captions?format=vtt`),
    }),
  );
  let lastReload = 0;
  video.addEventListener("error", async () => {
    if (Date.now() - lastReload < RELOAD_GAP_MS) return;
    lastReload = Date.now();
    const at = video.currentTime;
    await api("/v1/me").catch(() => {}); // refreshes the token when it expired
    video.src = authUrl(path);
    video.currentTime = at;
  });
  return video;
}

export async function render(root, ctx) {
  const id = ctx.params[0];
  let job = await ctx.api(`/v1/jobs/${encodeURIComponent(id)}`);
  const watchedRunning = !FINISHED.has(job.status);
  let stop = null;

  const badge = el("span", {});
  const progress = progressView(job.workflow === "export" ? "Export progress" : "Progress");
  const actions = el("div", { class: "actions job-actions" });
  const result = el("div", { class: "job-result" });
  const title = el("h1", {}, jobTitle(job));
  root.append(
    el(
      "section",
      { class: "job" },
      el(
        "header",
        { class: "view-head" },
        el("a", { href: "#/dashboard", class: "back" }, "← Dashboard"),
        title,
        el(
          "p",
          { class: "muted job-meta" },
          badge,
          ` ${formatDate(job.created_at)} · ${job.credits} credits · `,
          el("code", {}, job.id),
        ),
      ),
      progress.root,
      actions,
      result,
      el(
        "details",
        { class: "job-script card" },
        el("summary", {}, "Script"),
        el("pre", {}, job.script),
      ),
    ),
  );

  function cancelButton() {
    const button = el("button", { type: "button", class: "danger" }, "Cancel job");
    let armed = null;
    // Two clicks: cancelling cannot be undone, and the first click may be a slip.
    button.addEventListener("click", async () => {
      if (!armed) {
        button.textContent = "Click again to cancel";
        armed = setTimeout(() => {
          armed = null;
          button.textContent = "Cancel job";
        }, CONFIRM_MS);
        return;
      }
      clearTimeout(armed);
      button.disabled = true;
      try {
        job = await ctx.api(`/v1/jobs/${job.id}/cancel`, { method: "POST" });
        show();
      } catch (error) {
        ctx.toast(error.message, "error");
        button.disabled = false;
      }
    });
    return button;
  }

  function retryButton() {
    const button = el("button", { type: "button", class: "primary" }, "Try again");
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        const again = await ctx.api(`/v1/jobs/${job.id}/retry`, { method: "POST" });
        window.dispatchEvent(new CustomEvent("skyie:balance-changed"));
        ctx.navigate(`#/job/${again.id}`);
      } catch (error) {
        ctx.toast(error.message, "error");
        button.disabled = false;
      }
    });
    return button;
  }

  function finishedVideo() {
    const exports = el("ul", { class: "export-links" }, exportLinks(job.links.exports));
    const none = el("p", { class: "muted" }, "None yet: export for TikTok, YouTube, Instagram or X.");
    none.hidden = Object.keys(job.links.exports).length > 0;
    return el(
      "section",
      { class: "card player-card", "aria-labelledby": "video-title" },
      el("h2", { id: "video-title" }, "Your video"),
      player(ctx.api, job),
      el(
        "div",
        { class: "actions" },
        downloadLink(`/v1/jobs/${job.id}/video`, "Download video"),
        downloadLink(`/v1/jobs/${job.id}/captions`, "Download captions (SRT)"),
        el(
          "button",
          {
            type: "button",
            class: "primary",
            "aria-haspopup": "dialog",
            onclick: () =>
              openExportDialog({
                api: ctx.api,
                jobId: job.id,
                // The source job lists the newest file of every format exported so far.
                onExported: async () => {
                  const fresh = await ctx.api(`/v1/jobs/${job.id}`);
                  none.hidden = true;
                  exports.replaceChildren(...exportLinks(fresh.links.exports));
                },
              }),
          },
          "Export for platforms…",
        ),
      ),
      el("h3", {}, "Exports"),
      none,
      exports,
    );
  }

  // Draws everything that depends on the job's state.
  function show() {
    badge.replaceChildren(statusBadge(job.status));
    progress.update({ ...job, message: job.error || "" });
    actions.replaceChildren();
    result.replaceChildren();
    if (!FINISHED.has(job.status)) actions.append(cancelButton());
    if (job.status === "failed" || job.status === "cancelled") {
      if (job.error) result.append(el("p", { class: "error card" }, job.error));
      if (job.workflow !== "export") actions.append(retryButton());
    }
    if (job.status !== "succeeded") return;
    if (job.workflow === "export") {
      result.append(
        el(
          "section",
          { class: "card" },
          el("h2", {}, "Files"),
          el("ul", { class: "export-links" }, exportLinks(job.links.exports)),
          job.source_job_id
            ? el("p", {}, el("a", { href: `#/job/${job.source_job_id}` }, "The original video"))
            : null,
        ),
      );
    } else {
      result.append(finishedVideo());
    }
  }

  show();
  if (watchedRunning) {
    stop = followJob(job.id, async (event) => {
      progress.update(event);
      if (!FINISHED.has(event.status)) {
        badge.replaceChildren(statusBadge(event.status));
        return;
      }
      // The end: the links and the charge are read from the job itself.
      job = await ctx.api(`/v1/jobs/${job.id}`);
      show();
      notifyFinished(event);
      window.dispatchEvent(new CustomEvent("skyie:balance-changed"));
    });
  }
  return () => stop?.();
}
