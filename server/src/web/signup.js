"use strict";
// The sign-up page's script, a file of its own so that the page's
// Content-Security-Policy needs no 'unsafe-inline'. Plain fetch calls to the
// JSON API (docs/API.md); errors are shown in words.
const WORDS = {
  invalid_name: "That name is not allowed: use 3 to 20 letters, digits, _ or -, starting with a letter.",
  invalid_password: "The password must be at least 8 characters long.",
  // weak_password: the server's message says why and what helps.
  name_taken: "That name is already taken. Please choose another one.",
  invalid_credentials: "Wrong name or password.",
  rate_limited: "Too many attempts. Please wait a moment and try again.",
};

function show(el, cls, text) {
  el.className = "result " + cls;
  el.textContent = text;
}

async function post(path, form) {
  const body = JSON.stringify({ name: form.name.value, password: form.password.value });
  const response = await fetch(path, {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body,
  });
  let data = null;
  try { data = await response.json(); } catch (_) { /* not JSON: handled below */ }
  return { response, data };
}

function errorText(response, data) {
  if (data && data.code) {
    let text = WORDS[data.code] || data.message;
    const retry = response.headers.get("Retry-After");
    if (data.code === "rate_limited" && retry) text += " (about " + retry + " s)";
    return text;
  }
  return "The server answered " + response.status + ".";
}

async function submit(event, path, resultId, onOk) {
  event.preventDefault();
  const form = event.target;
  const result = document.getElementById(resultId);
  show(result, "", "Working...");
  try {
    const { response, data } = await post(path, form);
    if (response.ok && data) onOk(result, data);
    else show(result, "error", errorText(response, data));
  } catch (err) {
    show(result, "error", "Could not reach the server: " + err.message);
  }
}

document.getElementById("signup-form").addEventListener("submit", (e) =>
  submit(e, "/v1/accounts", "signup-result", (result, data) => {
    show(result, "ok", "Account created for " + data.name + ". You can log in now.");
  }));

document.getElementById("login-form").addEventListener("submit", (e) =>
  submit(e, "/v1/sessions", "login-result", (result, data) => {
    result.className = "result ok";
    result.textContent = "Logged in as " + data.name + ". Your session token (valid until " +
      new Date(data.expires_at * 1000).toLocaleString() + "):";
    const code = document.createElement("code");
    code.id = "token";
    code.textContent = data.token;
    result.append(document.createElement("br"), code);
  }));
