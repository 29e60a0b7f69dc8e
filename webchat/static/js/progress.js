// A job's progress: the overall bar, what runs now, ETA and queue position, and one bar per
// phase (Voice, Key frames, Render…). Fed with the API's progress events.

import { el, formatSeconds, percent } from "./ui.js";

export function progressView(title = "Progress", id = "progress") {
  const overall = el("progress", { max: 1, value: 0, "aria-labelledby": `${id}-title` });
  const phase = el("span", { class: "phase" });
  const amount = el("span", { class: "percent" });
  // Only what changes now and then is announced; the bars can be read at any time.
  const status = el("p", { class: "progress-status", role: "status" });
  const phases = el("ol", { class: "phases" });
  const root = el(
    "section",
    { class: "card progress-card", "aria-labelledby": `${id}-title` },
    el("h2", { id: `${id}-title` }, title),
    overall,
    el("p", { class: "overall-label" }, phase, " · ", amount),
    status,
    phases,
  );

  function describe(event) {
    if (event.status === "queued" && event.queue_position > 0) {
      const n = event.queue_position;
      return `Waiting: ${n} job${n === 1 ? "" : "s"} ahead of yours.`;
    }
    if (event.status === "queued") return "Starting…";
    if (event.status === "running") {
      return event.eta_s ? `About ${formatSeconds(event.eta_s)} left.` : "Working…";
    }
    if (event.status === "succeeded") return "Done.";
    if (event.status === "cancelled") return "Cancelled.";
    return event.message || "It stopped.";
  }

  return {
    root,
    // event: {status, phase, fraction, eta_s, queue_position, phases, message}
    update(event) {
      overall.value = event.fraction;
      overall.setAttribute("aria-valuetext", `${percent(event.fraction)}, ${event.phase}`);
      phase.textContent = event.phase;
      amount.textContent = percent(event.fraction);
      const text = describe(event);
      if (status.textContent !== text) status.textContent = text;
      root.dataset.status = event.status;
      phases.replaceChildren(
        ...Object.entries(event.phases || {}).map(([label, fraction]) => {
          const state = fraction >= 1 ? "done" : fraction > 0 ? "active" : "waiting";
          return el(
            "li",
            { dataset: { state } },
            el("span", { class: "phase-name" }, label),
            el("progress", { max: 1, value: fraction, "aria-label": label }),
            el("span", { class: "phase-percent" }, percent(fraction)),
          );
        }),
      );
    },
  };
}
