// The ops page: reads /v1/console/* of this origin with the operator's token and draws tables.
// Every value from a service is set as text (textContent), never as markup.
"use strict";

const TOKEN_KEY = "revcycle.ops.token";
const REFRESH_MS = 10000;
let busy = false;

const $ = (selector) => document.querySelector(selector);

function token() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

function say(text, kind) {
  const message = $("#message");
  message.textContent = text;
  message.className = kind;
}

async function api(method, path, body) {
  const headers = { Authorization: "Bearer " + token(), Accept: "application/json" };
  const init = { method, headers, cache: "no-store" };
  if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const resp = await fetch(path, init);
  let data = null;
  try {
    data = await resp.json();
  } catch (e) {
    data = null;
  }
  if (!resp.ok) {
    const detail = data && (data.detail || data.title);
    const error = new Error(detail || "HTTP " + resp.status);
    error.status = resp.status;
    throw error;
  }
  return data;
}

// el("td", {class: "num"}, "12") -> <td class="num">12</td>; children are text or nodes.
function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(name, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child instanceof Node ? child : String(child));
  }
  return node;
}

function age(seconds) {
  if (seconds === null || seconds === undefined) return "–";
  const s = Number(seconds);
  if (s < 90) return Math.round(s) + " s";
  if (s < 5400) return Math.round(s / 60) + " min";
  if (s < 172800) return Math.round(s / 3600) + " h";
  return Math.round(s / 86400) + " d";
}

function badge(state) {
  return el("span", { class: "badge " + state }, state);
}

function fill(selector, rows, empty, columns) {
  const body = $(selector + " tbody");
  body.replaceChildren(...rows);
  if (!rows.length) body.append(el("tr", {}, el("td", { colspan: columns, class: "muted" }, empty)));
}

function sum(items, field) {
  return items.reduce((total, item) => total + (Number(item[field]) || 0), 0);
}

// A number a service could not give (Kafka or its database away) is shown as "?".
function known(value) {
  return value === null || value === undefined ? "?" : value;
}

function lagOf(consumers) {
  return consumers.some((c) => c.lag === null || c.lag === undefined) ? "?" : sum(consumers, "lag");
}

// "1 of 5 queues warn" / "5 queues ok": a queue's items are in the stuck-work table (the
// dead-letter queues count the same letters twice, parked and parked in the last hour).
function stuckSummary(queues) {
  const warned = queues.filter((q) => q.state === "warn").length;
  return warned ? warned + " of " + queues.length + " queues warn" : queues.length + " queues ok";
}

function serviceRow(view) {
  const up = view.health !== "down" && view.health !== "unknown";
  const outbox = view.outbox || {};
  const why = [view.problem, ...view.checks.map((c) => c.name + ": " + (c.output || c.status))]
    .filter(Boolean)
    .join(" · ");
  const cell = (value) => el("td", { class: "num" }, up && value !== undefined ? value : "–");
  return el(
    "tr",
    { "data-service": view.service, "data-health": view.health },
    el("td", {}, el("strong", {}, view.service), el("div", { class: "muted small" }, view.url)),
    el("td", { class: "health" }, badge(view.health)),
    cell(view.consumers.length ? lagOf(view.consumers) : undefined),
    cell(view.outbox ? known(outbox.backlog) : undefined),
    cell(view.outbox ? age(outbox.oldest_age_seconds) : undefined),
    cell(sum(view.dead_letters, "count")),
    cell(view.stuck_work.length ? stuckSummary(view.stuck_work) : undefined),
    el("td", { class: "why" }, why || "")
  );
}

function drawOverview(overview) {
  fill("#services", overview.services.map(serviceRow), "no services", 8);
  const lag = [];
  const stuck = [];
  for (const view of overview.services) {
    for (const c of view.consumers) {
      lag.push(el("tr", { class: c.lag > 0 ? "behind" : "" }, el("td", {}, view.service), el("td", {}, c.group),
        el("td", {}, c.topic), el("td", { class: "num", title: c.error || "" }, known(c.lag))));
    }
    for (const q of view.stuck_work) {
      stuck.push(el("tr", { "data-queue": q.queue }, el("td", {}, view.service), el("td", {}, q.queue),
        el("td", { class: "num" }, q.count), el("td", { class: "num" }, age(q.oldest_age_seconds)),
        el("td", {}, badge(q.state))));
    }
  }
  fill("#lag", lag, "no consumer reported", 4);
  fill("#stuck", stuck, "no stuck-work queue reported", 5);
}

function letterRow(letter) {
  const actions = el("td", { class: "actions" });
  if (letter.status === "parked") {
    const replay = el("button", { type: "button", class: "replay" }, "Replay");
    replay.addEventListener("click", () => act(letter, replay, "replay"));
    const discard = el("button", { type: "button", class: "discard quiet" }, "Discard");
    discard.addEventListener("click", () => act(letter, discard, "discard"));
    actions.append(replay, discard);
  } else if (letter.decided_by) {
    actions.append(el("span", { class: "muted small" }, "by " + letter.decided_by));
  }
  return el(
    "tr",
    { "data-letter": letter.id, "data-status": letter.status },
    el("td", {}, letter.service),
    el("td", {}, letter.topic),
    el("td", {}, badge(letter.reason)),
    el("td", { class: "error" }, letter.error),
    el("td", { class: "num" }, age(letter.age_seconds)),
    el("td", { class: "mono small" }, letter.event_id || "–"),
    el("td", { class: "mono small" }, letter.key || "–"),
    el("td", { class: "status" }, badge(letter.status)),
    el("td", { class: "num replays" }, letter.replays),
    actions
  );
}

function drawLetters(letters) {
  fill("#letters", letters.items.map(letterRow), "no dead letters", 10);
  const missing = letters.sources.filter((s) => !s.listed);
  if (missing.length) {
    say("Dead letters not listed for " + missing.map((s) => s.service + " (" + s.problem + ")").join(", "), "warn");
  }
}

async function refresh() {
  if (!token()) return;
  try {
    const [overview, letters] = await Promise.all([
      api("GET", "/v1/console/overview"),
      api("GET", "/v1/console/dead-letters"),
    ]);
    if ($("#message").className !== "ok") say("", "");
    drawOverview(overview);
    drawLetters(letters);
    $("#updated").textContent = "Updated " + new Date(overview.generated_at).toLocaleTimeString() +
      "; refreshes every " + REFRESH_MS / 1000 + " s";
    document.body.dataset.refreshes = String(Number(document.body.dataset.refreshes || 0) + 1);
  } catch (error) {
    say((error.status === 401 ? "Token refused: " : "Could not load: ") + error.message, "error");
  }
}

async function act(letter, button, action) {
  let body;
  if (action === "discard") {
    const reason = window.prompt("Why give this dead letter up? (kept with it)");
    if (!reason) return;
    body = { reason };
  }
  busy = true;
  button.disabled = true;
  const path = "/v1/console/dead-letters/" + encodeURIComponent(letter.service) + "/" +
    encodeURIComponent(letter.id) + "/" + action;
  try {
    const done = await api("POST", path, body);
    const what = (done.event_type || "event") + " " + (done.event_id || done.id);
    say(action === "replay"
      ? "Replayed " + what + " into " + done.topic + " (replay " + done.replays + ")."
      : "Discarded " + what + ".", "ok");
    await refresh();
  } catch (error) {
    say(action + " refused by " + letter.service + ": " + error.message, "error");
    button.disabled = false;
  } finally {
    busy = false;
  }
}

document.addEventListener("DOMContentLoaded", () => {
  $("#token-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const value = $("#token").value.trim().replace(/^Bearer\s+/i, "");
    if (!value) return;
    sessionStorage.setItem(TOKEN_KEY, value);
    $("#token").value = "";
    say("Token in use for this tab.", "ok");
    refresh();
  });
  $("#forget-token").addEventListener("click", () => {
    sessionStorage.removeItem(TOKEN_KEY);
    say("Token forgotten.", "info");
  });
  $("#refresh").addEventListener("click", () => refresh());
  if (token()) say("Using the token from this tab.", "info");
  refresh();
  setInterval(() => {
    if (!busy && !document.hidden) refresh();
  }, REFRESH_MS);
});
