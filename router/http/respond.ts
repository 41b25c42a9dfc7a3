/** Writing JSON and OpenAI-shaped error responses on a node:http response. */
import type { ServerResponse } from "node:http";
import { errorBody, type HttpError } from "../openai/errors.js";

/** A JSON response (what express's res.json sends, without an ETag). */
export function sendJson(res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.statusCode = status;
  res.setHeader("content-type", "application/json; charset=utf-8");
  res.setHeader("content-length", Buffer.byteLength(text));
  res.end(text);
}

export function sendError(res: ServerResponse, e: HttpError): void {
  if (res.headersSent) return;
  for (const [k, v] of Object.entries(e.headers)) res.setHeader(k, v);
  sendJson(res, e.status, errorBody(e));
}
