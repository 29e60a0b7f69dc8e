// The price of the script on the card, and the button that spends it. The Generate button only
// ever pays the quote shown here: when the script changes the price is withdrawn until a new
// quote for the new text is on screen.

import { el, formatSeconds } from "./ui.js";

function expired(quote) {
  return quote.expires_at && Date.parse(quote.expires_at) <= Date.now();
}

// onQuote(): ask for a (new) price. onGenerate(quote): start the job this quote prices.
export function quotePanel({ onQuote, onGenerate }) {
  const summary = el("p", { class: "quote-summary" });
  const items = el("ul", { class: "quote-items" });
  const note = el("p", { class: "quote-note", role: "status" });
  const quoteButton = el("button", { type: "button", class: "quote-button" }, "Get the price");
  const generate = el("button", { type: "button", class: "primary generate" }, "Generate video");
  const root = el(
    "div",
    { class: "quote-panel", "aria-live": "polite" },
    el("h3", {}, "Price"),
    summary,
    items,
    note,
    el("div", { class: "actions" }, quoteButton, generate),
  );
  let quote = null;
  let busy = false;

  function update() {
    const usable = quote && !expired(quote) && quote.credits <= quote.balance;
    generate.disabled = busy || !usable;
    quoteButton.disabled = busy;
    quoteButton.hidden = Boolean(usable);
    generate.textContent = quote ? `Generate video · ${quote.credits} credits` : "Generate video";
  }

  quoteButton.addEventListener("click", () => onQuote());
  generate.addEventListener("click", () => {
    // An old tab may still show a price past its validity: price it again instead of failing.
    if (quote && expired(quote)) {
      withdraw("That price expired; here is a fresh one.");
      onQuote();
      return;
    }
    if (quote) onGenerate(quote);
  });

  // quote: {quote_id, credits, planned_seconds, balance, expires_at, items?, script}
  function show(next) {
    quote = next;
    summary.replaceChildren(
      el("strong", { class: "credits" }, `${next.credits} credits`),
      ` for about ${formatSeconds(next.planned_seconds)}.`,
    );
    items.replaceChildren(
      ...(next.items || []).map((item) =>
        el("li", {}, el("span", {}, item.label), el("span", {}, `${item.credits}`)),
      ),
    );
    const left = next.balance - next.credits;
    note.className = left < 0 ? "quote-note error" : "quote-note";
    note.textContent =
      left < 0
        ? `You have ${next.balance} credits: ${-left} more are needed for this video.`
        : `You have ${next.balance}; ${left} left after this video. Credits are held while it ` +
          "renders and charged only when it is ready.";
    update();
  }

  // The shown price no longer applies (the script changed, or it expired).
  function withdraw(reason) {
    quote = null;
    summary.replaceChildren(el("span", { class: "muted" }, "No price for this version yet."));
    items.replaceChildren();
    note.className = "quote-note";
    note.textContent = reason;
    update();
  }

  withdraw("");
  return {
    root,
    show,
    withdraw,
    get quote() {
      return quote;
    },
    setBusy(flag) {
      busy = flag;
      update();
    },
    fail(message) {
      note.className = "quote-note error";
      note.textContent = message;
    },
  };
}
