/**
 * POST /v1/responses (the OpenAI Responses API) on the chat pipeline: the request is translated to a chat request
 * (router/openai/responses-request.ts), routed, dispatched and accounted like a chat completion, and the answer is
 * written as a response object or as Responses streaming events. The router keeps no state: stateful parameters
 * are refused by the translation.
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { chatRequestOf } from "../openai/responses-request.js";
import { responseOf, type ResponseEcho } from "../openai/responses-output.js";
import { ResponsesStream, type ResponseEvent } from "../openai/responses-stream.js";
import type { JsonObject, Usage } from "../openai/types.js";
import type { Endpoint, ResponseWriter } from "./response-writer.js";
import { sendJson } from "./respond.js";
import { startEventStream, writeNamedEvent } from "./sse.js";

export const responsesEndpoint: Endpoint = (res, body) => {
  const request = chatRequestOf(body);
  const echo: ResponseEcho = {
    id: `resp_${randomUUID().replaceAll("-", "")}`,
    createdAt: Math.floor(Date.now() / 1000),
    request: body as JsonObject,
  };
  return { request, writer: responsesWriter(res, echo) };
};

function responsesWriter(res: ServerResponse, echo: ResponseEcho): ResponseWriter {
  const stream = new ResponsesStream(echo);
  let started = false;
  let summary: JsonObject = {};
  const send = (events: ResponseEvent[]): void => {
    for (const e of events) writeNamedEvent(res, e.type, e);
  };
  const begin = (model: string): void => {
    if (started) return;
    started = true;
    send(stream.start(model));
  };
  return {
    json: (completion) => {
      sendJson(res, 200, responseOf(completion, echo));
    },
    open: () => {
      startEventStream(res);
      return {
        write: (chunk) => {
          begin(chunk.model);
          send(stream.chunk(chunk));
        },
        gone: () => res.destroyed,
      };
    },
    usage: (chunk) => {
      stream.setUsage((chunk["usage"] as Usage | null | undefined) ?? null);
      if (chunk["x_routewise"] !== undefined) summary = { x_routewise: chunk["x_routewise"] };
    },
    failed: (error) => {
      begin("");
      send(stream.fail(error.code ?? error.type, error.message));
    },
    done: () => {
      begin("");
      send(stream.finish(summary));
    },
  };
}
