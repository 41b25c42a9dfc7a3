/**
 * POST /v1/messages (issue 16): Anthropic Messages ingress, so Anthropic SDK clients use routes too. The body is
 * translated to the OpenAI chat request (anthropic-wire/from-anthropic.ts) and served by the chat pipeline
 * unchanged (auth, routing, cascades, dispatch, accounting, feedback token, judge sampling); the answer is written
 * as an Anthropic `message`, or as Anthropic stream events, and errors in Anthropic's shape.
 */
import type { ServerResponse } from "node:http";
import { fromAnthropicRequest } from "../anthropic-wire/from-anthropic.js";
import { toAnthropicMessage } from "../anthropic-wire/message.js";
import { MessageEncoder, type AnthropicEvent } from "../anthropic-wire/stream.js";
import { anthropicErrorBody } from "../anthropic-wire/tables.js";
import type { HttpError } from "../openai/errors.js";
import type { AnswerWriter, Ingress } from "./answer-writer.js";
import { sendJson } from "./respond.js";
import type { Routed } from "./route-request.js";
import { startEventStream, writeEventText } from "./sse.js";

export const ANTHROPIC_INGRESS: Ingress = {
  endpoint: "messages",
  request: fromAnthropicRequest,
  writer: anthropicWriter,
  sendError: sendAnthropicError,
};

/** {"type":"error","error":{"type","message"}} with the error's status and headers (e.g. retry-after). */
export function sendAnthropicError(res: ServerResponse, e: HttpError): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  sendJson(res, e.status, anthropicErrorBody(e.status, e.message));
}

function anthropicWriter(res: ServerResponse, r: Routed): AnswerWriter {
  const encoder = new MessageEncoder({ model: r.route.name, inputTokens: r.parsed.promptTokens });
  return {
    json: (body, tokens) => {
      sendJson(res, 200, toAnthropicMessage(body, tokens));
    },
    stream: () => {
      startEventStream(res);
      return {
        write: (chunk) => {
          writeEvents(res, encoder.chunk(chunk));
        },
        gone: () => res.destroyed,
      };
    },
    end: (e) => {
      if (e.error !== null) writeEvents(res, [MessageEncoder.error(e.error.status, e.error.message)]);
      else if (!e.clientGone) {
        const summary = e.usageChunk?.["x_routewise"];
        writeEvents(res, encoder.end(e.tokens, summary === undefined ? {} : { x_routewise: summary }));
      }
    },
  };
}

function writeEvents(res: ServerResponse, events: AnthropicEvent[]): void {
  if (events.length === 0) return;
  writeEventText(res, events.map((e) => `event: ${e.event}\ndata: ${JSON.stringify(e.data)}\n\n`).join(""));
}
