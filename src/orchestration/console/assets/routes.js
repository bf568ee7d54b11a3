// The console's URLs: one per page, so that every page can be linked and bookmarked. The base is
// where the console is served (`/ui/`), read from this module's own URL (`/ui/assets/routes.js`).

export const BASE = new URL("../", import.meta.url).pathname;

const withQuery = (path, query = {}) => {
  const params = new URLSearchParams(Object.entries(query).filter(([, value]) => value));
  return params.size ? `${path}?${params}` : path;
};
const item = (collection, id) => `${BASE}${collection}/${encodeURIComponent(id)}`;

export const paths = {
  overview: () => BASE,
  workflows: (query) => withQuery(`${BASE}workflows`, query),
  workflow: (id) => item("workflows", id),
  instances: (query) => withQuery(`${BASE}instances`, query),
  instance: (id) => item("instances", id),
  triggers: (query) => withQuery(`${BASE}triggers`, query),
  trigger: (id) => item("triggers", id),
};

const TABLE = [
  [/^$/, "overview"],
  [/^workflows$/, "workflows"],
  [/^workflows\/([^/]+)$/, "workflow"],
  [/^instances$/, "instances"],
  [/^instances\/([^/]+)$/, "instance"],
  [/^triggers$/, "triggers"],
  [/^triggers\/([^/]+)$/, "trigger"],
];

/** The page a path shows: `{name, id?}`; `name` is "notFound" for a path that is no page. */
export function match(pathname) {
  const inside = `${pathname}/`.startsWith(BASE) ? pathname.slice(BASE.length) : null;
  if (inside === null) return { name: "notFound" };
  const rest = inside.replace(/\/$/, "");
  for (const [pattern, name] of TABLE) {
    const found = pattern.exec(rest);
    if (!found) continue;
    try {
      return { name, id: found[1] === undefined ? undefined : decodeURIComponent(found[1]) };
    } catch {
      return { name: "notFound" }; // a malformed %-escape
    }
  }
  return { name: "notFound" };
}

/** Whether a link's URL is a page of the console (followed without reloading). */
export function isConsoleUrl(url) {
  const path = `${url.pathname}/`;
  return url.origin === location.origin && path.startsWith(BASE) && !path.startsWith(`${BASE}assets/`);
}
