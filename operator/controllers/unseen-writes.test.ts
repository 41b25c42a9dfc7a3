import { describe, expect, it } from "vitest";
import type { Condition } from "../api/v1alpha1/conditions.js";
import type { ObjectStatus } from "./status.js";
import { UnseenWrites } from "./unseen-writes.js";

const ready = (status: "True" | "False", at: string): Condition => ({
  type: "Ready",
  status,
  reason: status === "True" ? "Ready" : "NoCandidates",
  message: "",
  observedGeneration: 1,
  lastTransitionTime: at,
});
const status = (c: Condition): ObjectStatus => ({ observedGeneration: 1, conditions: [c] });
const KEY = "ModelRoute/team-a/chat";

describe("UnseenWrites", () => {
  it("holds back the same status planned again over the version it was written over", () => {
    const unseen = new UnseenWrites();
    unseen.wrote(KEY, "41", status(ready("True", "2026-12-03T12:00:00Z")));
    // Planned again before the watch event came: a new condition is stamped with the new time.
    expect(unseen.pending(KEY, "41", status(ready("True", "2026-12-03T12:00:06Z")))).toBe(true);
    expect(unseen.size).toBe(1);
  });

  it("writes a status that says something else, even over the same version", () => {
    const unseen = new UnseenWrites();
    unseen.wrote(KEY, "41", status(ready("True", "2026-12-03T12:00:00Z")));
    expect(unseen.pending(KEY, "41", status(ready("False", "2026-12-03T12:00:06Z")))).toBe(false);
  });

  it("leaves the decision to the cache once it shows another version, and forgets the write", () => {
    const unseen = new UnseenWrites();
    const s = status(ready("True", "2026-12-03T12:00:00Z"));
    unseen.wrote(KEY, "41", s);
    expect(unseen.pending(KEY, "42", s)).toBe(false);
    expect(unseen.size).toBe(0);
    // Someone set the old version back? Versions never repeat; the record is gone anyway.
    expect(unseen.pending(KEY, "41", s)).toBe(false);
  });

  it("remembers nothing for an object without a resourceVersion, and forgets objects that are gone", () => {
    const unseen = new UnseenWrites();
    const s = status(ready("True", "2026-12-03T12:00:00Z"));
    unseen.wrote(KEY, undefined, s);
    expect(unseen.pending(KEY, undefined, s)).toBe(false);
    unseen.wrote(KEY, "41", s);
    unseen.wrote("ModelRoute/team-a/other", "7", s);
    unseen.retain(new Set(["ModelRoute/team-a/other"]));
    expect(unseen.size).toBe(1);
    expect(unseen.pending("ModelRoute/team-a/other", "7", s)).toBe(true);
  });
});
