// The seam between request plumbing and OpenTelemetry. With tracing off
// (no OTEL_EXPORTER_OTLP_ENDPOINT) nothing is installed here and nothing of
// OpenTelemetry is loaded: `traceRequest` is one undefined check per request.
// With tracing on, src/telemetry/tracing.ts installs the hooks.
import type { IncomingMessage } from 'node:http';

/** The ids of the span serving a request, for its log lines. */
export interface TraceIds {
  readonly trace_id: string;
  readonly span_id: string;
}

export interface RequestTraceHooks {
  /**
   * Called once a request has its id, inside the request's server span: tags
   * the span with the request id, names it after `route()` when the response
   * is done, and returns the span's ids (undefined when the request is not traced).
   */
  onRequest(req: IncomingMessage, requestId: string, route: () => string): TraceIds | undefined;
}

let hooks: RequestTraceHooks | undefined;

export function installRequestTraceHooks(h: RequestTraceHooks | undefined): void {
  hooks = h;
}

export function traceRequest(req: IncomingMessage, requestId: string, route: () => string): TraceIds | undefined {
  return hooks?.onRequest(req, requestId, route);
}
