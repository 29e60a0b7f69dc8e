// The page: sign-in, the top bar (balance, plan, GPU badge), the sidebar and the view router.
// Views live in ./views/<name>.js and export `render(root, ctx)`, which may return a cleanup.

import { api, tokens, ApiError } from "./api.js";
import { el, toast } from "./ui.js";

const VIEWS = {
  chat: () => import("./views/chat.js"),
  dashboard: () => import("./views/dashboard.js"),
  library: () => import("./views/library.js"),
  forms: () => import("./views/forms.js"),
  job: () => import("./views/job.js"),
  login: () => import("./views/login.js"),
};

const root = document.getElementById("view");
let cleanup = null;
let me = null;

export function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function refreshMe() {
  me = await api("/v1/me");
  document.getElementById("balance").textContent = `${me.credits} credits`;
  document.getElementById("plan").textContent = me.plan;
  return me;
}

async function refreshGpu() {
  const badge = document.getElementById("gpu-badge");
  try {
    const status = await api("/v1/gpu/status");
    badge.textContent = `GPU ${status.state}`;
    badge.dataset.state = status.state;
    badge.title = status.message || status.engines.join(", ");
  } catch {
    badge.textContent = "GPU offline";
    badge.dataset.state = "offline";
  }
}

function showChrome(signedIn) {
  document.getElementById("account-status").hidden = !signedIn;
  document.getElementById("logout").hidden = !signedIn;
  document.getElementById("sidebar").hidden = !signedIn;
  document.getElementById("menu-toggle").hidden = !signedIn;
}

async function route() {
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "chat").split("/");
  const signedIn = Boolean(tokens.get());
  const view = signedIn ? (VIEWS[name] ? name : "chat") : "login";
  showChrome(signedIn);
  if (cleanup) {
    try {
      cleanup();
    } catch (error) {
      console.warn(error);
    }
    cleanup = null;
  }
  for (const link of document.querySelectorAll(".sidebar a")) {
    link.toggleAttribute("aria-current", link.dataset.view === view);
    if (link.dataset.view === view) link.setAttribute("aria-current", "page");
  }
  closeSidebarOnPhone();
  root.replaceChildren(el("p", { class: "muted" }, "Loading…"));
  try {
    if (signedIn && !me) await refreshMe();
    const module = await VIEWS[view]();
    root.replaceChildren();
    const ctx = { api, navigate, toast, refreshMe, me: () => me, params: rest };
    cleanup = (await module.render(root, ctx)) || null;
  } catch (error) {
    if (error instanceof ApiError && error.status === 401) return;
    root.replaceChildren(el("p", { class: "error" }, error.message || String(error)));
  }
}

function closeSidebarOnPhone() {
  if (window.matchMedia("(max-width: 760px)").matches) setSidebar(false);
}

function setSidebar(open) {
  document.body.classList.toggle("sidebar-open", open);
  document.getElementById("menu-toggle").setAttribute("aria-expanded", String(open));
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  document.getElementById("theme-toggle").setAttribute("aria-pressed", String(theme === "dark"));
}

function start() {
  const saved = localStorage.getItem("skyie.theme");
  const dark = saved ? saved === "dark" : window.matchMedia("(prefers-color-scheme: dark)").matches;
  applyTheme(dark ? "dark" : "light");
  document.getElementById("theme-toggle").addEventListener("click", () => {
    const next = document.documentElement.dataset.theme === "dark" ? "light" : "dark";
    localStorage.setItem("skyie.theme", next);
    applyTheme(next);
  });
  document.getElementById("menu-toggle").addEventListener("click", () => {
    setSidebar(!document.body.classList.contains("sidebar-open"));
  });
  document.getElementById("logout").addEventListener("click", async () => {
    const current = tokens.get();
    tokens.clear();
    me = null;
    if (current) {
      await fetch("/v1/auth/logout", {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ refresh_token: current.refresh }),
      }).catch(() => {});
    }
    navigate("#/login");
  });
  window.addEventListener("skyie:logged-out", () => {
    me = null;
    route();
  });
  window.addEventListener("skyie:signed-in", async () => {
    await refreshMe();
    refreshGpu();
    navigate("#/chat");
  });
  window.addEventListener("skyie:balance-changed", () => refreshMe().catch(() => {}));
  window.addEventListener("hashchange", route);
  route();
  if (tokens.get()) refreshGpu();
  setInterval(() => tokens.get() && refreshGpu(), 30000);
}

start();
