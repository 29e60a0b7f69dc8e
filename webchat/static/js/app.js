// The page: sign-in, the top bar (balance, plan, GPU badge), the sidebar and the view router.
// Views live in ./views/<name>.js and export `render(root, ctx)`, which may return a cleanup.

import { api, tokens, ApiError } from "./api.js";
import { el, toast } from "./ui.js";

const VIEWS = {
  billing: () => import("./views/billing.js"),
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
  const text = document.getElementById("gpu-text");
  try {
    const status = await api("/v1/gpu/status");
    text.textContent = `GPU ${status.state}`;
    badge.dataset.state = status.state;
    badge.title = status.message || `GPU ${status.state}: ${status.engines.join(", ")}`;
  } catch {
    text.textContent = "GPU offline";
    badge.dataset.state = "offline";
    badge.title = "GPU offline: jobs wait until it is back";
  }
}

function showChrome(signedIn) {
  document.getElementById("account-status").hidden = !signedIn;
  document.getElementById("logout").hidden = !signedIn;
  document.getElementById("sidebar").hidden = !signedIn;
  document.getElementById("menu-toggle").hidden = !signedIn;
}

// The view a URL names: the emailed reset link is a real path, everything else a #fragment.
function viewFor(signedIn) {
  if (location.pathname === "/reset-password") return ["login", ["reset"]];
  const [name, ...rest] = (location.hash.replace(/^#\/?/, "") || "chat").split("/");
  if (!signedIn) return ["login", name === "login" ? rest : []];
  if (name === "login" || !VIEWS[name]) return ["chat", []];
  return [name, rest];
}

// Each navigation renders into a host of its own. A view still rendering when the person
// moves on finishes into its detached host and is cleaned up, never over the new view.
let generation = 0;

async function route() {
  const mine = ++generation;
  const signedIn = Boolean(tokens.get());
  const [view, rest] = viewFor(signedIn);
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
    if (signedIn && !me && view !== "login") await refreshMe();
    const module = await VIEWS[view]();
    if (mine !== generation) return;
    const host = el("div", { class: "view-host" });
    root.replaceChildren(host);
    const ctx = { api, navigate, toast, refreshMe, me: () => me, params: rest };
    const done = (await module.render(host, ctx)) || null;
    if (mine !== generation) {
      if (done) done();
      return;
    }
    cleanup = done;
    // A link in the phone menu, now hidden, must not keep the focus: move it to the view.
    const focused = document.activeElement;
    const inClosedMenu = isPhone() && document.getElementById("sidebar").contains(focused);
    if (!focused || focused === document.body || inClosedMenu) {
      root.focus({ preventScroll: true });
    }
  } catch (error) {
    if (mine !== generation) return;
    if (error instanceof ApiError && error.status === 401) return;
    root.replaceChildren(el("p", { class: "error" }, error.message || String(error)));
  }
}

const isPhone = () => window.matchMedia("(max-width: 760px)").matches;

function closeSidebarOnPhone() {
  if (isPhone()) setSidebar(false);
}

function setSidebar(open, focus = false) {
  document.body.classList.toggle("sidebar-open", open);
  document.getElementById("menu-toggle").setAttribute("aria-expanded", String(open));
  // Keyboard users land in the menu they just opened.
  if (open && focus) document.querySelector(".sidebar a")?.focus();
}

function applyTheme(theme) {
  document.documentElement.dataset.theme = theme;
  document.getElementById("theme-toggle").setAttribute("aria-pressed", String(theme === "dark"));
}

// Stripe sends the person back to /?billing=success or /?billing=cancelled. Say how it went,
// open Plans & credits and drop the query, so a reload does not say it again. The webhook that
// grants the credits may come a little after the person: the balance is read a few times.
const BALANCE_RECHECKS_MS = [0, 4000, 12000];

function noticeCheckoutReturn() {
  const query = new URLSearchParams(location.search);
  const outcome = query.get("billing");
  if (!outcome) return;
  query.delete("billing");
  const search = query.toString() ? `?${query}` : "";
  history.replaceState(null, "", location.pathname + search + (location.hash || "#/billing"));
  if (outcome === "cancelled") toast("Checkout cancelled");
  if (outcome !== "success") return;
  toast("Payment received — credits arrive in a moment");
  if (!tokens.get()) return;
  for (const delay of BALANCE_RECHECKS_MS) {
    setTimeout(() => window.dispatchEvent(new CustomEvent("skyie:balance-changed")), delay);
  }
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
  const menu = document.getElementById("menu-toggle");
  menu.addEventListener("click", (event) => {
    // detail is 0 for Enter/Space: only then move focus into the menu.
    setSidebar(!document.body.classList.contains("sidebar-open"), event.detail === 0);
  });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape" && document.body.classList.contains("sidebar-open")) {
      setSidebar(false);
      if (!menu.hidden) menu.focus();
    }
  });
  const logout = async () => {
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
  };
  for (const button of document.querySelectorAll("[data-logout]")) {
    button.addEventListener("click", logout);
  }
  window.addEventListener("skyie:logged-out", () => {
    me = null;
    route();
  });
  window.addEventListener("skyie:signed-in", async () => {
    // Leave the emailed reset link's path: from here on the page is the app at `/`.
    if (location.pathname !== "/") history.replaceState(null, "", "/");
    await refreshMe();
    refreshGpu();
    navigate("#/chat");
  });
  window.addEventListener("skyie:balance-changed", () => refreshMe().catch(() => {}));
  window.addEventListener("hashchange", route);
  noticeCheckoutReturn();
  // The skip link's #view is an anchor, not a route: focus the view instead of routing.
  document.querySelector(".skip").addEventListener("click", (event) => {
    event.preventDefault();
    root.focus();
  });
  route();
  if (tokens.get()) refreshGpu();
  setInterval(() => tokens.get() && refreshGpu(), 30000);
}

start();
