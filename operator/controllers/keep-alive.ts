/**
 * @kubernetes/client-node 1.x builds a new https.Agent for every request, so every API call pays a TLS
 * handshake (the operator's 1,200 status writes at scale took ~40 s that way, ~6 s with this). This returns a
 * view of a KubeConfig whose agent factory hands out one keep-alive agent, for the operator's short API calls.
 * The original KubeConfig is left alone: long-lived watches must not hold sockets of the shared agent.
 */
import type { Agent } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";

type AgentFactory = (cluster: unknown, options: Record<string, unknown>) => Agent;

export function withKeepAlive(kc: KubeConfig): KubeConfig {
  const original = (kc as unknown as { createAgent?: AgentFactory }).createAgent;
  if (typeof original !== "function") return kc; // a client-node without this hook: leave it as it is
  // A child object: reads every field of kc, but has its own agent factory.
  const view: unknown = Object.create(kc);
  let cached: Agent | null = null;
  const factory: AgentFactory = function (this: unknown, cluster, options) {
    cached ??= original.call(this, cluster, { ...options, keepAlive: true });
    return cached;
  };
  Object.defineProperty(view, "createAgent", { value: factory });
  return view as KubeConfig;
}
