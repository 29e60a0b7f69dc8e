// The marker at the start of a script line, read the way core/script.py reads it:
// "[TAG]" or "[TAG: body]", and for a b-roll body "prompt | 5s" split at the first bar.
// Both script editors colour lines from this one reading, so they cannot drift apart.

const MARKER = /^(\s*)(\[\s*([A-Za-z]*)\s*(?::([^\]]*))?(\])?)/;

// null when the line has no marker (narration continuing the segment above, or blank).
export function readMarker(line) {
  const found = MARKER.exec(line);
  if (!found) return null;
  const [whole, indent, marker, tag, body, close] = found;
  const upper = (tag || "").toUpperCase();
  const kind = upper === "TALKING" ? "talking" : upper === "BROLL" ? "broll" : null;
  const bar = body === undefined ? -1 : body.indexOf("|");
  return {
    indent,
    marker, // the whole "[…]" as typed
    kind, // "talking", "broll" or null (an unknown tag)
    closed: Boolean(close),
    end: whole.length, // where the marker ends in the line
    head: body === undefined ? marker : marker.slice(0, marker.indexOf(":") + 1),
    prompt: body === undefined ? null : bar >= 0 ? body.slice(0, bar) : body,
    duration: bar >= 0 ? body.slice(bar) : null, // "| 5s", bar included
  };
}
