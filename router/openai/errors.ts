/** OpenAI-shaped errors: `{"error":{"message","type","param","code"}}` with the right HTTP status. */

export type ErrorType =
  | "invalid_request_error"
  | "authentication_error"
  | "permission_error"
  | "not_found_error"
  | "rate_limit_error"
  /** OpenAI's type (and code) for a spent quota: a budget that rejects (issue 17). */
  | "insufficient_quota"
  | "api_error";

/** An OpenAI-shaped error the handler turns into a response. */
export class HttpError extends Error {
  override readonly name = "HttpError";
  constructor(
    readonly status: number,
    message: string,
    readonly type: ErrorType,
    readonly code: string | null = null,
    readonly param: string | null = null,
  ) {
    super(message);
  }

  /** Extra response headers (e.g. retry-after). */
  headers: Record<string, string> = {};

  withHeaders(headers: Record<string, string>): this {
    this.headers = { ...this.headers, ...headers };
    return this;
  }
}

export function errorBody(e: Pick<HttpError, "message" | "type" | "code" | "param">) {
  return { error: { message: e.message, type: e.type, param: e.param, code: e.code } };
}

export const badRequest = (message: string, param: string | null = null, code: string | null = null): HttpError =>
  new HttpError(400, message, "invalid_request_error", code, param);
