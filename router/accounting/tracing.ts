/**
 * A request's spans (issue 16, docs/adr/0013-tracing.md), written only by its request record: one SERVER span
 * per chat completion (`chat {model}`, continuing the client's traceparent), a `routewise.select` child for
 * classify + select, and one CLIENT child per upstream attempt (`chat {upstream model}`), whose context is what
 * the adapters forward upstream as traceparent. Attributes follow the OpenTelemetry GenAI and HTTP semantic
 * conventions; never a prompt, a completion or a key.
 */
import {
  ROOT_CONTEXT,
  SpanKind,
  SpanStatusCode,
  trace,
  type Attributes,
  type Context,
  type Span,
  type Tracer,
} from "@opentelemetry/api";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import {
  ATTR_ERROR_TYPE,
  ATTR_HTTP_REQUEST_METHOD,
  ATTR_HTTP_RESPONSE_STATUS_CODE,
  ATTR_SERVER_ADDRESS,
  ATTR_SERVER_PORT,
} from "@opentelemetry/semantic-conventions";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { TraceContext } from "../providers/types.js";
import type { TokenCounts } from "./cost.js";
import { CHAT_OPERATION, GEN_AI, genAiProviderName } from "./gen-ai.js";

/** Routewise's own span attributes. */
export const ROUTEWISE = {
  REQUEST_ID: "routewise.request_id",
  ROUTE: "routewise.route",
  DECISION: "routewise.decision",
  ARM: "routewise.arm",
  DECIDED: "routewise.decided_provider",
  PROVIDER: "routewise.provider",
  OUTCOME: "routewise.attempt.outcome",
} as const;

export const SELECT_SPAN = "routewise.select";

const propagator = new W3CTraceContextPropagator();

/** An open attempt span: ended once with the attempt's outcome. */
export interface AttemptSpan {
  /** What to forward upstream: this span's context. */
  readonly trace: TraceContext;
  firstChunk(): void;
  end(outcome: string): void;
}

/** What the spans learn of the decision. */
export interface DecidedSpan {
  route: RouteConfig;
  reason: string;
  arm: string;
  decided: ProviderConfig;
}

export class RequestSpans {
  private readonly server: Span;
  private readonly parent: Context;
  private select: Span | null = null;
  private readonly open = new Set<Span>();
  private answered = false;

  constructor(
    private readonly tracer: Tracer,
    requestId: string,
    client: TraceContext,
  ) {
    this.server = tracer.startSpan(
      CHAT_OPERATION,
      {
        kind: SpanKind.SERVER,
        attributes: {
          [GEN_AI.OPERATION_NAME]: CHAT_OPERATION,
          [ATTR_HTTP_REQUEST_METHOD]: "POST",
          [ROUTEWISE.REQUEST_ID]: requestId,
        },
      },
      clientContext(client),
    );
    this.parent = trace.setSpan(ROOT_CONTEXT, this.server);
  }

  /** The model the client asked for names the span (`chat {gen_ai.request.model}`). */
  requestedModel(model: string): void {
    this.server.setAttribute(GEN_AI.REQUEST_MODEL, model);
    this.server.updateName(`${CHAT_OPERATION} ${model}`);
  }

  /** Classify + select began. */
  routing(): void {
    this.select ??= this.tracer.startSpan(SELECT_SPAN, { kind: SpanKind.INTERNAL }, this.parent);
  }

  decided(d: DecidedSpan): void {
    const attributes = { [ROUTEWISE.ROUTE]: d.route.name, [ROUTEWISE.DECISION]: d.reason };
    this.server.setAttributes(attributes);
    this.select?.setAttributes({ ...attributes, [ROUTEWISE.ARM]: d.arm, [ROUTEWISE.DECIDED]: d.decided.id });
    this.select?.end();
    this.select = null;
  }

  attemptStarted(provider: ProviderConfig): AttemptSpan {
    const span = this.tracer.startSpan(
      `${CHAT_OPERATION} ${provider.model}`,
      { kind: SpanKind.CLIENT, attributes: attemptAttributes(provider) },
      this.parent,
    );
    this.open.add(span);
    return {
      trace: contextOf(span),
      firstChunk: () => span.addEvent("routewise.first_chunk"),
      end: (outcome) => {
        if (!this.open.delete(span)) return;
        span.setAttribute(ROUTEWISE.OUTCOME, outcome);
        if (outcome === "success") span.setAttribute(GEN_AI.RESPONSE_MODEL, provider.model);
        else failedSpan(span, outcome);
        span.end();
      },
    };
  }

  /** A provider answered (`outcome` success, or stream_error / client_closed). */
  finished(provider: ProviderConfig, tokens: Pick<TokenCounts, "input" | "output">, outcome: string): void {
    if (this.answered) return;
    this.answered = true;
    this.server.setAttributes({
      [GEN_AI.RESPONSE_MODEL]: provider.model,
      [GEN_AI.PROVIDER_NAME]: genAiProviderName(provider),
      [ROUTEWISE.PROVIDER]: provider.id,
      [GEN_AI.USAGE_INPUT_TOKENS]: tokens.input,
      [GEN_AI.USAGE_OUTPUT_TOKENS]: tokens.output,
      [ATTR_HTTP_RESPONSE_STATUS_CODE]: 200,
    });
    if (outcome === "success") return;
    // A stream the upstream broke is the server's failure; one the client closed is not.
    if (outcome === "stream_error") failedSpan(this.server, outcome);
    else this.server.setAttribute(ATTR_ERROR_TYPE, outcome);
  }

  /** No candidate answered: the last one tried. */
  failed(provider: ProviderConfig): void {
    this.server.setAttributes({
      [GEN_AI.PROVIDER_NAME]: genAiProviderName(provider),
      [ROUTEWISE.PROVIDER]: provider.id,
    });
  }

  /** The request got an error instead of an answer (`code`: the OpenAI error code). */
  rejected(status: number, code: string): void {
    if (this.answered) return;
    this.answered = true;
    this.server.setAttributes({ [ATTR_HTTP_RESPONSE_STATUS_CODE]: status, [ATTR_ERROR_TYPE]: code });
    // HTTP semantic conventions: a server span's 4xx is the client's error, not the server's.
    if (status >= 500) this.server.setStatus({ code: SpanStatusCode.ERROR });
    if (this.select) failedSpan(this.select, code);
  }

  /** Ends whatever is still open (an attempt the response outlived, an unfinished selection), then the request. */
  end(): void {
    for (const span of this.open) {
      failedSpan(span, "abandoned");
      span.end();
    }
    this.open.clear();
    this.select?.end();
    this.select = null;
    this.server.end();
  }
}

function failedSpan(span: Span, errorType: string): void {
  span.setAttribute(ATTR_ERROR_TYPE, errorType);
  span.setStatus({ code: SpanStatusCode.ERROR });
}

/** The client's span as the parent, when its traceparent was well-formed; else a new trace. */
function clientContext(client: TraceContext): Context {
  if (client.traceparent === undefined) return ROOT_CONTEXT;
  return propagator.extract(ROOT_CONTEXT, client, {
    get: (carrier, key) => (carrier as Record<string, string | undefined>)[key],
    keys: (carrier) => Object.keys(carrier as object),
  });
}

/** traceparent (and tracestate) of a span, as forwarded upstream. */
function contextOf(span: Span): TraceContext {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, {
    set: (c, key, value) => {
      (c as Record<string, string>)[key] = value;
    },
  });
  const { traceparent, tracestate } = carrier;
  return {
    ...(traceparent === undefined ? {} : { traceparent }),
    ...(tracestate === undefined ? {} : { tracestate }),
  };
}

function attemptAttributes(provider: ProviderConfig): Attributes {
  return {
    [GEN_AI.OPERATION_NAME]: CHAT_OPERATION,
    [GEN_AI.PROVIDER_NAME]: genAiProviderName(provider),
    [GEN_AI.REQUEST_MODEL]: provider.model,
    [ROUTEWISE.PROVIDER]: provider.id,
    ...serverOf(provider.baseURL),
  };
}

const DEFAULT_PORTS: Record<string, number> = { "http:": 80, "https:": 443 };

/** server.address and server.port of an upstream's base URL. */
function serverOf(baseURL: string): Attributes {
  try {
    const url = new URL(baseURL);
    const port = url.port === "" ? DEFAULT_PORTS[url.protocol] : Number(url.port);
    return {
      [ATTR_SERVER_ADDRESS]: url.hostname.replace(/^\[|\]$/g, ""),
      ...(port === undefined ? {} : { [ATTR_SERVER_PORT]: port }),
    };
  } catch {
    return {}; // a simulated provider's base URL need not be a URL
  }
}
