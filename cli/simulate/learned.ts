/**
 * The replay's learner for routes with `learning` (ADR 12): router/learn's segments and learned table, computed
 * in-process the way a standalone router does. Judged rows become labels (scores in [0,1] as 1–10 grades,
 * grade = 1 + 9·score) of their segment; before each row the table of the last `learning.window` labels is written
 * into the route's `learned`, so the real select() decides with what was learned so far. The simulated judge's
 * flip rate (--judge-noise) is the flip rate the bounds correct for. Whether and how select() uses `learned` (and
 * explores) is router/select's: this adapter only keeps the table current.
 */
import type { RouteConfig } from "../../router/config/types.js";
import { cellsOf, learnTable, type Label } from "../../router/learn/learner.js";
import { declaredRetention, parseSegmentKey, segmentKey, segmentOf } from "../../router/learn/segment.js";
import { features } from "./engine.js";
import { STATIC_LEARNER, type JudgedLabel, type Learner, type RowContext } from "./learner.js";

const grade = (score: number): number => 1 + 9 * score;

function segmentFor(c: RowContext): string {
  return segmentKey(segmentOf(c.route, features(c.promptTokens), c.classification, null));
}

export function routeLearner(route: RouteConfig, flipRate: number): Learner {
  const learning = route.learning;
  if (!learning) return STATIC_LEARNER;
  const labels: Label[] = [];
  let providers: RowContext["providers"] = new Map();
  /** The declared-score prediction of a cell (the learner's prior). */
  const prior = (segment: string, provider: string): number => {
    const s = parseSegmentKey(segment);
    const p = providers.get(provider);
    const b = providers.get(route.baseline);
    return s && p && b ? declaredRetention(p, b, s.bucket) : 1;
  };
  return {
    name: "router/learn",
    prepare: (c) => {
      providers = c.providers;
      const window = labels.slice(-learning.window);
      const options = {
        flipRate,
        ...(learning.priorSamples === undefined ? {} : { priorSamples: learning.priorSamples }),
      };
      const entries = learnTable(cellsOf(window, prior), options);
      return { ...c.route, learned: { entries, threshold: null, flipRate, labels: window.length } };
    },
    choose: (c, selection, random) => STATIC_LEARNER.choose(c, selection, random),
    learn: (l: JudgedLabel) => {
      labels.push({
        segment: segmentFor(l.context),
        provider: l.served.id,
        routed: grade(l.servedScore),
        baseline: grade(l.baselineScore),
      });
    },
  };
}
