/**
 * How an answer leaves in the client's wire format. The chat pipeline (chat-completions.ts) routes, dispatches,
 * bills and signs every request the same way; an Ingress says how a body enters (as the OpenAI chat request routing
 * parses) and how the answer, the stream and errors are written: OpenAI's chat completions here, the Responses
 * API's in responses.ts, Anthropic's in messages.ts.
 */
import type { ServerResponse } from "node:http";
import type { TokenCounts } from "../accounting/cost.js";
import type { Endpoint } from "../accounting/request-record.js";
import type { ChunkSink } from "../dispatch/relay.js";
import { errorBody, type HttpError } from "../openai/errors.js";
import type { ChatCompletion, ChatCompletionChunk } from "../openai/types.js";
import { sendError, sendJson } from "./respond.js";
import type { Routed } from "./route-request.js";
import { eventSink, startEventStream, writeDone, writeEvent } from "./sse.js";

/** How a committed stream ended. */
export interface StreamEnd {
  /** The mid-stream failure as the client's error, or null. */
  error: HttpError | null;
  /** The final usage chunk with the router's `x_routewise` summary, when the upstream reported usage. */
  usageChunk: ChatCompletionChunk | null;
  /** The tokens billed for what the client received (every attempt's, for a continued stream). */
  tokens: TokenCounts;
  clientGone: boolean;
}

/** One request's answer, in its client's wire format. Headers and trailers are the pipeline's. */
export interface AnswerWriter {
  /** The whole answer as JSON (status 200). */
  json(body: ChatCompletion, tokens: TokenCounts): void;
  /** Commits the stream (status 200, SSE headers); chunks go to the returned sink. */
  stream(): ChunkSink;
  /** The stream's last events (the response itself is ended by the pipeline, after its trailers). */
  end(e: StreamEnd): void;
}

export interface Ingress {
  /** The API, as the access-log line names it. */
  endpoint: Endpoint;
  /** The parsed JSON body as the OpenAI chat request routing parses (a refused one throws an HttpError). */
  request: (body: unknown) => unknown;
  /** The writer of one routed request's answer; `body` is the client's body as it came (before `request`). */
  writer: (res: ServerResponse, r: Routed, body: unknown) => AnswerWriter;
  /** An error refused before (or instead of) an answer. */
  sendError: (res: ServerResponse, e: HttpError) => void;
}

/** POST /v1/chat/completions: the body is already the OpenAI request; answers and errors are OpenAI's. */
export const OPENAI_INGRESS: Ingress = {
  endpoint: "chat.completions",
  request: (body) => body,
  writer: openAIWriter,
  sendError,
};

function openAIWriter(res: ServerResponse, r: Routed): AnswerWriter {
  return {
    json: (body) => {
      sendJson(res, 200, body);
    },
    stream: () => {
      startEventStream(res);
      return eventSink(res);
    },
    end: (e) => {
      if (e.error !== null) {
        writeEvent(res, errorBody(e.error));
        return;
      }
      if (e.usageChunk && r.parsed.includeUsage) writeEvent(res, e.usageChunk);
      if (!e.clientGone) writeDone(res);
    },
  };
}
