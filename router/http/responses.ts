/**
 * POST /v1/responses (the OpenAI Responses API) on the chat pipeline: the request is translated to a chat request
 * (router/openai/responses-request.ts), routed, dispatched and accounted like a chat completion, and the answer is
 * written as a response object or as Responses streaming events (responses-output.ts, responses-stream.ts); errors
 * are OpenAI's. The router keeps no state: stateful parameters are refused by the translation.
 */
import { randomUUID } from "node:crypto";
import type { ServerResponse } from "node:http";
import { chatRequestOf } from "../openai/responses-request.js";
import { responseOf, type ResponseEcho } from "../openai/responses-output.js";
import { ResponsesStream, type ResponseEvent } from "../openai/responses-stream.js";
import type { JsonObject } from "../openai/types.js";
import type { AnswerWriter, Ingress } from "./answer-writer.js";
import { sendError, sendJson } from "./respond.js";
import { startEventStream, writeNamedEvent } from "./sse.js";

export const RESPONSES_INGRESS: Ingress = {
  endpoint: "responses",
  request: chatRequestOf,
  writer: (res, _r, body) =>
    responsesWriter(res, {
      id: `resp_${randomUUID().replaceAll("-", "")}`,
      createdAt: Math.floor(Date.now() / 1000),
      request: body as JsonObject,
    }),
  sendError,
};

function responsesWriter(res: ServerResponse, echo: ResponseEcho): AnswerWriter {
  const stream = new ResponsesStream(echo);
  let started = false;
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
    stream: () => {
      startEventStream(res);
      return {
        write: (chunk) => {
          begin(chunk.model);
          send(stream.chunk(chunk));
        },
        gone: () => res.destroyed,
      };
    },
    end: (e) => {
      if (e.error !== null) {
        begin("");
        send(stream.fail(e.error.code ?? e.error.type, e.error.message));
        return;
      }
      if (e.clientGone) return;
      let summary: JsonObject = {};
      if (e.usageChunk) {
        stream.setUsage(e.usageChunk.usage ?? null);
        if (e.usageChunk["x_routewise"] !== undefined) summary = { x_routewise: e.usageChunk["x_routewise"] };
      }
      begin("");
      send(stream.finish(summary));
    },
  };
}
