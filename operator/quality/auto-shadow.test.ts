import { describe, expect, it } from "vitest";
import { decideRollout, holding, nextStreak, type RolloutInput, type RolloutStatus } from "./auto-shadow.js";

const T0 = "2026-12-01T10:00:00.000Z";
const HOUR = 3_600_000;
const at = (ms: number) => new Date(Date.parse(T0) + ms).toISOString();

const base: RolloutInput = {
  specMode: "enforce",
  autoShadow: true,
  generation: 3,
  annotation: undefined,
  current: { effectiveMode: "enforce", reason: "", since: T0 },
  streak: { seq: 0, low: 0 },
  read: null,
  now: at(HOUR),
  holdMs: HOUR,
};

/** Feeds reads (low or not) one after the other, carrying status and streak like the reconciler does. */
function run(input: RolloutInput, lows: boolean[]) {
  let current = input.current;
  let streak = input.streak;
  const out = [];
  for (const [n, low] of lows.entries()) {
    const d = decideRollout({ ...input, current, streak, read: { seq: streak.seq + 1, low }, now: at(HOUR + n) });
    current = d.rollout;
    streak = d.streak;
    out.push(d);
  }
  return out;
}

describe("decideRollout", () => {
  it("keeps the spec's mode, and its since, while quality is fine", () => {
    const [d] = run(base, [false]);
    expect(d).toMatchObject({ shadowed: false, event: null, rollout: { effectiveMode: "enforce", since: T0 } });
  });

  it("shadows a route after two consecutive low reads, with a Warning Event and the generation decided for", () => {
    const [first, second] = run(base, [true, true]);
    expect(first?.shadowed).toBe(false);
    expect(second).toMatchObject({
      shadowed: true,
      rollout: { effectiveMode: "shadow", reason: "QualityBelowObjective", generation: 3, since: at(HOUR + 1) },
      event: { type: "Warning", reason: "QualityBelowObjective" },
    });
  });

  it("needs the two low reads to be consecutive", () => {
    expect(run(base, [true, false, true]).map((d) => d.shadowed)).toEqual([false, false, false]);
  });

  it("counts one reading once, however many reconciles see it", () => {
    const d1 = decideRollout({ ...base, read: { seq: 1, low: true } });
    const d2 = decideRollout({ ...base, streak: d1.streak, read: { seq: 1, low: true } });
    expect(d2).toMatchObject({ shadowed: false, streak: { seq: 1, low: 1 } });
  });

  it("shadows a canary route too, but never one whose autoShadow is false or whose spec is shadow already", () => {
    expect(run({ ...base, specMode: "canary" }, [true, true])[1]?.shadowed).toBe(true);
    expect(run({ ...base, autoShadow: false }, [true, true, true])[2]?.shadowed).toBe(false);
    const shadow = run({ ...base, specMode: "shadow" }, [true, true])[1];
    expect(shadow).toMatchObject({ shadowed: false, rollout: { effectiveMode: "shadow", reason: "" } });
  });

  it("stays shadow while the generation and the annotation stay, whatever quality does", () => {
    const shadowed: RolloutStatus = {
      effectiveMode: "shadow",
      reason: "QualityBelowObjective",
      since: T0,
      generation: 3,
    };
    const d = run({ ...base, current: shadowed }, [false, false]);
    expect(d.map((x) => [x.shadowed, x.rollout])).toEqual([
      [true, shadowed],
      [true, shadowed],
    ]);
  });

  it("resets when metadata.generation moves past the one decided for, with a Normal Event", () => {
    const shadowed: RolloutStatus = {
      effectiveMode: "shadow",
      reason: "QualityBelowObjective",
      since: T0,
      generation: 3,
    };
    const d = decideRollout({ ...base, current: shadowed, generation: 4 });
    expect(d).toMatchObject({
      shadowed: false,
      rollout: { effectiveMode: "enforce", reason: "", since: base.now, generation: 4 },
      event: { type: "Normal", reason: "AutoShadowReset" },
    });
  });

  it("resets when the reset annotation has a value not acted on yet, and records it", () => {
    const shadowed: RolloutStatus = {
      effectiveMode: "shadow",
      reason: "QualityBelowObjective",
      since: T0,
      generation: 3,
      resetValue: "1",
    };
    expect(decideRollout({ ...base, current: shadowed, annotation: "1" }).shadowed).toBe(true);
    const d = decideRollout({ ...base, current: shadowed, annotation: "2" });
    expect(d).toMatchObject({ shadowed: false, rollout: { resetValue: "2", generation: 3 } });
  });

  it("does not shadow again for one window after a reset, and reads during the hold do not count", () => {
    const reset: RolloutStatus = { effectiveMode: "enforce", reason: "", since: at(HOUR), generation: 4 };
    const during = run({ ...base, current: reset, generation: 4 }, [true, true, true]);
    expect(during.map((d) => d.shadowed)).toEqual([false, false, false]);
    const afterHold = { ...base, current: reset, generation: 4, streak: during[2]!.streak };
    const d1 = decideRollout({ ...afterHold, read: { seq: 10, low: true }, now: at(2 * HOUR) });
    const d2 = decideRollout({ ...afterHold, streak: d1.streak, read: { seq: 11, low: true }, now: at(2 * HOUR + 1) });
    expect([d1.shadowed, d2.shadowed]).toEqual([false, true]);
  });

  it("records a new annotation value on a route that is not shadowed, without other effect", () => {
    const d = decideRollout({ ...base, annotation: "x" });
    expect(d).toMatchObject({ shadowed: false, event: null, rollout: { resetValue: "x", since: T0 } });
    expect(d.rollout).not.toHaveProperty("generation");
  });
});

describe("holding and nextStreak", () => {
  it("holds only after a reset (generation recorded, no reason) and only for holdMs", () => {
    expect(holding({ effectiveMode: "enforce", reason: "", since: T0 }, at(1), HOUR)).toBe(false);
    const reset = { effectiveMode: "enforce", reason: "", since: T0, generation: 2 } as const;
    expect(holding(reset, at(HOUR - 1), HOUR)).toBe(true);
    expect(holding(reset, at(HOUR), HOUR)).toBe(false);
  });

  it("restarts the run on a read that is not low", () => {
    expect(nextStreak({ seq: 4, low: 1 }, { seq: 5, low: false }, false)).toEqual({ seq: 5, low: 0 });
    expect(nextStreak({ seq: 4, low: 1 }, { seq: 5, low: true }, false)).toEqual({ seq: 5, low: 2 });
  });
});
