import { createHash } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { DEFAULT_FEATURE_CONFIG, featurize, promptKey } from "./featurize.js";
import { analyzerPrompts } from "../../test/fixtures/analyzer/prompts.js";

/**
 * The shipped model was trained on these exact feature vectors: any change to featurize.ts must leave them equal,
 * byte for byte. Each fixture prompt (test/fixtures/analyzer) is featurized and its vector's bytes hashed; the
 * digests were written by the featurizer before it was optimised (issue 18). UPDATE_GOLDEN=1 rewrites them, which
 * is right only together with a retrained model.
 */
const GOLDEN = join(import.meta.dirname, "testdata", "features.golden.json");

function digest(v: Float32Array): string {
  return createHash("sha256")
    .update(new Uint8Array(v.buffer, v.byteOffset, v.byteLength))
    .digest("hex")
    .slice(0, 24);
}

describe("featurize (golden)", () => {
  it("writes the same feature vectors and keys as the committed digests for every fixture prompt", () => {
    const got = analyzerPrompts().map((x) => ({
      features: digest(featurize(x, DEFAULT_FEATURE_CONFIG)),
      key: promptKey(x),
    }));
    const text = `${JSON.stringify(got, null, 2)}\n`;
    if (process.env["UPDATE_GOLDEN"] === "1") writeFileSync(GOLDEN, text);
    expect(got).toEqual(JSON.parse(readFileSync(GOLDEN, "utf8")));
  });
});
