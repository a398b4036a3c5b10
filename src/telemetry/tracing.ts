// OpenTelemetry tracing: the Node SDK with the standard HTTP, Express, GraphQL
// and pg instrumentations. Loaded only when tracing is configured
// (OTEL_EXPORTER_OTLP_ENDPOINT): src/server.ts imports this module, and starts
// it, before anything it instruments, so that with tracing off nothing of it
// is ever loaded. Exporter, protocol, headers, sampler, service name and
// resource come from the standard OTEL_* variables, read by the SDK itself.
//
// What a trace shows: one server span per request (the SCIM edge on bare
// node:http as much as Express), Express middleware and GraphQL parse,
// validate and execute spans beneath it, and every SQL statement as a child
// (statement text with $n placeholders, never the values). What it never
// shows: request or response headers (bearer tokens, cookies), bodies
// (SAMLResponse, SCIM users), query strings (SAML redirect parameters, SCIM
// filters), GraphQL variable values.
import { register } from 'node:module';
import type { IncomingMessage } from 'node:http';
import { createAddHookMessageChannel } from 'import-in-the-middle';
import { context, type Span } from '@opentelemetry/api';
import { core, NodeSDK, resources } from '@opentelemetry/sdk-node';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { GraphQLInstrumentation } from '@opentelemetry/instrumentation-graphql';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { installRequestTraceHooks } from '../http/trace-context.js';
import { VERSION } from '../version.js';

export interface Tracing {
  /** Ends the spans in flight and sends what is buffered. */
  shutdown(): Promise<void>;
}

/** Paths whose requests are not traced: probes and scrapes, many and uninteresting. */
const UNTRACED = new Set(['/healthz', '/readyz', '/metrics']);

function pathOf(url: string | undefined): string {
  return (url ?? '').split('?', 1)[0]!;
}

export async function startTracing(): Promise<Tracing> {
  // ES modules are instrumented through a loader hook (import-in-the-middle):
  // registered here, for the modules the instrumentations ask for only.
  const { registerOptions, waitForAllMessagesAcknowledged } = createAddHookMessageChannel();
  register('import-in-the-middle/hook.mjs', import.meta.url, registerOptions);

  /** The route each traced request turned out to take, read when its span ends. */
  const routes = new WeakMap<IncomingMessage, () => string>();

  const sdk = new NodeSDK({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override these.
    resource: resources.resourceFromAttributes({ 'service.name': 'gatehouse', 'service.version': VERSION }),
    // Traces only: metrics are on /metrics (Prometheus), logs on stdout.
    metricReaders: [],
    logRecordProcessors: [],
    instrumentations: [
      new HttpInstrumentation({
        ignoreIncomingRequestHook: (req) => UNTRACED.has(pathOf(req.url)),
        // Outgoing calls (webhooks, Entra Graph, SMTP is not HTTP) only inside a traced request.
        requireParentforOutgoingSpans: true,
        // Query strings stay out of spans (SAMLRequest/RelayState, SCIM filters with user names, tokens in webhook URLs).
        startIncomingSpanHook: () => ({ 'url.query': undefined as unknown as string }),
        startOutgoingSpanHook: (req) => ({ 'url.full': withoutQuery(req) }),
        applyCustomAttributesOnSpan: (span, req) => nameAfterRoute(span, req as IncomingMessage, routes),
      }),
      new ExpressInstrumentation(),
      new GraphQLInstrumentation({ allowValues: false, mergeItems: true, ignoreTrivialResolveSpans: true }),
      // SQL only as part of a traced request (not the job queue's polling); statement text, never values;
      // no span per pool checkout (the pool keeps its connections: a span per statement is what tells).
      new PgInstrumentation({ requireParentSpan: true, enhancedDatabaseReporting: false, ignoreConnectSpans: true }),
    ],
  });
  sdk.start();
  // The loader must know every hooked module before the application imports them.
  await waitForAllMessagesAcknowledged();

  installRequestTraceHooks({
    onRequest(req, requestId, route) {
      // The request's server span (inside Express, the active span is a middleware's).
      const span = core.getRPCMetadata(context.active())?.span;
      if (!span || !span.isRecording()) return undefined;
      span.setAttribute('gatehouse.request_id', requestId);
      routes.set(req, route);
      const ctx = span.spanContext();
      return { trace_id: ctx.traceId, span_id: ctx.spanId };
    },
  });
  return {
    async shutdown() {
      installRequestTraceHooks(undefined);
      await sdk.shutdown();
    },
  };
}

/** The server span named after the route pattern (as the metrics label it), never the raw path. */
function nameAfterRoute(span: Span, req: IncomingMessage, routes: WeakMap<IncomingMessage, () => string>): void {
  const route = routes.get(req)?.();
  if (!route) return;
  span.setAttribute('http.route', route);
  span.updateName(`${req.method ?? 'GET'} ${route}`);
}

function withoutQuery(req: { protocol?: string | null; host?: string | null; hostname?: string | null; port?: string | number | null; path?: string | null }): string {
  const host = req.hostname ?? req.host ?? 'localhost';
  const port = req.port ? `:${req.port}` : '';
  return `${req.protocol ?? 'http:'}//${host}${port}${pathOf(req.path ?? '/')}`;
}
