// The API client: tokens, JSON calls with one error shape, and the two kinds of stream.

const TOKENS = "skyie.tokens";

export class ApiError extends Error {
  constructor(status, code, message, details = []) {
    super(message);
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

export const tokens = {
  get() {
    try {
      return JSON.parse(localStorage.getItem(TOKENS)) || null;
    } catch {
      return null;
    }
  },
  set(pair) {
    localStorage.setItem(
      TOKENS,
      JSON.stringify({ access: pair.access_token, refresh: pair.refresh_token }),
    );
  },
  clear() {
    localStorage.removeItem(TOKENS);
  },
};

let refreshing = null;

async function refreshTokens() {
  const current = tokens.get();
  if (!current) return false;
  // One refresh at a time: a refresh token works once, so parallel calls must share it.
  refreshing ??= fetch("/v1/auth/refresh", {
    method: "POST",
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ refresh_token: current.refresh }),
  })
    .then(async (r) => {
      if (!r.ok) return false;
      tokens.set(await r.json());
      return true;
    })
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

async function toError(response) {
  let body = null;
  try {
    body = await response.json();
  } catch {
    /* not JSON */
  }
  const error = body?.error;
  return new ApiError(
    response.status,
    error?.code || "http_" + response.status,
    error?.message || response.statusText || "request failed",
    error?.details || [],
  );
}

function authHeaders() {
  const current = tokens.get();
  return current ? { authorization: "Bearer " + current.access } : {};
}

// fetch with the access token, refreshed once on expiry; `retry` is for the second go.
export async function raw(path, options = {}, retry = true) {
  const headers = { ...(options.headers || {}), ...authHeaders() };
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401 && retry && tokens.get()) {
    if (await refreshTokens()) return raw(path, options, false);
    tokens.clear();
    window.dispatchEvent(new CustomEvent("skyie:logged-out"));
  }
  return response;
}

// JSON in, JSON out; throws ApiError. `form` sends multipart (uploads) instead of JSON.
export async function api(path, { method = "GET", body, form, signal } = {}) {
  const options = { method, signal, headers: {} };
  if (form) {
    options.body = form;
  } else if (body !== undefined) {
    options.body = JSON.stringify(body);
    options.headers["content-type"] = "application/json";
  }
  const response = await raw(path, options);
  if (!response.ok) throw await toError(response);
  if (response.status === 204) return null;
  return response.json();
}

// POST /v1/chat as server-sent events: calls onEvent({type, ...}) for each agent event.
export async function streamChat(body, onEvent, signal) {
  const response = await raw("/v1/chat", {
    method: "POST",
    signal,
    headers: { "content-type": "application/json", accept: "text/event-stream" },
    body: JSON.stringify({ ...body, stream: true }),
  });
  if (!response.ok) throw await toError(response);
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame
        .split("\n")
        .filter((line) => line.startsWith("data:"))
        .map((line) => line.slice(5).trimStart())
        .join("\n");
      if (data) onEvent(JSON.parse(data));
    }
  }
}

// Live progress of a job: onEvent(progress) until the job ends; returns a close function.
export function followJob(jobId, onEvent) {
  const current = tokens.get();
  const url = `/v1/jobs/${encodeURIComponent(jobId)}/events?access_token=${encodeURIComponent(current?.access || "")}`;
  const source = new EventSource(url);
  const handle = (message) => onEvent(JSON.parse(message.data));
  source.addEventListener("progress", handle);
  source.addEventListener("done", (message) => {
    handle(message);
    source.close();
  });
  source.onerror = async () => {
    // An expired token or a dropped connection: refresh and follow again from the database.
    source.close();
    if (await refreshTokens()) followJob(jobId, onEvent);
  };
  return () => source.close();
}

// A file behind authentication as an object URL (for <img> and <video> of private files).
export async function blobUrl(path) {
  const response = await raw(path);
  if (!response.ok) throw await toError(response);
  return URL.createObjectURL(await response.blob());
}

// A same-origin URL for <video>, <img> and download links, which cannot send a header: the
// access token rides in the query. `url` may be absolute (the API's links) or a path.
export function authUrl(url) {
  const target = new URL(url, location.origin);
  target.searchParams.set("access_token", tokens.get()?.access || "");
  return target.pathname + target.search;
}
