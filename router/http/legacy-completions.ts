/** POST /v1/completions on the chat pipeline: the legacy request as a chat request, answers in the legacy shape. */
import type { ServerResponse } from "node:http";
import { errorBody } from "../openai/errors.js";
import { chatRequestOfCompletion, legacyChunk, legacyCompletion } from "../openai/legacy-completions.js";
import type { AnswerWriter, Ingress } from "./answer-writer.js";
import { sendError, sendJson } from "./respond.js";
import type { Routed } from "./route-request.js";
import { startEventStream, writeDone, writeEvent } from "./sse.js";

export const LEGACY_COMPLETIONS_INGRESS: Ingress = {
  endpoint: "completions",
  request: chatRequestOfCompletion,
  writer: legacyWriter,
  sendError,
};

function legacyWriter(res: ServerResponse, r: Routed): AnswerWriter {
  return {
    json: (body) => {
      sendJson(res, 200, legacyCompletion(body));
    },
    stream: () => {
      startEventStream(res);
      return {
        write: (chunk) => {
          const out = legacyChunk(chunk);
          if (out) writeEvent(res, out);
        },
        gone: () => res.destroyed,
      };
    },
    end: (e) => {
      if (e.error !== null) {
        writeEvent(res, errorBody(e.error));
        return;
      }
      if (e.usageChunk && r.parsed.includeUsage) writeEvent(res, legacyChunk(e.usageChunk) ?? e.usageChunk);
      if (!e.clientGone) writeDone(res);
    },
  };
}
