// Plans & credits, #/billing: the balance and plan, the plans and credit packs on sale (paid on
// Stripe's own pages), Stripe's portal for an existing subscription, and where credits went.
// The top bar's account link opens it, so the account's Telegram chats are here too.

import { ApiError } from "../api.js";
import { clearError, errorBox, showError } from "../studio-parts.js";
import { telegramCard } from "../telegram-card.js";
import { el, formatDate, statusBadge } from "../ui.js";

const PAGE = 10;
// Stripe's statuses under which an account pays for its plan (billing/grants.py SUBSCRIBED):
// plans are then changed or cancelled in Stripe's portal, not bought again.
const SUBSCRIBED = new Set(["active", "trialing", "past_due"]);

const count = (n) => n.toLocaleString("en-US");

function money(cents) {
  return new Intl.NumberFormat("en-US", {
    style: "currency",
    currency: "USD",
    minimumFractionDigits: cents % 100 ? 2 : 0,
  }).format(cents / 100);
}

function resolution(name) {
  return name === "4k" ? "4K" : name;
}

// One line of a plan card; `has` false marks what the plan lacks.
function feature(text, has = true) {
  return el("li", { class: has ? "with" : "without" }, text);
}

function subscriptionLine(subscription) {
  const end = subscription.current_period_end
    ? new Date(subscription.current_period_end).toLocaleDateString()
    : null;
  if (subscription.status === "past_due") {
    return "The last payment failed: update the card under Manage billing.";
  }
  if (!SUBSCRIBED.has(subscription.status)) return "Ended.";
  if (subscription.cancel_at_period_end) return end ? `Cancelled: ends on ${end}.` : "Cancelled.";
  return end ? `Renews on ${end}.` : "Active.";
}

// The API's refusal in words a person can act on; a failed fetch names the studio, not fetch.
function explain(error) {
  if (error instanceof ApiError && error.code === "no_billing_account") {
    return {
      message: "Nothing to manage yet: billing opens once you choose a plan or buy credits.",
    };
  }
  if (error instanceof ApiError) return error;
  return { message: `Could not reach the studio: ${error.message || error}` };
}

function term(name, value) {
  return el("div", {}, el("dt", {}, name), el("dd", {}, value));
}

// A titled list of cards: the plans, the packs.
function offers(id, title, note, cards) {
  const heading = `${id}-title`;
  return el(
    "section",
    { "aria-labelledby": heading },
    el("h2", { id: heading }, title),
    note ? el("p", { class: "muted" }, note) : null,
    el("ul", { class: "offer-grid", "aria-labelledby": heading }, cards),
  );
}

// A paged table of the person's records with a "More" button that follows the cursor.
function pagedTable(ctx, { id, title, path, headers, numeric, row, empty }) {
  const rows = el("tbody");
  const problem = errorBox();
  const none = el("p", { class: "muted", hidden: true }, empty);
  const more = el(
    "button",
    { type: "button", class: "more", hidden: true, "aria-label": `More ${title.toLowerCase()}` },
    "More",
  );
  const table = el(
    "table",
    {},
    el(
      "thead",
      {},
      el(
        "tr",
        {},
        headers.map((h) => el("th", { scope: "col", class: numeric.includes(h) && "num" }, h)),
      ),
    ),
    rows,
  );
  // Wide tables scroll inside their box on a phone; the box is focusable to scroll by keyboard.
  const scroller = el(
    "div",
    { class: "table-scroll", role: "region", tabindex: 0, "aria-labelledby": id, hidden: true },
    table,
  );
  const section = el(
    "section",
    { class: "billing-records", "aria-labelledby": id },
    el("h2", { id }, title),
    problem,
    none,
    scroller,
    more,
  );
  let cursor = null;

  async function load() {
    more.disabled = true;
    try {
      const query = new URLSearchParams({ limit: String(PAGE) });
      if (cursor) query.set("cursor", cursor);
      const page = await ctx.api(`${path}?${query}`);
      rows.append(...page.items.map(row));
      cursor = page.next_cursor;
      clearError(problem);
    } catch (error) {
      showError(problem, explain(error));
    }
    more.disabled = false;
    more.hidden = !cursor;
    scroller.hidden = !rows.rows.length;
    none.hidden = Boolean(rows.rows.length) || !problem.hidden;
  }

  function reload() {
    rows.replaceChildren();
    cursor = null;
    return load();
  }

  more.addEventListener("click", load);
  return { section, reload };
}

function usageRow(item) {
  const short = `${item.job_id.slice(0, 12)}…`;
  const job = item.deleted
    ? el("span", { title: item.job_id }, `${short} (deleted)`)
    : el("a", { href: `#/job/${item.job_id}`, title: item.job_id }, short);
  const credits = item.credits_held
    ? `${count(item.credits_held)} held`
    : count(item.credits_charged);
  return el(
    "tr",
    {},
    el("td", {}, job),
    el("td", { class: "workflow" }, item.workflow.replaceAll("_", " ")),
    el("td", {}, statusBadge(item.status)),
    el("td", { class: "num" }, credits),
    el("td", { class: "num" }, item.gpu_seconds.toFixed(1)),
    el("td", {}, formatDate(item.created_at)),
  );
}

function ledgerRow(entry) {
  const amount = entry.amount > 0 ? `+${count(entry.amount)}` : count(entry.amount);
  return el(
    "tr",
    {},
    el("td", { class: "kind" }, entry.kind),
    el("td", { class: `num amount${entry.amount > 0 ? " plus" : ""}` }, amount),
    el("td", { class: "num" }, count(entry.balance_after)),
    el("td", { class: "note" }, entry.note),
    el("td", {}, formatDate(entry.created_at)),
  );
}

export async function render(root, ctx) {
  const problem = errorBox();
  const manage = el("button", { type: "button", hidden: true }, "Manage billing");
  const body = el("div", { class: "billing-body" });
  const usage = pagedTable(ctx, {
    id: "usage-title",
    title: "Recent usage",
    path: "/v1/usage",
    headers: ["Job", "Workflow", "Status", "Credits", "GPU seconds", "Date"],
    numeric: ["Credits", "GPU seconds"],
    row: usageRow,
    empty: "No jobs yet: what each video costs shows here.",
  });
  const history = pagedTable(ctx, {
    id: "history-title",
    title: "Credit history",
    path: "/v1/credits/history",
    headers: ["Kind", "Amount", "Balance", "Note", "Date"],
    numeric: ["Amount", "Balance"],
    row: ledgerRow,
    empty: "No credit entries yet.",
  });
  const telegram = telegramCard(ctx);
  root.append(
    el(
      "section",
      { class: "billing" },
      el("header", { class: "view-head" }, el("h1", {}, "Plans & credits"), manage),
      problem,
      body,
      telegram.section,
      usage.section,
      history.section,
    ),
  );
  let overview = null;

  // A button that opens a Stripe page: the browser leaves for it, or the refusal is shown.
  async function openStripe(button, path, payload) {
    clearError(problem);
    const label = button.textContent;
    button.disabled = true;
    button.textContent = "Opening Stripe…";
    try {
      const link = await ctx.api(path, { method: "POST", body: payload });
      location.assign(link.url);
    } catch (error) {
      button.disabled = false;
      button.textContent = label;
      showError(problem, explain(error));
      problem.scrollIntoView({ block: "nearest" });
    }
  }

  const portal = (button) => openStripe(button, "/v1/billing/portal", {});
  manage.addEventListener("click", () => portal(manage));

  function action(label, onclick) {
    return el("button", { type: "button", disabled: !overview.enabled, onclick }, label);
  }

  function planButton(plan) {
    const subscription = overview.subscription;
    const current = plan.name === overview.plan;
    // Free is what every account has without a plan: leaving a plan is cancelling it.
    if (!plan.price_cents) return null;
    if (subscription && SUBSCRIBED.has(subscription.status)) {
      if (!current) return action(`Change to ${plan.title}`, (e) => portal(e.currentTarget));
      const label = subscription.cancel_at_period_end ? "Renew plan" : "Cancel plan";
      return action(label, (e) => portal(e.currentTarget));
    }
    if (current) return null;
    return action(`Choose ${plan.title}`, (e) =>
      openStripe(e.currentTarget, "/v1/billing/checkout", { plan: plan.name }),
    );
  }

  function planCard(plan) {
    const current = plan.name === overview.plan;
    return el(
      "li",
      { class: "offer plan-card card", "aria-current": current ? "true" : false },
      el(
        "h3",
        {},
        plan.title,
        current ? el("span", { class: "badge current" }, "Current plan") : null,
      ),
      el("p", { class: "price" }, el("strong", {}, money(plan.price_cents)), " / month"),
      el(
        "ul",
        { class: "features" },
        feature(`${count(plan.monthly_credits)} credits a month`),
        feature(`Up to ${resolution(plan.max_resolution)}`),
        plan.watermark ? feature("Watermark on videos", false) : feature("No watermark"),
        plan.priority ? feature("Priority on the GPU") : feature("Standard GPU queue", false),
        plan.api_access ? feature("API access") : feature("No API access", false),
      ),
      planButton(plan),
    );
  }

  function packCard(pack) {
    const hundred = money((pack.price_cents * 100) / pack.credits);
    return el(
      "li",
      { class: "offer pack-card card" },
      el("h3", {}, `${count(pack.credits)} credits`),
      el("p", { class: "price" }, el("strong", {}, money(pack.price_cents))),
      el("p", { class: "muted" }, `${hundred} per 100 credits`),
      action(`Buy ${count(pack.credits)} credits`, (e) =>
        openStripe(e.currentTarget, "/v1/billing/checkout", { pack: pack.name }),
      ),
    );
  }

  function draw() {
    const plan = overview.plans.find((p) => p.name === overview.plan);
    const subscription = overview.subscription;
    manage.hidden = !subscription;
    manage.disabled = !overview.enabled;
    body.replaceChildren(
      overview.enabled
        ? null
        : el(
            "p",
            { class: "notice billing-off" },
            "This studio does not sell plans or credits: it is self-hosted, and its operator " +
              "sets each account's plan.",
          ),
      el(
        "dl",
        { class: "billing-summary card" },
        term("Balance", `${count(overview.credits)} credits`),
        term("Plan", plan ? plan.title : overview.plan),
        subscription ? term("Subscription", subscriptionLine(subscription)) : null,
      ),
      offers("plans", "Plans", null, overview.plans.map(planCard)),
      offers(
        "packs",
        "Credit packs",
        "Pack credits add to the balance and never lapse.",
        overview.packs.map(packCard),
      ),
    );
  }

  async function load() {
    try {
      overview = await ctx.api("/v1/billing");
      clearError(problem);
      draw();
    } catch (error) {
      showError(problem, explain(error));
    }
  }

  // Stripe's webhook credits the account a moment after the person is back: read everything
  // again when the app says the balance changed.
  const refresh = () => Promise.all([load(), usage.reload(), history.reload()]);
  // Back from Stripe through the browser's history, the page comes out of the cache with its
  // buttons still saying "Opening Stripe…": draw them afresh.
  const restored = (event) => event.persisted && overview && draw();
  window.addEventListener("skyie:balance-changed", refresh);
  window.addEventListener("pageshow", restored);
  await Promise.all([refresh(), telegram.load()]);
  return () => {
    telegram.stop();
    window.removeEventListener("skyie:balance-changed", refresh);
    window.removeEventListener("pageshow", restored);
  };
}
