// Where the current change comes from: the request id and the client address
// of the HTTP request being served (absent at the CLI and in background jobs).
// Edges enter it once per request; the audit trail records it with every event
// so an export to a SIEM can tie an event to the request and the caller.
// Carried by AsyncLocalStorage so that no use case signature has to take it.
import { AsyncLocalStorage } from 'node:async_hooks';

export interface Origin {
  readonly requestId: string;
  /** The client's address, computed on first use (most requests write nothing). */
  clientAddress(): string | null;
}

const store = new AsyncLocalStorage<Origin>();

/** Makes `origin` the current one for the rest of this request's execution (its callbacks and promises included). */
export function enterOrigin(origin: Origin): void {
  store.enterWith(origin);
}

export function runWithOrigin<T>(origin: Origin, fn: () => T): T {
  return store.run(origin, fn);
}

export function currentOrigin(): { requestId: string | null; clientAddress: string | null } {
  const o = store.getStore();
  if (!o) return { requestId: null, clientAddress: null };
  return { requestId: o.requestId, clientAddress: o.clientAddress() };
}

/** An Origin whose client address is computed once, lazily. */
export function lazyOrigin(requestId: string, address: () => string): Origin {
  let memo: string | null | undefined;
  return {
    requestId,
    clientAddress: () => (memo === undefined ? (memo = address()) : memo),
  };
}
