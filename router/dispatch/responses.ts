/**
 * POST /v1/responses through the one attempt loop (dispatch.ts), one provider at a time in the decided order: a
 * provider that speaks the Responses API natively (capabilities.responses, on an adapter that has it) gets the
 * client's Responses request as is (its model rewritten); any other gets the request translated to a chat
 * completion. So a failed native attempt falls back to a chat-translated provider and the other way round, with
 * the route's retries, timeouts and breakers. A native stream is committed at its first answer event (the
 * response.created / in_progress prelude is held back, so an attempt that fails before it can still be retried),
 * and relayed event by event (relayEvents); it is never continued on another provider mid-stream.
 */
import type { ProviderConfig } from "../config/types.js";
import { isAnswerEvent, nativeRequestOf, TERMINAL_EVENTS, type ResponsesEvent } from "../openai/responses-native.js";
import type { ChatCompletion, JsonObject } from "../openai/types.js";
import { UpstreamError } from "../providers/types.js";
import {
  callAttempt,
  completionAttempt,
  runAttempts,
  type DispatchContext,
  type DispatchDeps,
  type DispatchResult,
} from "./dispatch.js";
import { chatStreamAttempt, openStream, type OpenStream } from "./stream.js";

/** What answered: a chat completion (to translate) or the upstream's own response object (to pass through). */
export type ResponseAnswer = { api: "chat"; completion: ChatCompletion } | { api: "responses"; response: JsonObject };

export type ResponseStreamAnswer =
  { api: "chat"; stream: OpenStream } | { api: "responses"; stream: OpenStream<ResponsesEvent> };

/** Whether a provider is sent /v1/responses requests natively. */
export function speaksResponses(deps: DispatchDeps, provider: ProviderConfig): boolean {
  const adapter = deps.adapters[provider.type];
  return provider.capabilities.responses === true && adapter.respond !== undefined;
}

/** `body` is the client's Responses request; `ctx.request` its chat translation. */
export function dispatchResponse(
  deps: DispatchDeps,
  ctx: DispatchContext,
  body: JsonObject,
): Promise<DispatchResult<ResponseAnswer>> {
  const chat = completionAttempt(deps, ctx);
  const native = callAttempt(deps, ctx, async (provider, options) => {
    const adapter = deps.adapters[provider.type];
    if (!adapter.respond) throw noResponsesApi(provider);
    return (await adapter.respond(provider, nativeRequestOf(body, provider.model), options)).body;
  });
  return runAttempts(deps, ctx, async (provider, scope, attempt, release) =>
    speaksResponses(deps, provider)
      ? { api: "responses", response: await native(provider, scope, attempt, release) }
      : { api: "chat", completion: await chat(provider, scope, attempt, release) },
  );
}

export function dispatchResponseStream(
  deps: DispatchDeps,
  ctx: DispatchContext,
  body: JsonObject,
): Promise<DispatchResult<ResponseStreamAnswer>> {
  const chat = chatStreamAttempt(deps, ctx);
  return runAttempts(deps, ctx, async (provider, scope, attempt, release) => {
    if (!speaksResponses(deps, provider)) return { api: "chat", stream: await chat(provider, scope, attempt, release) };
    const stream = await openStream(
      deps,
      ctx,
      { attempt, scope, release },
      {
        open: async (options) => {
          const adapter = deps.adapters[provider.type];
          if (!adapter.respondStream) throw noResponsesApi(provider);
          return (await adapter.respondStream(provider, nativeRequestOf(body, provider.model), options)).events;
        },
        hasContent: isAnswerEvent,
      },
    );
    return { api: "responses", stream };
  });
}

/** Where relayed events go (the client's SSE response). */
export interface EventSink {
  write(event: ResponsesEvent): void;
  /** True once the client has gone away. */
  gone(): boolean;
}

export interface EventRelay {
  /** The terminal event (response.completed / response.incomplete), held back for the caller to send; or null. */
  terminal: ResponsesEvent | null;
  /** The upstream failed mid-stream (a redacted UpstreamError), or ended without a terminal event. */
  error: UpstreamError | null;
  clientGone: boolean;
}

/** Relays one committed native stream to the client, event by event, and ends its attempt with the outcome. */
export async function relayEvents(
  stream: OpenStream<ResponsesEvent>,
  sink: EventSink,
  request: { readonly aborted: boolean },
): Promise<EventRelay> {
  const out: EventRelay = { terminal: null, error: null, clientGone: false };
  try {
    out.terminal = await forwardAll(stream, sink);
  } catch (err) {
    if (request.aborted && sink.gone()) out.clientGone = true;
    else out.error = asUpstreamError(err);
  }
  out.clientGone ||= sink.gone();
  stream.end(out.error ? "stream_error" : out.clientGone ? "client_closed" : "success", out.error);
  if (out.clientGone) await stream.rest.return?.().catch(() => undefined);
  return out;
}

/** Writes every event but the terminal one, which it returns; a stream without one is a failure. */
async function forwardAll(stream: OpenStream<ResponsesEvent>, sink: EventSink): Promise<ResponsesEvent> {
  const held: { terminal: ResponsesEvent | null } = { terminal: null };
  const forward = (e: ResponsesEvent): void => {
    if (TERMINAL_EVENTS.has(e.type)) held.terminal = e;
    else sink.write(e);
  };
  for (const e of stream.head) forward(e);
  for (let next = await stream.rest.next(); next.done !== true; next = await stream.rest.next()) forward(next.value);
  if (held.terminal === null) throw new UpstreamError("malformed", "the stream ended before response.completed");
  return held.terminal;
}

function asUpstreamError(err: unknown): UpstreamError {
  return err instanceof UpstreamError ? err : new UpstreamError("reset", String(err), null, null, { cause: err });
}

function noResponsesApi(provider: ProviderConfig): UpstreamError {
  return new UpstreamError("internal", `${provider.id}: the ${provider.type} adapter has no Responses API`);
}
