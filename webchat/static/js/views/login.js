// Signing in: log in, create an account, ask for a reset link, and choose a new password
// from the emailed link (/reset-password?token=…).

import { api, tokens } from "../api.js";
import { el } from "../ui.js";

// A labelled input; ids are unique per form so labels stay tied to their fields.
function field(form, name, label, attributes = {}) {
  const id = `${form}-${name}`;
  return [
    el("label", { for: id }, label),
    el("input", { id, name, required: true, ...attributes }),
  ];
}

// Submits a form to `action` with its button disabled, and shows the API's message on failure.
function handle(form, status, action) {
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const button = form.querySelector("button[type=submit]");
    button.disabled = true;
    status.className = "form-status";
    status.textContent = "";
    try {
      await action(Object.fromEntries(new FormData(form)));
    } catch (error) {
      status.className = "form-status error";
      status.textContent = error.message || String(error);
      form.querySelector("input")?.focus();
    } finally {
      button.disabled = false;
    }
  });
}

function signedIn(pair) {
  tokens.set(pair);
  window.dispatchEvent(new CustomEvent("skyie:signed-in"));
}

function loginForm() {
  const status = el("p", { class: "form-status", role: "alert" });
  const form = el(
    "form",
    { class: "auth-form", "aria-label": "Log in" },
    field("login", "email", "Email", { type: "email", autocomplete: "email" }),
    field("login", "password", "Password", {
      type: "password",
      autocomplete: "current-password",
    }),
    status,
    el("button", { type: "submit", class: "primary" }, "Log in"),
  );
  handle(form, status, async (data) =>
    signedIn(await api("/v1/auth/login", { method: "POST", body: data })),
  );
  return form;
}

function registerForm() {
  const status = el("p", { class: "form-status", role: "alert" });
  const form = el(
    "form",
    { class: "auth-form", "aria-label": "Create account" },
    field("register", "name", "Name", { autocomplete: "name", required: false }),
    field("register", "email", "Email", { type: "email", autocomplete: "email" }),
    field("register", "password", "Password", {
      type: "password",
      autocomplete: "new-password",
      minlength: 8,
      "aria-describedby": "register-password-hint",
    }),
    el("p", { class: "field-hint", id: "register-password-hint" }, "At least 8 characters."),
    status,
    el("button", { type: "submit", class: "primary" }, "Create account"),
  );
  handle(form, status, async (data) =>
    signedIn(await api("/v1/auth/register", { method: "POST", body: data })),
  );
  return form;
}

function forgotForm() {
  const status = el("p", { class: "form-status", role: "alert" });
  const form = el(
    "form",
    { class: "auth-form", "aria-label": "Reset password" },
    el("p", { class: "muted" }, "We'll email you a link to choose a new password."),
    field("forgot", "email", "Email", { type: "email", autocomplete: "email" }),
    status,
    el("button", { type: "submit", class: "primary" }, "Send reset link"),
  );
  handle(form, status, async (data) => {
    const answer = await api("/v1/auth/password-reset", { method: "POST", body: data });
    status.textContent = answer.message;
  });
  return form;
}

function resetForm(token) {
  const status = el("p", { class: "form-status", role: "alert" });
  const form = el(
    "form",
    { class: "auth-form", "aria-label": "Choose a new password" },
    field("reset", "password", "New password", {
      type: "password",
      autocomplete: "new-password",
      minlength: 8,
    }),
    status,
    el("button", { type: "submit", class: "primary" }, "Set password"),
  );
  handle(form, status, async ({ password }) => {
    await api("/v1/auth/password-reset/confirm", { method: "POST", body: { token, password } });
    // Every session was ended by the reset: sign in afresh with the new password.
    tokens.clear();
    history.replaceState(null, "", "/");
    location.hash = "#/login/password-changed";
  });
  return form;
}

const TABS = [
  ["login", "Log in", loginForm],
  ["register", "Create account", registerForm],
  ["forgot", "Forgot password", forgotForm],
];

function showTabs(root, active, notice = "") {
  const panel = el("div", { class: "auth-panel", id: "auth-panel", role: "tabpanel" });
  const tabs = TABS.map(([key, label]) =>
    el(
      "button",
      {
        type: "button",
        role: "tab",
        id: `tab-${key}`,
        "aria-controls": "auth-panel",
        dataset: { tab: key },
        onclick: () => select(key, true),
      },
      label,
    ),
  );
  const tablist = el("div", { class: "tabs", role: "tablist", "aria-label": "Account" }, tabs);
  // Arrow keys move between tabs, as in any tab list.
  tablist.addEventListener("keydown", (event) => {
    const step = { ArrowRight: 1, ArrowLeft: -1 }[event.key];
    if (!step) return;
    const index = tabs.indexOf(document.activeElement);
    const next = tabs[(index + step + tabs.length) % tabs.length];
    next.focus();
    select(next.dataset.tab, false);
  });

  function select(key, focusField) {
    for (const tab of tabs) {
      const on = tab.dataset.tab === key;
      tab.setAttribute("aria-selected", String(on));
      tab.tabIndex = on ? 0 : -1;
    }
    panel.setAttribute("aria-labelledby", `tab-${key}`);
    const [, , make] = TABS.find(([name]) => name === key);
    panel.replaceChildren(make());
    if (focusField) panel.querySelector("input")?.focus();
  }

  root.replaceChildren(
    el(
      "section",
      { class: "auth card" },
      el("h1", {}, "Skyie Studio"),
      el("p", { class: "muted" }, "Describe a video; get it made."),
      notice ? el("p", { class: "notice", role: "status" }, notice) : null,
      tablist,
      panel,
    ),
  );
  select(active, false);
}

export async function render(root, ctx) {
  if (ctx.params[0] === "reset") {
    const token = new URLSearchParams(location.search).get("token");
    if (!token) {
      showTabs(root, "forgot", "That reset link is incomplete; ask for a new one.");
      return;
    }
    root.replaceChildren(
      el(
        "section",
        { class: "auth card" },
        el("h1", {}, "Choose a new password"),
        resetForm(token),
      ),
    );
    root.querySelector("input").focus();
    return;
  }
  const notice =
    ctx.params[0] === "password-changed" ? "Your password is changed. Log in with it." : "";
  showTabs(root, ctx.params[0] === "register" ? "register" : "login", notice);
}
