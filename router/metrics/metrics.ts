/**
 * Every metric the router exports, defined once. Labels are bounded: route, provider, model, outcome, reason,
 * direction — never users, keys or prompts. Base units: seconds, USD, tokens.
 *
 * With `routewise router --workers N` the primary's one scrape aggregates every worker (prom-client's
 * AggregatorRegistry): counters and histograms sum (the pod's totals), and so does inflight; a gauge that states
 * one fact for the pod says which worker wins — `max` where any worker counts (a circuit open in one, the config
 * hash of a worker still reloading, the budget read last: per worker without Redis, the same in each with it), `min`
 * where every worker must agree (route available, state store up).
 */
import { Counter, Gauge, Registry, collectDefaultMetrics } from "prom-client";
import { HotCounter } from "./hot-counter.js";
import { HotHistogram } from "./hot-histogram.js";

/** Routing (classify + select) takes tens of µs to a few ms: buckets from 50 µs to 1 s. */
export const ROUTING_BUCKETS = [
  0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.00075, 0.001, 0.002, 0.003, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];
const UPSTREAM_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 40, 80, 160];
/** OpenTelemetry GenAI semantic conventions' advised buckets. */
const GENAI_TOKEN_BUCKETS = [1, 4, 16, 64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864];
const GENAI_DURATION_BUCKETS = [0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92];
const GENAI_TTFT_BUCKETS = [0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];

/**
 * prom-client default gauges whose names end in `_total`, which `promtool check metrics` rejects ("non-counter
 * metrics should not have _total suffix"). Dropped: the per-type gauges (`…_active_handles{type}`) stay.
 */
const MISNAMED_DEFAULT_GAUGES = [
  "nodejs_active_handles_total",
  "nodejs_active_requests_total",
  "nodejs_active_resources_total",
];

/** Prefix of the Node.js process metrics: routewise_process_* and routewise_nodejs_*. */
export const DEFAULT_METRICS_PREFIX = "routewise_";

export type RouterMetrics = ReturnType<typeof createRouterMetrics>;

export function createRouterMetrics(registry: Registry = new Registry(), options: { defaultMetrics?: boolean } = {}) {
  if (options.defaultMetrics ?? true) {
    // prom-client's names already start with process_ / nodejs_: routewise_process_cpu_seconds_total, …
    collectDefaultMetrics({ register: registry, prefix: DEFAULT_METRICS_PREFIX });
    for (const name of MISNAMED_DEFAULT_GAUGES) registry.removeSingleMetric(`${DEFAULT_METRICS_PREFIX}${name}`);
  }
  const r = [registry];
  return {
    registry,
    requests: new HotCounter({
      name: "routewise_requests_total",
      help: "Chat completion requests by route, the provider and model that answered, outcome, and arm (policy or baseline: who chose the provider).",
      labelNames: ["route", "provider", "model", "outcome", "arm"] as const,
      registers: r,
    }),
    decisions: new HotCounter({
      name: "routewise_decisions_total",
      help: "Routing decisions by route, chosen model and reason (rule name, classifier, strongest, shadow, pinned).",
      labelNames: ["route", "model", "reason"] as const,
      registers: r,
    }),
    routingDuration: new HotHistogram({
      name: "routewise_routing_duration_seconds",
      help: "Time to classify a request and select its candidates.",
      labelNames: ["route"] as const,
      buckets: ROUTING_BUCKETS,
      registers: r,
    }),
    upstreamDuration: new HotHistogram({
      name: "routewise_upstream_duration_seconds",
      help: "Duration of upstream attempts, from sending to the last byte.",
      labelNames: ["provider", "model", "outcome"] as const,
      buckets: UPSTREAM_BUCKETS,
      registers: r,
    }),
    timeToFirstToken: new HotHistogram({
      name: "routewise_time_to_first_token_seconds",
      help: "Time from sending a streaming request upstream to its first chunk.",
      labelNames: ["provider", "model"] as const,
      buckets: UPSTREAM_BUCKETS,
      registers: r,
    }),
    tokens: new HotCounter({
      name: "routewise_tokens_total",
      help: "Tokens by route, provider, model and direction (input, output, cached_input).",
      labelNames: ["route", "provider", "model", "direction"] as const,
      registers: r,
    }),
    cost: new HotCounter({
      name: "routewise_cost_usd_total",
      help: "Cost of answered requests in USD at the answering provider's prices, by arm (policy or baseline).",
      labelNames: ["route", "provider", "model", "arm"] as const,
      registers: r,
    }),
    baselineCost: new HotCounter({
      name: "routewise_baseline_cost_usd_total",
      help: "What the same tokens would have cost at the route's baseline provider's prices, in USD, by arm.",
      labelNames: ["route", "arm"] as const,
      registers: r,
    }),
    projectedCost: new Counter({
      name: "routewise_projected_cost_usd_total",
      help: "Shadow routes: what the answers' tokens would have cost at the prices of the model the policy decided, in USD.",
      labelNames: ["route"] as const,
      registers: r,
    }),
    routeObjectiveRetention: new Gauge({
      name: "routewise_route_objective_retention",
      help: "The route's objective minQualityRetention (measured retention is compared with it per route).",
      labelNames: ["route"] as const,
      aggregator: "max",
      registers: r,
    }),
    ...evaluationMetrics(r),
    ...learningMetrics(r),
    ...budgetMetrics(r),
    qualityPoints: new HotCounter({
      name: "routewise_quality_points_total",
      help: "Sum over requests of the chosen model's predicted quality (0-100 scale).",
      labelNames: ["route"] as const,
      registers: r,
    }),
    baselineQualityPoints: new HotCounter({
      name: "routewise_baseline_quality_points_total",
      help: "Sum over requests of the baseline model's predicted quality (0-100 scale).",
      labelNames: ["route"] as const,
      registers: r,
    }),
    cascade: new Counter({
      name: "routewise_cascade_total",
      help:
        "Cascade stages by outcome: accepted (every verifier passed; verifier=all), escalated (verifier = the one " +
        "that rejected), error (the stage failed; verifier=error).",
      labelNames: ["route", "model", "outcome", "verifier"] as const,
      registers: r,
    }),
    fallbacks: new Counter({
      name: "routewise_fallbacks_total",
      help: "Fallbacks from one provider to the next after its attempts failed.",
      labelNames: ["route", "from_provider", "to_provider", "reason"] as const,
      registers: r,
    }),
    retries: new Counter({
      name: "routewise_retries_total",
      help: "Retries of an upstream call on the same provider.",
      labelNames: ["provider", "reason"] as const,
      registers: r,
    }),
    upstreamMalformedEvents: new Counter({
      name: "routewise_upstream_malformed_events_total",
      help: "Stream events from an upstream that were not usable (not JSON, no known shape) and were skipped.",
      labelNames: ["provider", "model"] as const,
      registers: r,
    }),
    circuitOpen: new Gauge({
      name: "routewise_circuit_open",
      help: "1 while a provider's circuit breaker is open (skipped), else 0.",
      labelNames: ["provider"] as const,
      aggregator: "max",
      registers: r,
    }),
    inflight: new Gauge({
      name: "routewise_inflight_requests",
      help: "Chat completion requests being served.",
      aggregator: "sum",
      registers: r,
    }),
    classifierCacheHits: new Counter({
      name: "routewise_classifier_cache_hits_total",
      help: "Classifications answered from the decision cache.",
      registers: r,
    }),
    classifierCacheMisses: new Counter({
      name: "routewise_classifier_cache_misses_total",
      help: "Classifications computed (not in the decision cache).",
      registers: r,
    }),
    logLinesDropped: new Counter({
      name: "routewise_log_lines_dropped_total",
      help: "Log lines dropped, not written, because their destination (stdout, the --request-log file) took them slower than they came and 16 MiB were already waiting.",
      labelNames: ["destination"] as const,
      registers: r,
    }),
    configReloads: new Counter({
      name: "routewise_config_reloads_total",
      help: "Config loads by outcome (success, invalid, error).",
      labelNames: ["outcome"] as const,
      registers: r,
    }),
    routeAvailable: new Gauge({
      name: "routewise_route_available",
      help: "1 while a route of the running config can serve, 0 while it answers 503 route_unavailable.",
      labelNames: ["route"] as const,
      aggregator: "min",
      registers: r,
    }),
    configInfo: new Gauge({
      name: "routewise_config_info",
      help: "1 for the config the router runs, labelled with its version and hash.",
      labelNames: ["version", "hash"] as const,
      aggregator: "max",
      registers: r,
    }),
    genAiTokenUsage: new HotHistogram({
      name: "gen_ai_client_token_usage",
      help: "OpenTelemetry GenAI: tokens per request by type (input, output).",
      labelNames: [
        "gen_ai_operation_name",
        "gen_ai_provider_name",
        "gen_ai_request_model",
        "gen_ai_response_model",
        "gen_ai_token_type",
      ] as const,
      buckets: GENAI_TOKEN_BUCKETS,
      registers: r,
    }),
    genAiRequestDuration: new HotHistogram({
      name: "gen_ai_server_request_duration_seconds",
      help: "OpenTelemetry GenAI: upstream request duration.",
      labelNames: [
        "gen_ai_operation_name",
        "gen_ai_provider_name",
        "gen_ai_request_model",
        "gen_ai_response_model",
        "error_type",
      ] as const,
      buckets: GENAI_DURATION_BUCKETS,
      registers: r,
    }),
    genAiTimeToFirstToken: new HotHistogram({
      name: "gen_ai_server_time_to_first_token_seconds",
      help: "OpenTelemetry GenAI: time to the first streamed token.",
      labelNames: [
        "gen_ai_operation_name",
        "gen_ai_provider_name",
        "gen_ai_request_model",
        "gen_ai_response_model",
      ] as const,
      buckets: GENAI_TTFT_BUCKETS,
      registers: r,
    }),
  };
}

/**
 * The SLO controller's sums of learning routes (docs/adr/0012-learned-quality.md, router/learn/evidence.ts): per
 * threshold of the fixed grid, the labels whose judged provider is that threshold's choice and their judge sums
 * weighted by 1/propensity, the cost of that threshold's choices, and its support (the labels it sends away from
 * the baseline, and of those the ones judged on its choice); per route, the labels and the baseline cost.
 */
function learningMetrics(r: Registry[]) {
  const threshold = (name: string, help: string) =>
    new Counter({ name, help, labelNames: ["route", "threshold"] as const, registers: r });
  return {
    learningLabels: new Counter({
      name: "routewise_learning_labels_total",
      help: "Learning routes: judge samples whose decision (segment, propensity, candidates) the router knew.",
      labelNames: ["route"] as const,
      registers: r,
    }),
    learningBaselineCost: new Counter({
      name: "routewise_learning_baseline_cost_usd_total",
      help: "Learning routes: the labelled answers' tokens at the baseline's prices, in USD.",
      labelNames: ["route"] as const,
      registers: r,
    }),
    learningThresholdLabels: threshold(
      "routewise_learning_threshold_labels_total",
      "Learning routes: labels whose judged provider is the choice of the policy at this threshold.",
    ),
    learningThresholdScore: new Counter({
      name: "routewise_learning_threshold_score_total",
      help: "Learning routes: sum of those labels' judge scores weighted by 1/propensity, by side.",
      labelNames: ["route", "threshold", "side"] as const,
      registers: r,
    }),
    learningThresholdScoreSquared: new Counter({
      name: "routewise_learning_threshold_score_squared_total",
      help: "Learning routes: sum of those labels' squared judge scores weighted by 1/propensity squared, by side.",
      labelNames: ["route", "threshold", "side"] as const,
      registers: r,
    }),
    learningThresholdScoreProduct: threshold(
      "routewise_learning_threshold_score_product_total",
      "Learning routes: sum of those labels' routed times baseline score weighted by 1/propensity squared.",
    ),
    learningThresholdCost: threshold(
      "routewise_learning_threshold_cost_usd_total",
      "Learning routes: the labelled answers' tokens at the prices of the policy's choice at this threshold, in USD.",
    ),
    learningThresholdAway: threshold(
      "routewise_learning_threshold_away_total",
      "Learning routes: labels the policy at this threshold sends away from the baseline.",
    ),
    learningThresholdAwayMatched: threshold(
      "routewise_learning_threshold_away_matched_total",
      "Learning routes: of the labels sent away at this threshold, those whose judged provider is the policy's choice.",
    ),
  };
}

/** The shared state store's calls: limits and spend (issue 17), 50 µs to 1 s. */
export const STATE_BUCKETS = [
  0.00005, 0.0001, 0.0002, 0.0003, 0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1,
];

/**
 * Spend per client key, team and route, budgets, and the state store (issue 17). `name` is a configured object
 * (a client key's `<namespace>/<name>`, a team label, a route name), so the labels stay bounded.
 */
function budgetMetrics(r: Registry[]) {
  return {
    spend: new Counter({
      name: "routewise_spend_usd_total",
      help: "Cost of answered requests in USD by who pays: scope key (the client key's name), team (its team label) or route.",
      labelNames: ["scope", "name"] as const,
      registers: r,
    }),
    budgetSpent: new Gauge({
      name: "routewise_budget_spent_usd",
      help: "USD spent in the budget's current period, as this replica last read it (across replicas with a shared store).",
      labelNames: ["scope", "name"] as const,
      aggregator: "max",
      registers: r,
    }),
    budgetLimit: new Gauge({
      name: "routewise_budget_limit_usd",
      help: "The budget's USD per period, by scope (key, team, route) and name.",
      labelNames: ["scope", "name"] as const,
      aggregator: "max",
      registers: r,
    }),
    budgetDegraded: new Counter({
      name: "routewise_budget_degraded_requests_total",
      help: "Requests a budget stepped down, by reason: past_degrade_at (relaxed objective) or exhausted (cheapest candidate only).",
      labelNames: ["scope", "name", "reason"] as const,
      registers: r,
    }),
    budgetRejected: new Counter({
      name: "routewise_budget_rejected_requests_total",
      help: "Requests a budget refused with 429 insufficient_quota, by reason: exhausted (spent) or estimate (the request's estimated cost does not fit what is left).",
      labelNames: ["scope", "name", "reason"] as const,
      registers: r,
    }),
    stateUp: new Gauge({
      name: "routewise_state_up",
      help: "1 while the shared state store answers, 0 while it is unreachable; absent without one (store: redis).",
      labelNames: ["store"] as const,
      aggregator: "min",
      registers: r,
    }),
    stateDuration: new HotHistogram({
      name: "routewise_state_operation_duration_seconds",
      help: "Calls to the shared state store by operation (acquire, release, tokens, read_spend, charge, ping), answered or not.",
      labelNames: ["operation"] as const,
      buckets: STATE_BUCKETS,
      registers: r,
    }),
    stateErrors: new Counter({
      name: "routewise_state_errors_total",
      help: "Calls the shared state store could not serve, by operation and handling: local (served on this replica's state), refused (503 state_unavailable), deferred (a charge sent later).",
      labelNames: ["operation", "handling"] as const,
      registers: r,
    }),
  };
}

/** Judge samples and explicit feedback (docs/adr/0010-measured-quality.md). */
function evaluationMetrics(r: Registry[]) {
  return {
    evaluationSamples: new Counter({
      name: "routewise_evaluation_samples_total",
      help: "Judge samples with scores recorded, by route and the routed side's model (and segment, on learning routes).",
      labelNames: ["route", "model", "segment"] as const,
      registers: r,
    }),
    evaluationScore: new Counter({
      name: "routewise_evaluation_score_total",
      help: "Sum of judge scores (1-10) of the samples, by side (routed or baseline).",
      labelNames: ["route", "model", "side", "segment"] as const,
      registers: r,
    }),
    evaluationScoreSquared: new Counter({
      name: "routewise_evaluation_score_squared_total",
      help: "Sum of squared judge scores of the samples, by side (for the retention bound).",
      labelNames: ["route", "model", "side", "segment"] as const,
      registers: r,
    }),
    evaluationScoreProduct: new Counter({
      name: "routewise_evaluation_score_product_total",
      help: "Sum over samples of the routed score times the baseline score (for the retention bound).",
      labelNames: ["route", "model", "segment"] as const,
      registers: r,
    }),
    judgeOrdered: new Counter({
      name: "routewise_evaluation_judge_ordered_total",
      help: "Judged samples whose two position gradings were not both ties (for the judge's flip rate).",
      labelNames: ["route"] as const,
      registers: r,
    }),
    judgeDisagreements: new Counter({
      name: "routewise_evaluation_judge_disagreements_total",
      help: "Sum over judged samples of how much the two position gradings disagree on the order (0, 0.5 or 1).",
      labelNames: ["route"] as const,
      registers: r,
    }),
    judgeFeedbackPairs: new Counter({
      name: "routewise_evaluation_judge_feedback_pairs_total",
      help: "Judged samples that also got explicit feedback on this router (for the judge's flip rate).",
      labelNames: ["route"] as const,
      registers: r,
    }),
    judgeFeedbackDisagreements: new Counter({
      name: "routewise_evaluation_judge_feedback_disagreements_total",
      help: "Of those, the ones where the judge and the user disagree on whether the routed answer held up.",
      labelNames: ["route"] as const,
      registers: r,
    }),
    evaluationFailures: new Counter({
      name: "routewise_evaluation_failures_total",
      help: "Samples that recorded no score, by reason (baseline_error, routed_error, judge_error, unparsable_verdict, queue_full).",
      labelNames: ["route", "reason"] as const,
      registers: r,
    }),
    evaluationCost: new Counter({
      name: "routewise_evaluation_cost_usd_total",
      help: "Evaluation spend (baseline or decided-model calls and judge calls) at their providers' prices, in USD.",
      labelNames: ["route"] as const,
      registers: r,
    }),
    evaluationPaused: new Gauge({
      name: "routewise_evaluation_paused",
      help: "1 while the route's hourly evaluation spend cap pauses sampling on this replica, else 0.",
      labelNames: ["route"] as const,
      aggregator: "max",
      registers: r,
    }),
    feedback: new Counter({
      name: "routewise_feedback_total",
      help: "Explicit feedback received (POST /v1/feedback), by route and answering model.",
      labelNames: ["route", "model"] as const,
      registers: r,
    }),
    feedbackScore: new Counter({
      name: "routewise_feedback_score_total",
      help: "Sum of explicit feedback scores in [0,1], by route and answering model.",
      labelNames: ["route", "model"] as const,
      registers: r,
    }),
  };
}
