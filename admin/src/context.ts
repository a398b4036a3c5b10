// What every console page is given, and what a page is: its own module, so that
// the pages and main.ts (which lists them) do not import each other.
import type { Session } from './api';
import type { Route } from './router';

export interface ConsoleContext {
  readonly session: Session;
  /** Reloads the health strip (after a change that affects it). */
  refreshHealth(): void;
}

export interface ConsolePage {
  readonly id: string;
  /** Shown in the navigation when set. */
  readonly tab?: string;
  render(panel: HTMLElement, ctx: ConsoleContext, route: Route): unknown;
}
