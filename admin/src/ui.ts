// Tiny DOM helpers: no framework, no external assets.
type Child = Node | string | number | null | undefined | false;
type Attrs = Record<string, string | number | boolean | null | undefined | ((e: Event) => void)>;

export function h<K extends keyof HTMLElementTagNameMap>(tag: K, attrs: Attrs = {}, ...children: (Child | Child[])[]): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === null || v === undefined || v === false) continue;
    if (typeof v === 'function') el.addEventListener(k.replace(/^on/, '').toLowerCase(), v);
    else if (k === 'class') el.className = String(v);
    else if (v === true) el.setAttribute(k, '');
    else el.setAttribute(k, String(v));
  }
  append(el, children);
  return el;
}

function append(el: Node, children: (Child | Child[])[]): void {
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    el.appendChild(typeof c === 'string' || typeof c === 'number' ? document.createTextNode(String(c)) : c);
  }
}

export function replace(el: Element, ...children: (Child | Child[])[]): void {
  el.replaceChildren();
  append(el, children);
}

/** Live region for short confirmations ("Copied", "Saved"). */
export function announce(message: string, kind: 'ok' | 'error' = 'ok'): void {
  const region = document.getElementById('toast');
  if (!region) return;
  region.className = `toast toast-${kind}`;
  region.textContent = message;
  window.clearTimeout(Number(region.dataset.timer ?? 0));
  region.dataset.timer = String(window.setTimeout(() => (region.textContent = ''), 4000));
}

export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    // Clipboard API needs a secure context: fall back to a selected textarea.
    const ta = h('textarea', { class: 'offscreen', 'aria-hidden': 'true' });
    ta.value = text;
    document.body.appendChild(ta);
    ta.select();
    const ok = document.execCommand('copy');
    ta.remove();
    return ok;
  }
}

/** A read-only field with its Copy button, for a value an admin pastes into Entra (Tenant URL, Identifier...). */
export function copyField(label: string, value: string, id: string): HTMLElement {
  const input = h('input', { id, type: 'text', readonly: true, value, class: 'mono', 'aria-label': label });
  input.value = value;
  input.addEventListener('focus', () => input.select());
  return h(
    'div',
    { class: 'field copy-field' },
    h('label', { for: id }, label),
    h(
      'div',
      { class: 'copy-row' },
      input,
      h(
        'button',
        {
          type: 'button',
          class: 'btn',
          'data-copy': id,
          'aria-label': `Copy ${label}`,
          onclick: async () => announce((await copyText(value)) ? `${label} copied` : 'Copy failed: select the text and copy it', 'ok'),
        },
        'Copy',
      ),
    ),
  );
}

export function loading(what = 'Loading'): HTMLElement {
  return h('p', { class: 'state state-loading', role: 'status' }, h('span', { class: 'spinner', 'aria-hidden': 'true' }), `${what}…`);
}

export function empty(message: string): HTMLElement {
  return h('p', { class: 'state state-empty' }, message);
}

export function errorBox(e: unknown, retry?: () => void): HTMLElement {
  const msg = e instanceof Error ? e.message : String(e);
  return h(
    'div',
    { class: 'state state-error', role: 'alert' },
    h('strong', {}, 'Something went wrong. '),
    msg,
    retry ? h('button', { type: 'button', class: 'btn btn-small', onclick: retry }, 'Try again') : null,
  );
}

export function fmtDate(v: string | null | undefined): string {
  if (!v) return '—';
  const d = new Date(v);
  // Seconds and the time zone: an admin compares these with Entra's provisioning logs.
  return Number.isNaN(d.getTime()) ? String(v) : d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit', second: '2-digit', timeZoneName: 'short' });
}

export function ago(v: string | null | undefined): string {
  if (!v) return 'never';
  const s = Math.round((Date.now() - new Date(v).getTime()) / 1000);
  if (s < 90) return `${Math.max(s, 0)} s ago`;
  if (s < 5400) return `${Math.round(s / 60)} min ago`;
  if (s < 129600) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} days ago`;
}

export function badge(text: string, kind: string): HTMLElement {
  return h('span', { class: `badge badge-${kind}` }, text);
}

/** Runs an async loader into `target`, with loading and error states. */
export async function load<T>(target: Element, what: string, fetcher: () => Promise<T>, render: (v: T) => Node | Node[]): Promise<void> {
  replace(target, loading(what));
  target.setAttribute('aria-busy', 'true');
  try {
    const v = await fetcher();
    const out = render(v);
    replace(target, ...(Array.isArray(out) ? out : [out]));
  } catch (e) {
    replace(target, errorBox(e, () => void load(target, what, fetcher, render)));
  } finally {
    target.removeAttribute('aria-busy');
  }
}

/** A table in its scrolling wrapper: a header row of `columns` (scope col), then `rows`. */
export function dataTable(attrs: Attrs, columns: readonly string[], rows: readonly HTMLTableRowElement[]): HTMLElement {
  return h(
    'div',
    { class: 'table-wrap' },
    h('table', attrs, h('thead', {}, h('tr', {}, columns.map((c) => h('th', { scope: 'col' }, c)))), h('tbody', {}, [...rows])),
  );
}

/** A row's small action button (`data-action` names it for tests), running `run` through whileBusy. */
export function rowAction(label: string, action: string, run: () => Promise<void>, attrs: Attrs = {}): HTMLButtonElement {
  return h('button', { type: 'button', class: 'btn btn-small', 'data-action': action, ...attrs, onclick: (ev: Event) => void whileBusy(ev.currentTarget as HTMLButtonElement, run) }, label);
}

/**
 * Runs an action from a button: disabled (and aria-busy) while it runs, a
 * failure announced. `busyText` labels the button meanwhile; `failed` also
 * shows the failure where the panel keeps its result.
 */
export async function whileBusy(
  button: HTMLButtonElement,
  fn: () => Promise<void>,
  opts: { busyText?: string; failed?: (message: string) => void } = {},
): Promise<void> {
  const text = button.textContent;
  button.disabled = true;
  button.setAttribute('aria-busy', 'true');
  if (opts.busyText !== undefined) button.textContent = opts.busyText;
  try {
    await fn();
  } catch (e) {
    const message = e instanceof Error ? e.message : String(e);
    announce(message, 'error');
    opts.failed?.(message);
  } finally {
    button.disabled = false;
    button.removeAttribute('aria-busy');
    if (opts.busyText !== undefined) button.textContent = text;
  }
}
