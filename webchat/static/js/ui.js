// Small DOM helpers shared by the views.

// el("button", {class: "primary", onclick: fn}, "Text", child, ...)
export function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes || {})) {
    if (value === false || value === null || value === undefined) continue;
    if (key.startsWith("on") && typeof value === "function") {
      node.addEventListener(key.slice(2), value);
    } else if (key === "dataset") {
      Object.assign(node.dataset, value);
    } else if (value === true) {
      node.setAttribute(key, "");
    } else {
      node.setAttribute(key, String(value));
    }
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function toast(message, kind = "info") {
  const box = document.getElementById("toasts");
  const item = el("div", { class: `toast ${kind}` }, message);
  box.append(item);
  setTimeout(() => item.remove(), 6000);
}

export function formatSeconds(seconds) {
  if (seconds === null || seconds === undefined) return "";
  const s = Math.max(0, Math.round(seconds));
  return s >= 60 ? `${Math.floor(s / 60)} min ${s % 60} s` : `${s} s`;
}

export function formatDate(iso) {
  return new Date(iso).toLocaleString();
}

// A status badge: queued, running, succeeded, failed, cancelled.
export function statusBadge(status) {
  return el("span", { class: "badge", "data-state": status }, status);
}

export const FINISHED = new Set(["succeeded", "failed", "cancelled"]);

// A job's name for people: what its first scene says (or shows), shortened.
export function jobTitle(job) {
  const first = (job.script || "").split("\n").find((line) => line.trim()) || "";
  const marker = /^\s*\[\s*([A-Za-z]+)\s*(?::([^\]]*))?\]\s*/.exec(first);
  let text = marker ? first.slice(marker[0].length) : first;
  if (!text && marker?.[2]) text = marker[2].split("|")[0];
  text = text.trim() || job.id;
  const title = text.length > 70 ? text.slice(0, 69).trimEnd() + "…" : text;
  return job.workflow === "export" ? `Export: ${title}` : title;
}

// Rounded down: 100% is shown only when the work is really all done.
export function percent(fraction) {
  return `${Math.floor((fraction || 0) * 100 + 1e-9)}%`;
}
