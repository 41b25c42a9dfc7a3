/**
 * `structure`: the answer has the shape the request asked for. A truncated answer (finish_reason length) rejects;
 * JSON mode (`response_format: json_object`) needs content that parses to an object; `json_schema` needs content
 * that validates against the schema; tool calls must name a declared tool and carry arguments that validate against
 * its parameters; `tool_choice: required` (or a named function) needs a tool call.
 */
import { Ajv, type ValidateFunction } from "ajv";
import { isRecord } from "../config/json.js";
import type { ChatRequest } from "../openai/types.js";
import { abstain, accept, reject, type Answer, type Verdict, type VerifyInput } from "./types.js";

export function verifyStructure({ request, answer }: VerifyInput): Verdict {
  if (answer.finishReason === "length") return reject("truncated");
  const tools = checkTools(request, answer);
  if (tools) return tools;
  const format = isRecord(request["response_format"]) ? request["response_format"] : null;
  if (format?.["type"] === "json_object") return checkJsonObject(answer);
  if (format?.["type"] === "json_schema") return checkJsonSchema(format["json_schema"], answer);
  return answer.toolCalls.length > 0 ? accept("tool_calls_valid") : abstain("no_structure_requested");
}

function checkJsonObject(answer: Answer): Verdict {
  const parsed = parseJson(answer.content);
  return parsed.ok && isRecord(parsed.value) ? accept("json_valid") : reject("json_invalid");
}

function checkJsonSchema(spec: unknown, answer: Answer): Verdict {
  const parsed = parseJson(answer.content);
  if (!parsed.ok) return reject("json_invalid");
  const schema = isRecord(spec) ? spec["schema"] : undefined;
  const validate = validatorFor(schema);
  if (!validate) return isRecord(parsed.value) ? accept("json_valid") : reject("json_invalid");
  return validate(parsed.value) ? accept("json_schema_valid") : reject("json_schema_invalid");
}

/** A rejection when the tool calls are wrong, else null (no tools involved, or every call is fine). */
function checkTools(request: ChatRequest, answer: Answer): Verdict | null {
  const declared = declaredTools(request);
  if (answer.toolCalls.length === 0) return toolRequired(request) ? reject("tool_call_missing") : null;
  for (const call of answer.toolCalls) {
    if (!declared.has(call.name)) return reject("tool_unknown");
    const args = parseJson(call.arguments === "" ? "{}" : call.arguments);
    if (!args.ok || !isRecord(args.value)) return reject("tool_arguments_invalid");
    const validate = validatorFor(declared.get(call.name));
    if (validate && !validate(args.value)) return reject("tool_arguments_invalid");
  }
  return null;
}

/** name → parameters schema (undefined when the tool declares none). */
function declaredTools(request: ChatRequest): Map<string, unknown> {
  const tools = Array.isArray(request["tools"]) ? request["tools"] : [];
  const out = new Map<string, unknown>();
  for (const tool of tools) {
    const fn = isRecord(tool) && isRecord(tool["function"]) ? tool["function"] : null;
    if (fn && typeof fn["name"] === "string") out.set(fn["name"], fn["parameters"]);
  }
  return out;
}

function toolRequired(request: ChatRequest): boolean {
  const choice = request["tool_choice"];
  return choice === "required" || (isRecord(choice) && choice["type"] === "function");
}

type Parsed = { ok: true; value: unknown } | { ok: false };

function parseJson(text: string): Parsed {
  try {
    return { ok: true, value: JSON.parse(stripFence(text)) };
  } catch {
    return { ok: false };
  }
}

/** Models often wrap JSON in a ```json fence; the fence is not a structural error. */
function stripFence(text: string): string {
  const m = /^\s*```(?:json)?\s*\n([\s\S]*?)\n?```\s*$/.exec(text);
  return m?.[1] ?? text;
}

// Client schemas repeat across requests; compiled validators are kept, bounded. Evicting one also removes it
// from Ajv, which keeps every schema it compiled.
const MAX_CACHED = 256;
const ajv = new Ajv({ strict: false, allErrors: false, validateSchema: true });
const cache = new Map<string, { validate: ValidateFunction | null; schema: object }>();

/** A validator for a client's JSON schema; null when there is none or it does not compile (the check abstains). */
function validatorFor(schema: unknown): ValidateFunction | null {
  if (!isRecord(schema)) return null;
  const key = JSON.stringify(schema);
  const hit = cache.get(key);
  if (hit !== undefined) return hit.validate;
  let validate: ValidateFunction | null;
  try {
    validate = ajv.compile(schema);
  } catch {
    validate = null;
  }
  if (cache.size >= MAX_CACHED) evictOldest();
  cache.set(key, { validate, schema });
  return validate;
}

function evictOldest(): void {
  const [key, entry] = cache.entries().next().value ?? [];
  if (key === undefined || entry === undefined) return;
  cache.delete(key);
  ajv.removeSchema(entry.schema);
}
