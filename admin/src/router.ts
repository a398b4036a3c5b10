// Hash routes: `#page` or `#page?key=value&…` (a filter, a member id). A page
// is one entry of PAGES in main.ts; links anywhere in the console (health
// advice, a member's name) are plain `href`s built with `route()`.

export interface Route {
  readonly page: string;
  readonly params: URLSearchParams;
}

export function currentRoute(): Route {
  const raw = location.hash.replace(/^#/, '');
  const q = raw.indexOf('?');
  const page = decodeURIComponent(q < 0 ? raw : raw.slice(0, q));
  return { page, params: new URLSearchParams(q < 0 ? '' : raw.slice(q + 1)) };
}

/** `#page?params` for an href. */
export function route(page: string, params: Record<string, string | number | boolean | null | undefined> = {}): string {
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== null && v !== undefined && v !== false && v !== '') p.set(k, String(v));
  const s = p.toString();
  return `#${page}${s ? `?${s}` : ''}`;
}

/** Updates the current route's params without re-rendering the page (filters typed into a page). */
export function replaceParams(params: Record<string, string | number | boolean | null | undefined>): void {
  const next = route(currentRoute().page, params);
  if (next !== location.hash) history.replaceState(null, '', next);
}
