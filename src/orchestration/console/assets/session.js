// The bearer token lives in this page's memory only: never in storage, where any script of the
// same origin could read it (the API's /docs page loads Swagger UI from a CDN), and gone with the
// page. Moving between the console's pages keeps it (they are one page); a reload asks again.

let token = "";

export function getToken() {
  return token;
}

export function setToken(value) {
  token = value.trim().replace(/^bearer\s+/i, "");
  announce();
}

export function forgetToken() {
  token = "";
  announce();
}

function announce() {
  window.dispatchEvent(new Event("tokenchange"));
}
