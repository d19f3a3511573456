// The admin dashboard. The token stays in sessionStorage and goes out as an
// Authorization header on every request (fetch, never a cookie), so a
// cross-site request has nothing to ride on. Positions come as binary
// frames on a streamed response (docs/API.md, "The live dashboard").
"use strict";

const TOKEN_KEY = "battlegrid-admin-token";
const $ = (id) => document.getElementById(id);

// What the page shows, readable by tests: last positions by player id, in
// map units, and the number of frames drawn.
const dashboard = { positions: new Map(), frames: 0, tick: 0 };
window.dashboard = dashboard;

let map = null;          // geometry of the chosen map
let base = null;         // offscreen canvas: tiles and region grid
let streamAbort = null;
let selected = null;     // id of the player whose details are shown

function token() { return sessionStorage.getItem(TOKEN_KEY); }

async function api(path, options = {}) {
  const headers = Object.assign({ Authorization: "Bearer " + token() }, options.headers || {});
  const response = await fetch(path, Object.assign({}, options, { headers }));
  if (response.status === 401) { logout("the token was refused"); throw new Error("unauthorized"); }
  return response;
}

async function json(path, options) {
  const response = await api(path, options);
  const body = await response.json().catch(() => null);
  if (!response.ok) throw new Error((body && body.message) || response.statusText);
  return body;
}

function logout(why) {
  sessionStorage.removeItem(TOKEN_KEY);
  if (streamAbort) streamAbort.abort();
  $("app").hidden = true;
  $("login").hidden = false;
  $("login-error").textContent = why || "";
}

async function login(event) {
  event.preventDefault();
  sessionStorage.setItem(TOKEN_KEY, $("login-token").value.trim());
  $("login-token").value = "";
  await start();
}

async function start() {
  let maps;
  try {
    maps = await json("/v1/admin/maps");
  } catch (err) {
    if (token()) logout("could not log in: " + err.message);
    return;
  }
  $("login").hidden = true;
  $("app").hidden = false;
  $("login-error").textContent = "";
  const select = $("map-select");
  select.replaceChildren();
  for (const m of maps.maps) {
    const option = document.createElement("option");
    option.value = m.name;
    option.textContent = m.name;
    select.append(option);
  }
  select.value = maps.default_map;
  await chooseMap(select.value);
  pollPlayers();
  refreshHistory();
}

async function chooseMap(name) {
  map = await json("/v1/admin/dashboard/map?name=" + encodeURIComponent(name));
  map.blockedBits = Uint8Array.from(atob(map.blocked), (c) => c.charCodeAt(0));
  dashboard.positions = new Map();
  drawBase();
  follow(name);
}

// The map under the dots: free tiles light, blocked tiles dark, region
// borders as lines. Drawn once per map.
function drawBase() {
  const canvas = $("world");
  base = document.createElement("canvas");
  base.width = canvas.width;
  base.height = canvas.height;
  const g = base.getContext("2d");
  g.fillStyle = "#e9efe4";
  g.fillRect(0, 0, base.width, base.height);
  const sx = base.width / map.tiles_x, sy = base.height / map.tiles_y;
  g.fillStyle = "#555b66";
  for (let ty = 0; ty < map.tiles_y; ty++) {
    for (let tx = 0; tx < map.tiles_x; tx++) {
      const i = ty * map.tiles_x + tx;
      if (map.blockedBits[i >> 3] & (1 << (i & 7))) g.fillRect(tx * sx, ty * sy, Math.ceil(sx), Math.ceil(sy));
    }
  }
  g.strokeStyle = "#8a8fa8";
  g.lineWidth = 1;
  for (let c = 0; c <= map.region_cols; c++) {
    const x = Math.round(c * base.width / map.region_cols) + 0.5;
    g.beginPath(); g.moveTo(x, 0); g.lineTo(x, base.height); g.stroke();
  }
  for (let r = 0; r <= map.region_rows; r++) {
    const y = Math.round(r * base.height / map.region_rows) + 0.5;
    g.beginPath(); g.moveTo(0, y); g.lineTo(base.width, y); g.stroke();
  }
  draw([]);
}

// One frame: the base, each region shaded by its player count, a dot per
// player (the selected one larger and red).
function draw(players) {
  const canvas = $("world");
  const g = canvas.getContext("2d");
  g.drawImage(base, 0, 0);
  const counts = new Map();
  for (const p of players) counts.set(p.region, (counts.get(p.region) || 0) + 1);
  const most = Math.max(1, ...counts.values());
  const rw = canvas.width / map.region_cols, rh = canvas.height / map.region_rows;
  for (const [region, n] of counts) {
    const col = region % map.region_cols, row = Math.floor(region / map.region_cols);
    g.fillStyle = `rgba(220, 120, 30, ${0.08 + 0.4 * n / most})`;
    g.fillRect(col * rw, row * rh, rw, rh);
  }
  const kx = canvas.width / map.width, ky = canvas.height / map.height;
  g.fillStyle = "#1846c8";
  for (const p of players) {
    g.fillRect(p.x * kx - 1.5, p.y * ky - 1.5, 3, 3);
  }
  const chosen = players.find((p) => p.id === selected);
  if (chosen) {
    g.fillStyle = "#d01010";
    g.beginPath(); g.arc(chosen.x * kx, chosen.y * ky, 5, 0, 2 * Math.PI); g.fill();
  }
}

function decodeFrame(view) {
  if (view.getUint8(0) !== 1) return null;
  const tick = Number(view.getBigUint64(1, true));
  const count = view.getUint32(9, true);
  const players = [];
  for (let i = 0, at = 13; i < count; i++, at += 10) {
    players.push({
      id: view.getUint32(at, true),
      x: view.getUint16(at + 4, true) / map.position_scale,
      y: view.getUint16(at + 6, true) / map.position_scale,
      region: view.getUint16(at + 8, true),
    });
  }
  return { tick, players };
}

function showFrame(frame) {
  dashboard.frames += 1;
  dashboard.tick = frame.tick;
  dashboard.positions = new Map(frame.players.map((p) => [p.id, { x: p.x, y: p.y }]));
  $("player-count").textContent = String(frame.players.length);
  $("tick").textContent = String(frame.tick);
  draw(frame.players);
}

// Reads the map's live stream; reconnects after a pause when it ends.
async function follow(name) {
  if (streamAbort) streamAbort.abort();
  const abort = new AbortController();
  streamAbort = abort;
  while (!abort.signal.aborted) {
    try {
      const response = await api("/v1/admin/dashboard/stream?map=" + encodeURIComponent(name), { signal: abort.signal });
      if (!response.ok) throw new Error(response.statusText);
      $("status").textContent = "live";
      const reader = response.body.getReader();
      let buffer = new Uint8Array(0);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        const joined = new Uint8Array(buffer.length + value.length);
        joined.set(buffer);
        joined.set(value, buffer.length);
        buffer = joined;
        while (buffer.length >= 4) {
          const len = new DataView(buffer.buffer, buffer.byteOffset, 4).getUint32(0, true);
          if (buffer.length < 4 + len) break;
          const frame = decodeFrame(new DataView(buffer.buffer, buffer.byteOffset + 4, len));
          if (frame) showFrame(frame);
          buffer = buffer.slice(4 + len);
        }
      }
    } catch (err) {
      if (abort.signal.aborted) return;
      $("status").textContent = "reconnecting: " + err.message;
    }
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

// The player list of the chosen map, filtered by the search box.
async function loadPlayers() {
  try {
    const prefix = $("search").value.trim();
    let path = "/v1/admin/players?limit=200&map=" + encodeURIComponent($("map-select").value);
    if (prefix) path += "&prefix=" + encodeURIComponent(prefix);
    const page = await json(path);
    const list = $("player-list");
    list.replaceChildren(...page.players.map((p) => {
      const li = document.createElement("li");
      li.dataset.id = String(p.id);
      li.textContent = `${p.name} (#${p.id}) region ${p.region}`;
      if (p.id === selected) li.classList.add("selected");
      li.addEventListener("click", () => showDetails(p.id));
      return li;
    }));
  } catch (err) {
    $("status").textContent = "player list: " + err.message;
  }
}

function pollPlayers() {
  if ($("app").hidden) return;
  loadPlayers().finally(() => setTimeout(pollPlayers, 2000));
}

async function showDetails(id) {
  selected = id;
  $("kick-result").textContent = "";
  try {
    const d = await json("/v1/admin/players/" + id);
    $("details").hidden = false;
    $("details-name").textContent = `${d.account.name} (#${d.id})`;
    const c = d.connection;
    const rows = [
      ["map", d.map], ["region", d.region],
      ["position", d.position ? `${d.position.x.toFixed(1)}, ${d.position.y.toFixed(1)}` : "-"],
      ["address", c.addr], ["round trip", c.rtt_ms.toFixed(1) + " ms"],
      ["queued", `${c.queued_messages} messages, ${c.backlog_bytes} bytes`],
      ["bytes in / out", `${c.bytes_in} / ${c.bytes_out}`],
      ["messages/s", c.messages_per_s == null ? "-" : c.messages_per_s.toFixed(1)],
    ];
    $("details-fields").replaceChildren(...rows.flatMap(([k, v]) => {
      const dt = document.createElement("dt"); dt.textContent = k;
      const dd = document.createElement("dd"); dd.textContent = String(v);
      return [dt, dd];
    }));
  } catch (err) {
    $("kick-result").textContent = err.message;
  }
}

async function kick() {
  if (selected == null) return;
  const reason = $("kick-reason").value.trim() || "kicked by an operator";
  try {
    const response = await api(`/v1/admin/players/${selected}/kick`, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ reason }),
    });
    if (!response.ok) {
      const body = await response.json().catch(() => ({}));
      throw new Error(body.message || response.statusText);
    }
    $("kick-result").textContent = `kicked #${selected}`;
  } catch (err) {
    $("kick-result").textContent = "kick failed: " + err.message;
  }
}

function chart(canvas, series, colors) {
  const g = canvas.getContext("2d");
  g.clearRect(0, 0, canvas.width, canvas.height);
  const all = series.flat();
  const top = Math.max(1e-9, ...all) * 1.1;
  series.forEach((values, i) => {
    g.strokeStyle = colors[i];
    g.beginPath();
    values.forEach((v, j) => {
      const x = values.length < 2 ? 0 : j * canvas.width / (values.length - 1);
      const y = canvas.height - v / top * canvas.height;
      if (j === 0) g.moveTo(x, y); else g.lineTo(x, y);
    });
    g.stroke();
  });
  g.fillStyle = "#333";
  g.fillText(top.toFixed(top < 10 ? 2 : 0), 2, 10);
}

async function refreshHistory() {
  if ($("app").hidden) return;
  try {
    const { points } = await json("/v1/admin/dashboard/history");
    chart($("tick-chart"), [points.map((p) => p.tick_p50_ms), points.map((p) => p.tick_p99_ms)], ["#1846c8", "#d01010"]);
    chart($("players-chart"), [points.map((p) => p.players)], ["#207020"]);
  } catch (err) {
    $("status").textContent = "history: " + err.message;
  }
  setTimeout(refreshHistory, 5000);
}

document.addEventListener("DOMContentLoaded", () => {
  $("login-form").addEventListener("submit", login);
  $("logout").addEventListener("click", () => logout(""));
  $("map-select").addEventListener("change", (e) => chooseMap(e.target.value));
  $("search").addEventListener("input", loadPlayers);
  $("kick-button").addEventListener("click", kick);
  if (token()) start();
});
