/** A request's conversation as a judge model reads it (the cascade's and judge sampling's rubrics). */
import type { ChatMessage } from "./types.js";

/** The request's conversation as the judge reads it: one `role: text` block per message (tools by name only). */
export function renderConversation(messages: ChatMessage[]): string {
  return messages.map((m) => `${m.role}: ${contentText(m.content)}`).join("\n\n");
}

function contentText(content: unknown): string {
  if (typeof content === "string") return content;
  if (!Array.isArray(content)) return "";
  return content
    .map((part: unknown) => {
      if (typeof part !== "object" || part === null) return "";
      const p = part as { type?: unknown; text?: unknown };
      if (typeof p.text === "string") return p.text;
      return p.type === "image_url" ? "[image]" : "";
    })
    .filter((t) => t !== "")
    .join(" ");
}
