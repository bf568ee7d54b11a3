// The public v2 API, on the origin the console is served from (`<base>/ui/…` → `<base>/v2/…`).
// Every call sends the session's token when one is set; every failure is an ApiError whose
// `kind` says what the page should tell the user.

import { getToken } from "./session.js";

const API = new URL("../../v2/", import.meta.url);

/** kind: "unreachable" | "unauthorized" | "forbidden" | "notFound" | "invalid" | "server". */
export class ApiError extends Error {
  constructor(kind, status, message, code = "") {
    super(message);
    this.name = "ApiError";
    this.kind = kind;
    this.status = status;
    this.code = code;
  }

  /** Worth trying again by itself: the server may come back. */
  get transient() {
    return this.kind === "unreachable" || this.kind === "server";
  }
}

const KIND_OF_STATUS = {
  401: "unauthorized", 403: "forbidden", 404: "notFound", 502: "unreachable", 503: "unreachable", 504: "unreachable",
};

function kindOf(status) {
  return KIND_OF_STATUS[status] ?? (status < 500 ? "invalid" : "server");
}

async function call(method, path, { query = {}, body, signal } = {}) {
  const url = new URL(path.replace(/^\//, ""), API);
  for (const [name, value] of Object.entries(query)) {
    if (value !== undefined && value !== null && value !== "") url.searchParams.set(name, value);
  }
  const headers = { Accept: "application/json" };
  const token = getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let response;
  let text;
  try {
    response = await fetch(url, {
      method, headers, signal, cache: "no-store", body: body === undefined ? undefined : JSON.stringify(body),
    });
    text = await response.text();
  } catch (error) {
    if (error.name === "AbortError") throw error;
    throw new ApiError("unreachable", 0, "the server did not answer (it may be down, or the network is)");
  }
  let payload = null;
  try {
    payload = text ? JSON.parse(text) : null;
  } catch {
    payload = null; // a proxy's HTML page, say: its status still tells what happened
  }
  if (response.ok) return payload;
  const message = payload?.errorMessage || text.trim().slice(0, 300) || `HTTP ${response.status}`;
  throw new ApiError(kindOf(response.status), response.status, message, payload?.errorCode ?? "");
}

const id = encodeURIComponent;
const data = async (promise) => (await promise).data;
const cursor = async (promise) => (await promise).cursor;

export const api = {
  listWorkflows: (query, signal) => cursor(call("GET", "/workflows", { query, signal })),
  getWorkflow: (workflowId, signal) => data(call("GET", `/workflows/${id(workflowId)}`, { signal })),
  runWorkflow: (workflowId, variables) =>
    data(call("POST", `/workflows/${id(workflowId)}/instances`, { body: variables })),

  listInstances: (query, signal) => cursor(call("GET", "/instances", { query, signal })),
  getInstance: (instanceId, signal) => data(call("GET", `/instances/${id(instanceId)}`, { signal })),
  instanceHistory: (instanceId, signal) => data(call("GET", `/instances/${id(instanceId)}/history`, { signal })),
  stageHistory: (instanceId, stage, signal) =>
    data(call("GET", `/instances/${id(instanceId)}/stages/${stage}/history`, { signal })),
  sendEvent: (instanceId, name) => call("POST", `/instances/${id(instanceId)}/events`, { body: { name } }),
  abortInstance: (instanceId) => call("PUT", `/instances/${id(instanceId)}/abort`),

  listTriggers: (query, signal) => cursor(call("GET", "/triggers", { query, signal })),
  getTrigger: (triggerId, signal) => data(call("GET", `/triggers/${id(triggerId)}`, { signal })),
  listOccurrences: (triggerId, query, signal) =>
    cursor(call("GET", `/triggers/${id(triggerId)}/occurrences`, { query, signal })),
  testTrigger: (triggerId, event) => data(call("POST", `/triggers/${id(triggerId)}/test`, { body: event })),
};
