/**
 * How one request's answer reaches its client. The chat pipeline (chat-completions.ts) routes, dispatches and
 * accounts in the chat completions wire format; an endpoint says what its body is as a chat request and writes
 * the answer in its own format: as JSON, or as a stream of the relayed chunks, its usage and its end.
 */
import type { ServerResponse } from "node:http";
import type { ChunkSink } from "../dispatch/relay.js";
import { errorBody, type HttpError } from "../openai/errors.js";
import type { ChatCompletion, JsonObject } from "../openai/types.js";
import { sendJson } from "./respond.js";
import { eventSink, startEventStream, writeDone, writeEvent } from "./sse.js";

export interface ResponseWriter {
  /** The whole answer as the JSON body (status 200; routing and cost headers are set). */
  json(completion: ChatCompletion): void;
  /** Commits the stream (status and headers) and returns where the relayed chat chunks go. */
  open(): ChunkSink;
  /** The stream's final usage chunk, with its `x_routewise` summary. */
  usage(chunk: JsonObject): void;
  /** The committed stream failed (its last event). */
  failed(error: HttpError): void;
  /** The stream ended normally (its last event). */
  done(): void;
}

/** One endpoint of the chat pipeline: the client's body as a chat request (or a 4xx), and the answer's writer. */
export type Endpoint = (res: ServerResponse, body: unknown) => { request: unknown; writer: ResponseWriter };

/** POST /v1/chat/completions: the body is the chat request; answers go out as they came. */
export const chatCompletionsEndpoint: Endpoint = (res, body) => ({ request: body, writer: chatWriter(res) });

function chatWriter(res: ServerResponse): ResponseWriter {
  return {
    json: (completion) => {
      sendJson(res, 200, completion);
    },
    open: () => {
      startEventStream(res);
      return eventSink(res);
    },
    usage: (chunk) => {
      writeEvent(res, chunk);
    },
    failed: (error) => {
      writeEvent(res, errorBody(error));
    },
    done: () => {
      writeDone(res);
    },
  };
}
