// tintype dashboard: vanilla JavaScript over the /v1 API, no build step.
// Live updates come from GET /v1/events/stream read with fetch() and a stream reader (not
// EventSource), so the Authorization header can be sent.
"use strict";

const KEY_STORAGE = "tintype.apiKey";
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const state = {
  config: { jaeger_url: null },
  view: null,
  jobId: null,
  jobsCursors: [null], // cursor of each visited page; the last is the current one
  jobsNext: null,
  deadCursor: null,
  liveHandlers: new Set(),
  progress: new Map(), // job id -> element in the submit view
};

// ---------- helpers ----------

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (name === "class") node.className = value;
    else if (name === "text") node.textContent = value;
    else if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else node.setAttribute(name, value === true ? "" : value);
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

function badge(text, kind = text) {
  return el("span", { class: `badge ${kind}`, "data-status": text, text });
}

function fmtTime(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return d.toLocaleString(undefined, { dateStyle: "short", timeStyle: "medium" });
}

function fmtAgo(iso) {
  if (!iso) return "–";
  const secs = Math.round((Date.now() - new Date(iso).getTime()) / 1000);
  if (secs < 5) return "just now";
  if (secs < 60) return `${secs} s ago`;
  if (secs < 3600) return `${Math.round(secs / 60)} min ago`;
  if (secs < 86400) return `${Math.round(secs / 3600)} h ago`;
  return `${Math.round(secs / 86400)} d ago`;
}

function fmtMs(ms) {
  if (ms === null || ms === undefined) return "–";
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(ms < 10000 ? 2 : 1)} s`;
  return `${(ms / 60000).toFixed(1)} min`;
}

function fmtSecs(secs) {
  return secs === null || secs === undefined ? "–" : fmtMs(secs * 1000);
}

function fmtBytes(n) {
  if (n === null || n === undefined) return "–";
  if (n < 1024) return `${n} B`;
  if (n < 1048576) return `${(n / 1024).toFixed(1)} KiB`;
  return `${(n / 1048576).toFixed(1)} MiB`;
}

function duration(job) {
  if (!job.started_at) return "–";
  const end = job.finished_at ? new Date(job.finished_at) : new Date();
  return fmtMs(end - new Date(job.started_at));
}

function shortId(id) {
  return id.slice(0, 8) + "…" + id.slice(-4);
}

function toast(message, kind = "") {
  const node = el("div", { class: `toast ${kind}`, role: "status", text: message });
  $("#toasts").append(node);
  setTimeout(() => node.remove(), 5000);
}

function debounce(fn, ms) {
  let timer = null;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function showError(message) {
  const box = $("#view-error");
  box.textContent = message;
  box.hidden = !message;
}

// ---------- API and auth ----------

let keyPrompt = null;

function askForKey(reason) {
  if (keyPrompt) return keyPrompt;
  const dialog = $("#auth-dialog");
  $("#auth-reason").textContent = reason ||
    "This gateway requires an API key. It is kept in this browser tab only (sessionStorage).";
  $("#api-key").value = "";
  keyPrompt = new Promise((resolve) => {
    const form = $("#auth-form");
    const onSubmit = (event) => {
      event.preventDefault();
      const key = $("#api-key").value.trim();
      if (!key) return;
      sessionStorage.setItem(KEY_STORAGE, key);
      form.removeEventListener("submit", onSubmit);
      dialog.close();
      updateKeyButton();
      keyPrompt = null;
      resolve(key);
    };
    form.addEventListener("submit", onSubmit);
  });
  // Escape must not leave the page without a key: the dialog stays until one is given.
  dialog.addEventListener("cancel", (e) => e.preventDefault(), { once: true });
  if (!dialog.open) dialog.showModal();
  return keyPrompt;
}

function authHeaders(extra = {}) {
  const headers = new Headers(extra);
  const key = sessionStorage.getItem(KEY_STORAGE);
  if (key) headers.set("Authorization", `Bearer ${key}`);
  return headers;
}

// fetch() with the API key; a 401 asks for a key and tries again.
async function api(path, options = {}) {
  for (;;) {
    const used = sessionStorage.getItem(KEY_STORAGE);
    const response = await fetch(path, { ...options, headers: authHeaders(options.headers || {}) });
    if (response.status !== 401) return response;
    const problem = await response.json().catch(() => ({}));
    const had = sessionStorage.getItem(KEY_STORAGE);
    // Another request got a new key from the user meanwhile: just try again with it.
    if (had && had !== used) continue;
    sessionStorage.removeItem(KEY_STORAGE);
    updateKeyButton();
    await askForKey(had ? `That key was refused: ${problem.detail || "unauthorized"}. Enter another.` : null);
  }
}

async function problemText(response) {
  const body = await response.json().catch(() => null);
  if (body && body.detail) return `${body.title || response.status}: ${body.detail}`;
  return `HTTP ${response.status}`;
}

async function apiJson(path, options) {
  const response = await api(path, options);
  if (!response.ok) throw new Error(await problemText(response));
  return response.json();
}

function updateKeyButton() {
  $("#forget-key").hidden = !sessionStorage.getItem(KEY_STORAGE);
}

// ---------- live events ----------

function setLive(on) {
  const node = $("#live-indicator");
  node.classList.toggle("on", on);
  node.classList.toggle("off", !on);
  $(".label", node).textContent = on ? "live" : "offline";
}

function handleBlock(block) {
  let name = "message";
  const data = [];
  for (const line of block.split("\n")) {
    if (line.startsWith(":")) continue;
    if (line.startsWith("event:")) name = line.slice(6).trim();
    else if (line.startsWith("data:")) data.push(line.slice(5).replace(/^ /, ""));
  }
  if (!data.length) return;
  let payload;
  try {
    payload = JSON.parse(data.join("\n"));
  } catch {
    return;
  }
  for (const handler of state.liveHandlers) handler(name, payload);
}

async function streamEvents() {
  for (;;) {
    try {
      const response = await api("/v1/events/stream");
      if (!response.ok || !response.body) throw new Error(`stream answered ${response.status}`);
      setLive(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value.replace(/\r\n/g, "\n");
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          handleBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (err) {
      console.warn("event stream:", err);
    }
    setLive(false);
    await new Promise((r) => setTimeout(r, 3000));
  }
}

// ---------- overview ----------

const refreshOverview = debounce(() => state.view === "overview" && loadOverview(), 800);

function chart(buckets, bucketSecs) {
  const w = 600, h = 170, pad = 22;
  const max = Math.max(1, ...buckets.map((b) => b.succeeded + b.failed + b.cancelled));
  const bw = (w - pad) / Math.max(1, buckets.length);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", `0 0 ${w} ${h}`);
  svg.setAttribute("preserveAspectRatio", "none");
  const rect = (x, y, width, height, color, title) => {
    const r = document.createElementNS(ns, "rect");
    r.setAttribute("x", x); r.setAttribute("y", y);
    r.setAttribute("width", Math.max(1, width)); r.setAttribute("height", Math.max(0, height));
    r.setAttribute("fill", color);
    const t = document.createElementNS(ns, "title");
    t.textContent = title;
    r.append(t);
    svg.append(r);
  };
  const scale = (h - pad) / max;
  buckets.forEach((b, i) => {
    const x = pad + i * bw + bw * 0.1;
    const title = `${fmtTime(b.at)}: ${b.succeeded} succeeded, ${b.failed} failed, ${b.cancelled} cancelled`;
    let y = h - pad;
    for (const [n, color] of [[b.succeeded, "#1f8a4c"], [b.failed, "#c8372d"], [b.cancelled, "#b7791f"]]) {
      if (!n) continue;
      y -= n * scale;
      rect(x, y, bw * 0.8, n * scale, color, title);
    }
  });
  const label = (x, y, text, anchor = "start") => {
    const t = document.createElementNS(ns, "text");
    t.setAttribute("x", x); t.setAttribute("y", y); t.setAttribute("class", "axis");
    t.setAttribute("text-anchor", anchor);
    t.textContent = text;
    svg.append(t);
  };
  label(0, 10, String(max));
  label(0, h - pad, "0");
  if (buckets.length) {
    label(pad, h - 6, new Date(buckets[0].at).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" }));
    label(w, h - 6, "now", "end");
  }
  return svg;
}

async function loadOverview() {
  const window = $("#stats-window").value;
  const [stats, queues, workers] = await Promise.all([
    apiJson(`/v1/stats?window=${encodeURIComponent(window)}`),
    apiJson("/v1/queues").catch(() => null),
    api("/v1/workers").then((r) => (r.ok ? r.json() : null)),
  ]);
  const finished = stats.finished.succeeded + stats.finished.failed + stats.finished.cancelled;
  const minutes = stats.window_secs / 60;
  $("#ov-throughput").textContent = `${(finished / minutes).toFixed(finished / minutes < 10 ? 2 : 0)}/min`;
  $("#ov-throughput-sub").textContent = `${finished} finished, ${stats.submitted} accepted`;
  $("#ov-success").textContent = stats.success_rate === null ? "–" : `${(stats.success_rate * 100).toFixed(1)} %`;
  $("#ov-success-sub").textContent = `${stats.finished.succeeded} ok · ${stats.finished.failed} failed · ${stats.finished.cancelled} cancelled`;
  const pct = (p) => `${fmtMs(p.p50)} / ${fmtMs(p.p90)} / ${fmtMs(p.p99)}`;
  $("#ov-wait").textContent = pct(stats.queue_wait_ms);
  $("#ov-wait-sub").textContent = `${stats.queue_wait_ms.samples} jobs started`;
  $("#ov-proc").textContent = pct(stats.processing_ms);
  $("#ov-proc-sub").textContent = `${stats.processing_ms.samples} jobs finished`;
  $("#ov-bucket").textContent = `· per ${stats.bucket_secs >= 3600 ? stats.bucket_secs / 3600 + " h" : stats.bucket_secs / 60 + " min"}`;
  $("#ov-chart").replaceChildren(chart(stats.throughput, stats.bucket_secs));
  $("#ov-status").replaceChildren(
    ...Object.entries(stats.by_status).map(([s, n]) => el("span", { class: `badge ${s}` }, `${s} ${n}`)),
  );
  if (!Object.keys(stats.by_status).length) $("#ov-status").append(el("span", { class: "muted", text: "No jobs in this window." }));
  if (workers) {
    const alive = workers.items.filter((w) => w.state === "alive");
    $("#ov-workers").textContent = String(alive.length);
    const slots = alive.reduce((n, w) => n + w.concurrency, 0);
    const busy = alive.reduce((n, w) => n + w.current_jobs.length, 0);
    $("#ov-workers-sub").textContent = `${busy} of ${slots} slots busy`;
  } else {
    $("#ov-workers").textContent = "–";
    $("#ov-workers-sub").textContent = "needs an admin key";
  }
  const body = $("#ov-queues tbody");
  if (queues) {
    body.replaceChildren(...queues.queues.map((q) => el("tr", {},
      el("td", {}, q.priority),
      el("td", { class: "num" }, q.depth ?? "–"),
      el("td", { class: "num" }, q.consumers ?? "–"),
      el("td", { class: "num" }, fmtSecs(q.oldest_age_secs)))),
      el("tr", {}, el("td", {}, "dead letters"), el("td", { class: "num" }, queues.dead_letters.depth ?? "–"), el("td", { class: "num" }, queues.dead_letters.consumers ?? "–"), el("td", {})));
  }
}

function addActivity(name, event) {
  const list = $("#activity");
  if (list.firstElementChild && list.firstElementChild.classList.contains("muted")) list.replaceChildren();
  list.prepend(el("li", {},
    el("span", { class: "when", text: new Date(event.at).toLocaleTimeString() }),
    badge(event.kind, event.status),
    el("a", { class: "link mono", href: `#/jobs/${event.job_id}`, text: shortId(event.job_id) }),
    event.worker_id ? el("span", { class: "muted", text: `on ${event.worker_id}` }) : null));
  while (list.children.length > 50) list.lastElementChild.remove();
}

// ---------- jobs ----------

function jobsQuery(cursor) {
  const form = $("#job-filters");
  const params = new URLSearchParams();
  const data = new FormData(form);
  if (data.get("status")) params.append("status", data.get("status"));
  if (data.get("priority")) params.append("priority", data.get("priority"));
  if (data.get("from")) params.append("created_from", new Date(data.get("from")).toISOString());
  if (data.get("to")) params.append("created_to", new Date(data.get("to")).toISOString());
  if (data.get("q").trim()) params.append("q", data.get("q").trim());
  if (data.get("metadata").trim()) params.append("metadata", data.get("metadata").trim());
  params.append("limit", "25");
  if (cursor) params.append("cursor", cursor);
  return params.toString();
}

function jobRow(job) {
  const meta = Object.entries(job.metadata || {}).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ");
  return el("tr", { class: "clickable", "data-id": job.id, onclick: () => (location.hash = `#/jobs/${job.id}`) },
    el("td", {}, el("a", { class: "link mono", href: `#/jobs/${job.id}`, text: shortId(job.id) })),
    el("td", {}, badge(job.status)),
    el("td", {}, job.priority),
    el("td", { title: job.created_at }, fmtTime(job.created_at)),
    el("td", { class: "num" }, duration(job)),
    el("td", { class: "num" }, `${job.attempts}/${job.max_attempts}`),
    el("td", { class: "muted", text: meta.length > 60 ? meta.slice(0, 60) + "…" : meta }));
}

async function loadJobs() {
  const cursor = state.jobsCursors[state.jobsCursors.length - 1];
  const page = await apiJson(`/v1/jobs?${jobsQuery(cursor)}`);
  const body = $("#jobs-table tbody");
  const before = new Set($$("tr[data-id]", body).map((r) => r.dataset.id));
  const rows = page.jobs.map(jobRow);
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 7, class: "empty", text: "No jobs match." })));
  body.replaceChildren(...rows);
  if (before.size) for (const row of $$("tr[data-id]", body)) if (!before.has(row.dataset.id)) row.classList.add("flash");
  state.jobsNext = page.next_cursor;
  $("#jobs-next").disabled = !page.next_cursor;
  $("#jobs-prev").disabled = state.jobsCursors.length <= 1;
  $("#jobs-page").textContent = `page ${state.jobsCursors.length}`;
  $("#jobs-new").hidden = true;
}

const refreshJobs = debounce(() => state.view === "jobs" && loadJobs().catch((e) => showError(e.message)), 300);

function onJobsEvent(name, event) {
  if (state.view !== "jobs") return;
  // Only the first page follows live; deeper pages would shift under the reader.
  if (state.jobsCursors.length === 1) {
    refreshJobs();
  } else {
    const note = $("#jobs-new");
    note.hidden = false;
    note.textContent = "New activity: go to the first page to see it.";
  }
}

// ---------- job detail ----------

const thumbnails = new Map(); // url -> object URL, so live refreshes do not refetch images

async function thumbnail(output) {
  if (thumbnails.has(output.url)) return thumbnails.get(output.url);
  const path = new URL(output.url, location.href);
  const target = path.origin === location.origin ? path.pathname : output.url;
  const response = await api(target);
  if (!response.ok) throw new Error(await problemText(response));
  const url = URL.createObjectURL(await response.blob());
  thumbnails.set(output.url, url);
  return url;
}

function field(name, value, key) {
  return [el("dt", { text: name }), el("dd", { "data-field": key || null }, value)];
}

async function loadJob(id) {
  const [job, history] = await Promise.all([
    apiJson(`/v1/jobs/${encodeURIComponent(id)}`),
    apiJson(`/v1/jobs/${encodeURIComponent(id)}/events`).catch(() => ({ events: [] })),
  ]);
  if (state.view !== "job" || state.jobId !== id) return;
  $("#job-title").textContent = job.id;
  const status = $("#job-status");
  status.className = `badge ${job.status}`;
  status.textContent = job.status;
  status.dataset.status = job.status;
  $("#job-cancel").hidden = !["queued", "running", "retrying"].includes(job.status) || !!job.cancel_requested_at && job.status === "running";
  $("#job-retry").hidden = job.status !== "failed";
  const trace = $("#job-trace");
  if (state.config.jaeger_url && job.trace_id) {
    trace.href = `${state.config.jaeger_url}/trace/${job.trace_id}`;
    trace.hidden = false;
  } else {
    trace.hidden = true;
  }
  const err = $("#job-error");
  err.hidden = !job.error;
  if (job.error) err.textContent = `${job.error.code}: ${job.error.message}`;
  const wait = job.started_at ? fmtMs(new Date(job.started_at) - new Date(job.created_at)) : "–";
  $("#job-fields").replaceChildren(
    ...field("Status", job.status, "status"),
    ...field("Priority", job.priority),
    ...field("Attempts", `${job.attempts} of ${job.max_attempts}`, "attempts"),
    ...field("Created", fmtTime(job.created_at)),
    ...field("Started", fmtTime(job.started_at)),
    ...field("Finished", fmtTime(job.finished_at)),
    ...field("Queue wait", wait),
    ...field("Processing", duration(job)),
    ...field("Worker", job.worker_id || "–"),
    ...field("Source", job.source ? `${job.source.format} ${job.source.width}×${job.source.height}, ${fmtBytes(job.source.bytes)}` : "–"),
    ...field("Trace id", job.trace_id || "–"),
    ...(job.cancel_requested_at ? field("Cancel asked", fmtTime(job.cancel_requested_at)) : []),
    ...(job.dead_lettered_at ? field("Dead-lettered", fmtTime(job.dead_lettered_at)) : []),
  );
  const timeline = history.events.map((e) => el("li", { class: e.kind },
    el("b", { text: e.kind }),
    el("span", { class: "when", text: `${fmtTime(e.at)} · attempt ${e.attempt}${e.worker_id ? " · " + e.worker_id : ""}` }),
    e.detail ? el("div", { class: "detail", text: JSON.stringify(e.detail) }) : null));
  $("#job-timeline").replaceChildren(...(timeline.length ? timeline : [el("li", { class: "muted", text: "No events yet." })]));
  const outputs = $("#job-outputs");
  if (!job.outputs.length) {
    outputs.replaceChildren(el("span", { class: "muted", text: job.status === "deleted" ? "Outputs deleted." : "No outputs." }));
  } else {
    outputs.replaceChildren(...job.outputs.map((o) => {
      const img = el("img", { alt: o.name });
      const link = el("a", { class: "link", text: "Download", download: `${o.name}.${o.format}` });
      thumbnail(o).then((url) => { img.src = url; link.href = url; }).catch((e) => img.replaceWith(el("span", { class: "muted", text: e.message })));
      return el("div", { class: "output", "data-output": o.name },
        el("div", { class: "thumb" }, img),
        el("div", { class: "meta" }, el("b", { text: o.name }), `${o.format} · ${o.width}×${o.height} · ${fmtBytes(o.bytes)} `, link));
    }));
  }
  $("#job-recipe").textContent = JSON.stringify({ metadata: job.metadata, source: job.source }, null, 2);
}

const refreshJob = debounce(() => state.view === "job" && loadJob(state.jobId).catch((e) => showError(e.message)), 150);

async function jobAction(action) {
  const id = state.jobId;
  const button = action === "cancel" ? $("#job-cancel") : $("#job-retry");
  button.disabled = true;
  try {
    const response = await api(`/v1/jobs/${id}/${action}`, { method: "POST" });
    if (!response.ok) throw new Error(await problemText(response));
    toast(action === "cancel" ? (response.status === 202 ? "Cancel requested; the worker stops shortly." : "Job cancelled.") : "Job queued again.");
  } catch (e) {
    toast(e.message, "error");
  } finally {
    button.disabled = false;
    refreshJob();
  }
}

// ---------- submit ----------

const DEFAULT_RECIPE = {
  operations: [{ op: "auto_orient" }],
  outputs: [
    { name: "large", format: "jpeg", quality: 85, operations: [{ op: "resize", width: 1600, height: 1600, fit: "inside" }] },
    { name: "thumb", format: "webp", quality: 80, operations: [{ op: "resize", width: 200, height: 200, fit: "cover" }] },
  ],
  priority: "default",
  metadata: {},
};

let presetsLoaded = false;

async function loadSubmit() {
  const area = $("#submit-form textarea[name=recipe]");
  if (!area.value) area.value = JSON.stringify(DEFAULT_RECIPE, null, 2);
  if (presetsLoaded) return;
  const list = await apiJson("/v1/presets").catch(() => ({ presets: [] }));
  const select = $("#submit-form select[name=preset]");
  for (const preset of list.presets) {
    select.append(el("option", { value: preset.name, text: preset.description ? `${preset.name} — ${preset.description}` : preset.name }));
  }
  presetsLoaded = true;
}

function progressEntry(job) {
  const list = el("ul", {});
  const status = badge(job.status);
  const node = el("div", { class: "progress-item", "data-job": job.id },
    el("div", { class: "row" }, el("a", { class: "link mono", href: `#/jobs/${job.id}`, text: shortId(job.id) }), status),
    list);
  state.progress.set(job.id, { node, list, status });
  const box = $("#submit-progress");
  if (box.firstElementChild && box.firstElementChild.classList.contains("muted")) box.replaceChildren();
  box.prepend(node);
}

function onProgressEvent(name, event) {
  const entry = state.progress.get(event.job_id);
  if (!entry) return;
  entry.status.className = `badge ${event.status}`;
  entry.status.textContent = event.status;
  entry.status.dataset.status = event.status;
  const detail = event.detail ? ` ${JSON.stringify(event.detail).slice(0, 120)}` : "";
  entry.list.append(el("li", { text: `${new Date(event.at).toLocaleTimeString()} ${event.kind}${detail}` }));
}

async function submitJob(event) {
  event.preventDefault();
  const form = event.target;
  const message = $("#submit-message");
  let recipe;
  try {
    recipe = JSON.parse(form.recipe.value);
  } catch (e) {
    message.textContent = `The recipe is not valid JSON: ${e.message}`;
    return;
  }
  const source = form.source.value;
  let response;
  const button = $("button[type=submit]", form);
  button.disabled = true;
  message.textContent = "Submitting…";
  try {
    if (source === "file") {
      const file = form.file.files[0];
      if (!file) {
        message.textContent = "Pick an image first.";
        return;
      }
      const body = new FormData();
      body.append("file", file, file.name);
      body.append("recipe", JSON.stringify(recipe));
      response = await api("/v1/jobs", { method: "POST", body });
    } else {
      const url = form.url.value.trim();
      if (!url) {
        message.textContent = "Paste an image URL first.";
        return;
      }
      response = await api("/v1/jobs", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ ...recipe, source: { url } }),
      });
    }
    if (!response.ok) throw new Error(await problemText(response));
    const job = await response.json();
    message.textContent = `Accepted ${job.id}`;
    progressEntry(job);
  } catch (e) {
    message.textContent = e.message;
  } finally {
    button.disabled = false;
  }
}

// ---------- workers, queues, dead letters, schedules ----------

async function loadWorkers() {
  const response = await api("/v1/workers");
  if (response.status === 403) throw new Error("Listing workers needs a key with the admin scope.");
  if (!response.ok) throw new Error(await problemText(response));
  const { items } = await response.json();
  const rows = items.map((w) => el("tr", { "data-worker": w.id },
    el("td", { class: "mono", text: w.id }),
    el("td", {}, badge(w.state)),
    el("td", { text: w.host }),
    el("td", { text: w.queues.join(", ") }),
    el("td", { class: "num", text: w.concurrency }),
    el("td", {}, ...w.current_jobs.map((id) => el("a", { class: "link mono", href: `#/jobs/${id}`, text: shortId(id) + " " }))),
    el("td", { class: "num", text: w.processed }),
    el("td", { class: "num", text: w.failed }),
    el("td", { title: w.last_seen_at, text: fmtAgo(w.last_seen_at) })));
  if (!rows.length) rows.push(el("tr", {}, el("td", { colspan: 9, class: "empty", text: "No workers have registered in the last hour." })));
  $("#workers-table tbody").replaceChildren(...rows);
}

async function loadQueues() {
  const [queues, stats] = await Promise.all([apiJson("/v1/queues"), apiJson("/v1/stats?window=15m").catch(() => null)]);
  const broker = $("#queues-broker");
  broker.className = `badge ${queues.broker}`;
  broker.textContent = `RabbitMQ ${queues.broker}`;
  const rate = stats ? (stats.finished.succeeded + stats.finished.failed + stats.finished.cancelled) / 15 : null;
  $("#queues-table tbody").replaceChildren(...queues.queues.map((q) => el("tr", { "data-queue": q.name },
    el("td", { class: "mono", text: q.name }),
    el("td", { text: q.priority }),
    el("td", { class: "num", text: q.depth ?? "–" }),
    el("td", { class: "num", text: q.consumers ?? "–" }),
    el("td", { class: "num", text: q.queued }),
    el("td", { class: "num", text: q.retrying }),
    el("td", { class: "num", text: q.running }),
    el("td", { class: "num", text: fmtSecs(q.oldest_age_secs) }))));
  $("#queues-rate").textContent = rate === null ? "" : `Finished over the last 15 minutes: ${rate.toFixed(2)} jobs/min across all queues.`;
  $("#queues-dead").textContent = `Dead-letter queue ${queues.dead_letters.name}: ${queues.dead_letters.depth ?? "–"} messages waiting to be recorded.`;
}

async function loadDeadLetters(more = false) {
  const query = new URLSearchParams({ limit: "25" });
  if (more && state.deadCursor) query.set("cursor", state.deadCursor);
  const response = await api(`/v1/dead-letters?${query}`);
  if (response.status === 403) throw new Error("Dead letters need a key with the admin scope.");
  if (!response.ok) throw new Error(await problemText(response));
  const page = await response.json();
  const rows = page.items.map((job) => el("tr", { "data-id": job.id },
    el("td", {}, el("a", { class: "link mono", href: `#/jobs/${job.id}`, text: shortId(job.id) })),
    el("td", { text: job.error ? `${job.error.code}: ${job.error.message}` : "–" }),
    el("td", { text: fmtTime(job.dead_lettered_at) }),
    el("td", { class: "num", text: `${job.attempts}/${job.max_attempts}` }),
    el("td", { class: "num" }, el("button", {
      class: "btn small primary", type: "button", text: "Retry",
      onclick: async (e) => {
        e.target.disabled = true;
        const r = await api(`/v1/jobs/${job.id}/retry`, { method: "POST" });
        if (r.ok) {
          toast("Job queued again.");
          e.target.closest("tr").remove();
        } else {
          toast(await problemText(r), "error");
          e.target.disabled = false;
        }
      },
    }))));
  const body = $("#dead-table tbody");
  if (more) body.append(...rows);
  else body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 5, class: "empty", text: "No dead letters." }))]));
  state.deadCursor = page.next_cursor;
  $("#dead-more").hidden = !page.next_cursor;
}

async function loadSchedules() {
  const response = await api("/v1/schedules");
  const body = $("#schedules-table tbody");
  if (response.status === 404) {
    body.replaceChildren(el("tr", {}, el("td", { colspan: 6, class: "empty", text: "Schedules not available on this gateway." })));
    return;
  }
  if (!response.ok) throw new Error(await problemText(response));
  const page = await response.json();
  const rows = (page.items || []).map((s) => el("tr", { "data-schedule": s.id },
    el("td", {}, el("b", { text: s.name || s.id })),
    el("td", { text: `${s.cron ? `cron ${s.cron}` : `every ${s.every}`} (${s.timezone})` }),
    el("td", {}, badge(s.paused ? "paused" : "active", s.paused ? "cancelled" : "ok")),
    el("td", { text: (s.next_fire_times || []).slice(0, 3).map(fmtTime).join(" · ") || "–" }),
    el("td", { text: s.last_fire_at ? fmtTime(s.last_fire_at) : "–" }),
    el("td", { class: "num" }, el("button", {
      class: "btn small", type: "button", text: s.paused ? "Resume" : "Pause",
      onclick: async () => {
        const r = await api(`/v1/schedules/${encodeURIComponent(s.id)}/${s.paused ? "resume" : "pause"}`, { method: "POST" });
        if (!r.ok) toast(await problemText(r), "error");
        loadSchedules().catch((e) => showError(e.message));
      },
    }))));
  body.replaceChildren(...(rows.length ? rows : [el("tr", {}, el("td", { colspan: 6, class: "empty", text: "No schedules." }))]));
}

// ---------- routing ----------

const VIEWS = {
  overview: () => loadOverview(),
  jobs: () => loadJobs(),
  job: () => loadJob(state.jobId),
  submit: () => loadSubmit(),
  workers: () => loadWorkers(),
  queues: () => loadQueues(),
  "dead-letters": () => loadDeadLetters(),
  schedules: () => loadSchedules(),
};

function route() {
  const parts = location.hash.replace(/^#\/?/, "").split("/");
  let view = parts[0] || "overview";
  state.jobId = null;
  if (view === "jobs" && parts[1]) {
    view = "job";
    state.jobId = decodeURIComponent(parts[1]);
  }
  if (!VIEWS[view]) view = "overview";
  state.view = view;
  for (const section of $$(".view")) section.hidden = section.id !== `view-${view}`;
  const navView = view === "job" ? "jobs" : view;
  for (const link of $$("#nav a")) link.classList.toggle("active", link.dataset.view === navView);
  showError("");
  VIEWS[view]().catch((e) => showError(e.message));
}

async function main() {
  state.config = await fetch("/ui/config.json").then((r) => r.json()).catch(() => state.config);
  updateKeyButton();
  $("#forget-key").addEventListener("click", () => {
    sessionStorage.removeItem(KEY_STORAGE);
    updateKeyButton();
    location.reload();
  });
  $("#stats-window").addEventListener("change", () => loadOverview().catch((e) => showError(e.message)));
  $("#job-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    state.jobsCursors = [null];
    loadJobs().catch((err) => showError(err.message));
  });
  $("#job-filters").addEventListener("reset", () => setTimeout(() => {
    state.jobsCursors = [null];
    loadJobs().catch((err) => showError(err.message));
  }));
  $("#jobs-next").addEventListener("click", () => {
    if (!state.jobsNext) return;
    state.jobsCursors.push(state.jobsNext);
    loadJobs().catch((e) => showError(e.message));
  });
  $("#jobs-prev").addEventListener("click", () => {
    if (state.jobsCursors.length > 1) state.jobsCursors.pop();
    loadJobs().catch((e) => showError(e.message));
  });
  $("#job-cancel").addEventListener("click", () => jobAction("cancel"));
  $("#job-retry").addEventListener("click", () => jobAction("retry"));
  $("#dead-more").addEventListener("click", () => loadDeadLetters(true).catch((e) => showError(e.message)));
  $("#submit-form").addEventListener("submit", submitJob);
  for (const radio of $$("#submit-form input[name=source]")) {
    radio.addEventListener("change", () => {
      const url = $("#submit-form").source.value === "url";
      $("#submit-url-row").hidden = !url;
      $("#submit-file-row").hidden = url;
    });
  }
  $("#submit-form select[name=preset]").addEventListener("change", (e) => {
    const area = $("#submit-form textarea[name=recipe]");
    area.value = e.target.value
      ? JSON.stringify({ preset: e.target.value, priority: "default", metadata: {} }, null, 2)
      : JSON.stringify(DEFAULT_RECIPE, null, 2);
  });

  state.liveHandlers.add((name, event) => {
    if (name === "lagged") {
      refreshJobs();
      return;
    }
    addActivity(name, event);
    refreshOverview();
    onJobsEvent(name, event);
    onProgressEvent(name, event);
    if (state.view === "job" && event.job_id === state.jobId) refreshJob();
  });
  window.addEventListener("hashchange", route);
  route();
  streamEvents();
  // Durations and ages move on their own; a slow refresh keeps them honest between events.
  setInterval(() => {
    if (state.view === "overview") loadOverview().catch(() => {});
    if (state.view === "workers") loadWorkers().catch(() => {});
    if (state.view === "queues") loadQueues().catch(() => {});
  }, 10000);
}

main();
