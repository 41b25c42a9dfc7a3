/**
 * What one row's call to one provider cost, and what judging a row costs. A row's cost for a model is, in order:
 * its recorded `costs_usd`, its `tokens` × the provider's prices in the config, its `price_per_mtok` × (estimated
 * prompt tokens + ASSUMED_OUTPUT_TOKENS), else the config's prices × that same estimate.
 */
import type { ProviderConfig } from "../../router/config/types.js";
import { ASSUMED_OUTPUT_TOKENS } from "../../router/select/rank.js";
import type { SimRow } from "./rows.js";

/** Characters per token of the router's own estimate (router/openai/tokens.ts). */
export const CHARS_PER_TOKEN = 4;
/** Tokens of the judge's rubric around the prompt and the two answers (ADR 10), and of its verdict. */
export const JUDGE_RUBRIC_TOKENS = 200;
export const JUDGE_VERDICT_TOKENS = 20;

export const promptTokensOf = (prompt: string): number => Math.ceil(prompt.length / CHARS_PER_TOKEN);

export function priced(p: ProviderConfig, input: number, output: number): number {
  return (input * p.pricing.inputPerMillion + output * p.pricing.outputPerMillion) / 1e6;
}

export function rowCost(row: SimRow, model: string, provider: ProviderConfig): number {
  const recorded = row.costsUsd?.[model];
  if (recorded !== undefined && recorded !== null) return recorded;
  const tokens = row.tokens?.[model];
  if (tokens) return priced(provider, tokens[0], tokens[1]);
  const estimate = promptTokensOf(row.prompt);
  const price = row.pricePerMtok?.[model];
  if (price !== undefined) return ((estimate + ASSUMED_OUTPUT_TOKENS) * price) / 1e6;
  return priced(provider, estimate, ASSUMED_OUTPUT_TOKENS);
}

/**
 * Two judge calls (answers in both orders, ADR 10), each reading the rubric, the prompt and two answers of
 * ASSUMED_OUTPUT_TOKENS, priced at the judge provider; `perRow` (--judge-cost) replaces the estimate.
 */
export function judgeCallsCost(promptTokens: number, judge: ProviderConfig, perRow: number | null): number {
  if (perRow !== null) return perRow;
  const input = JUDGE_RUBRIC_TOKENS + promptTokens + 2 * ASSUMED_OUTPUT_TOKENS;
  return 2 * priced(judge, input, JUDGE_VERDICT_TOKENS);
}

/**
 * The served answer's tokens [input, output] as the router would count them: the row's recorded `tokens` for the
 * model, else the estimate (prompt tokens, ASSUMED_OUTPUT_TOKENS). A learning label prices them at every
 * candidate's prices (router/learn/label.ts), as the router prices the answer it got.
 */
export function answerTokens(row: SimRow, model: string | undefined, promptTokens: number): [number, number] {
  const recorded = model === undefined ? undefined : row.tokens?.[model];
  return recorded ? [recorded[0], recorded[1]] : [promptTokens, ASSUMED_OUTPUT_TOKENS];
}
