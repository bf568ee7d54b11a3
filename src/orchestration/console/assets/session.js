// The bearer token lives in this tab's sessionStorage only: gone when the tab closes, never
// shared with other tabs or written to disk the way localStorage is.

const KEY = "orchestration.token";

export function getToken() {
  return sessionStorage.getItem(KEY) ?? "";
}

export function setToken(token) {
  sessionStorage.setItem(KEY, token.trim().replace(/^bearer\s+/i, ""));
  announce();
}

export function forgetToken() {
  sessionStorage.removeItem(KEY);
  announce();
}

function announce() {
  window.dispatchEvent(new Event("tokenchange"));
}
