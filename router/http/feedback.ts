/**
 * Explicit feedback (ADR 10): every routed answer carries `x-routewise-feedback-token`, an HMAC-signed token naming
 * the route, the answering model, the decision and the request id; `POST /v1/feedback {"token", "score"}` records a
 * score in [0,1] (thumbs up/down: 1/0) against the token's route and model. No server state: any replica holding
 * the signing key verifies any replica's token.
 *
 * Label values stay bounded: a token whose route is not in the config in force is refused (400 `unknown_route`);
 * a model that no longer serves the route is counted as model "other".
 */
import type { Request, Response } from "express";
import { isRecord } from "../config/json.js";
import type { ProviderConfig, RouteConfig } from "../config/types.js";
import type { Snapshot } from "../config/snapshot.js";
import { FEEDBACK_TOKEN_TTL_SECONDS, signFeedbackToken, verifyFeedbackToken } from "../evaluation/feedback-token.js";
import { HttpError } from "../openai/errors.js";
import { authenticate, type ClientAuth } from "./auth.js";

export const FEEDBACK_TOKEN_HEADER = "x-routewise-feedback-token";
/** The model label of feedback for a model that no longer serves the token's route. */
export const OTHER_MODEL = "other";

export interface FeedbackDeps {
  /** The signing key in force (the credentials' feedback-signing-key, else the router's own). */
  key: () => Uint8Array;
  /** Wall clock in ms. */
  now: () => number;
  /** Records one feedback score on the answer to `requestId` (router/accounting/evaluation-record.ts). */
  record: (route: string, model: string, score: number, requestId: string) => void;
}

/** The token of an answer. */
export function feedbackToken(
  deps: FeedbackDeps,
  a: { route: RouteConfig; provider: ProviderConfig; reason: string; requestId: string },
): string {
  const e = Math.floor(deps.now() / 1000) + FEEDBACK_TOKEN_TTL_SECONDS;
  return signFeedbackToken(deps.key(), { r: a.route.name, m: a.provider.model, d: a.reason, i: a.requestId, e });
}

export interface FeedbackHandlerDeps {
  feedback: FeedbackDeps;
  snapshot: () => Snapshot | null;
  auth: ClientAuth | null;
}

/** POST /v1/feedback (body already parsed as JSON by express). */
export function feedbackHandler(deps: FeedbackHandlerDeps) {
  return (req: Request, res: Response): void => {
    const principal = authenticate(deps.auth, deps.snapshot()?.config.clientKeys, (n) => req.get(n));
    const { token, score } = parseBody(req.body as unknown);
    const check = verifyFeedbackToken(deps.feedback.key(), token, Math.floor(deps.feedback.now() / 1000));
    if (!check.ok) throw new HttpError(400, check.message, "invalid_request_error", check.code, "token");
    const route = deps.snapshot()?.routes.get(check.payload.r);
    if (!route) {
      const message = `the feedback token's route ${JSON.stringify(check.payload.r)} is not served by this router`;
      throw new HttpError(400, message, "invalid_request_error", "unknown_route", "token");
    }
    if (principal && !principal.allows(route.name)) {
      const message = `this API key may not use model ${JSON.stringify(route.name)}`;
      throw new HttpError(403, message, "permission_error", "model_not_allowed", "token");
    }
    const model = servesRoute(deps.snapshot(), route, check.payload.m) ? check.payload.m : OTHER_MODEL;
    deps.feedback.record(route.name, model, score, check.payload.i);
    res.json({ status: "recorded" });
  };
}

function parseBody(body: unknown): { token: string; score: number } {
  if (!isRecord(body))
    throw badFeedback('the body must be a JSON object {"token": "...", "score": 0..1}', "invalid_request", null);
  const { token, score } = body;
  if (typeof token !== "string" || token === "")
    throw badFeedback("token is required (the answer's x-routewise-feedback-token)", "invalid_feedback_token", "token");
  if (typeof score !== "number" || !Number.isFinite(score) || score < 0 || score > 1)
    throw badFeedback("score must be a number in [0, 1] (thumbs up: 1, thumbs down: 0)", "invalid_score", "score");
  return { token, score };
}

function badFeedback(message: string, code: string, param: string | null): HttpError {
  return new HttpError(400, message, "invalid_request_error", code, param);
}

/** Whether `model` is the upstream model of one of the route's candidates or its baseline. */
function servesRoute(snap: Snapshot | null, route: RouteConfig, model: string): boolean {
  const ids = [...route.candidates.map((c) => c.provider), route.baseline];
  return ids.some((id) => snap?.providers.get(id)?.model === model);
}
