// Counts the statements of the calls made inside `countStatements` (tests and
// benchmarks assert that a use case runs a constant number of them).
import { AsyncLocalStorage } from 'node:async_hooks';

const counter = new AsyncLocalStorage<{ n: number }>();

export async function countStatements<T>(fn: () => Promise<T>): Promise<{ result: T; statements: number }> {
  const box = { n: 0 };
  const result = await counter.run(box, fn);
  return { result, statements: box.n };
}

/** One more statement for the caller counting, if any. */
export function countOne(): void {
  const box = counter.getStore();
  if (box) box.n++;
}

/** Runs `fn` outside any caller's count: background work is the process's, not a request's. */
export function uncounted(fn: () => void): void {
  counter.exit(fn);
}
