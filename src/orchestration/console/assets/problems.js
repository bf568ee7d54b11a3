// What the page says when the API refuses or cannot be reached, and the token form that a
// server with authentication on asks for.

import { h } from "./dom.js";
import { getToken, setToken } from "./session.js";

const TITLES = {
  unauthorized: "Sign in",
  forbidden: "Not allowed",
  notFound: "Not found",
  unreachable: "Server unreachable",
  invalid: "Request refused",
  server: "Server error",
};

/** The server's message as a clause of our sentence (it may end with a full stop of its own). */
const clause = (error) => String(error.message).replace(/[.\s]+$/, "");

/** One sentence for an action's failure, shown next to the action. */
export function explain(error) {
  switch (error.kind) {
    case "unauthorized":
      return `The server wants a valid access token: ${clause(error)}.`;
    case "forbidden":
      return `Your token does not allow this: ${clause(error)}.`;
    case "notFound":
      return `Not found: ${clause(error)}.`;
    case "unreachable":
      return `The server cannot be reached: ${clause(error)}.`;
    case "invalid":
    case "server":
      return `${error.code || `HTTP ${error.status}`}: ${error.message}`;
    default:
      return `The console failed: ${error.message}`; // a bug of ours, not an answer of the API
  }
}

/** A whole-page message for `error`, with what the user can do about it. */
export function problemPage(error, { retry, what }) {
  const title = TITLES[error.kind] ?? "Something went wrong";
  const headingId = "problem-title";
  const body = [];
  switch (error.kind) {
    case "unauthorized":
      body.push(
        h("p", {}, "This server needs an access token for its API. Paste a bearer token issued for it ",
          "(scope ", h("code", {}, "orchestration:read"), " to look, ", h("code", {}, "orchestration:write"),
          " to run, send events and abort)."),
        getToken() ? h("p", { class: "error" }, `The token given was refused: ${clause(error)}.`) : null,
        tokenForm(retry));
      break;
    case "forbidden":
      body.push(h("p", {}, `Your token does not allow this: ${clause(error)}.`), tokenForm(retry));
      break;
    case "notFound":
      body.push(h("p", {}, `There is no ${what ?? "such page"} here (the server says: ${error.message}).`));
      break;
    case "unreachable":
      body.push(
        h("p", {}, `The orchestration server at ${location.origin} did not answer: ${clause(error)}.`),
        h("p", {}, "Check that it is running, then try again."),
        h("button", { type: "button", onclick: retry }, "Try again"));
      break;
    default:
      body.push(h("p", {}, explain(error)), h("button", { type: "button", onclick: retry }, "Try again"));
  }
  return h("section", { class: `problem problem-${error.kind}`, "aria-labelledby": headingId },
    h("h1", { id: headingId, tabindex: "-1" }, title), ...body);
}

/** Paste a token; it is kept for this tab only, then the page is shown again. */
function tokenForm(done) {
  const input = h("input", {
    id: "token", name: "token", type: "password", required: true, autocomplete: "off", spellcheck: "false",
    "aria-describedby": "token-help",
  });
  return h("form", {
    class: "token-form",
    onsubmit: (event) => {
      event.preventDefault();
      setToken(input.value);
      done();
    },
  },
  h("label", { for: "token" }, "Access token"),
  input,
  h("p", { id: "token-help", class: "help" },
    "Kept in this page only (not stored: a reload asks again), and sent to this server only."),
  h("button", { type: "submit" }, "Use this token"));
}
