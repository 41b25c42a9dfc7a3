/**
 * The closed load loop the router benchmarks share: `concurrency` clients, one connection each (so a cluster
 * primary spreads them over its workers), each sending the next chat completion as soon as the last one answered,
 * until `seconds` have passed. Prompts are unique after normalisation across every call in the process (no
 * decision-cache hits) unless the caller picks them.
 */
import { Pool } from "undici";
import { chatBody } from "./router-process.js";

export interface LoadResult {
  /** Requests answered 200. */
  ok: number;
  /** Requests answered with another status. */
  failed: number;
}

let counter = 0;

/**
 * Closed loop against `api` (http://host:port) for `seconds`; resolves with the requests done and the failures.
 * `prompt` picks the n-th request's prompt (default: unique after normalisation).
 */
export async function closedLoop(
  api: string,
  seconds: number,
  concurrency: number,
  prompt?: (n: number) => string,
): Promise<LoadResult> {
  const pool = new Pool(api, { connections: concurrency });
  const end = Date.now() + seconds * 1000;
  const done: LoadResult = { ok: 0, failed: 0 };
  try {
    await Promise.all(
      Array.from({ length: concurrency }, async () => {
        while (Date.now() < end) {
          const res = await pool.request({
            path: "/v1/chat/completions",
            method: "POST",
            headers: { "content-type": "application/json" },
            body: chatBody(counter++, prompt),
          });
          await res.body.text();
          if (res.statusCode === 200) done.ok++;
          else done.failed++;
        }
      }),
    );
  } finally {
    await pool.close();
  }
  return done;
}
