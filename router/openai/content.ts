/** Helpers over OpenAI chat messages. */
import { isRecord } from "../config/json.js";

/** All text parts of a message's content. */
export function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  let text = "";
  for (const part of content) {
    if (isRecord(part) && part["type"] === "text" && typeof part["text"] === "string") {
      text = text.length === 0 ? part["text"] : text + "\n" + part["text"];
    }
  }
  return text;
}
