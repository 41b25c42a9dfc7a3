/**
 * @kubernetes/client-node 1.x builds a new https.Agent for every request, so every API call pays a TLS
 * handshake (the operator's 1,200 status writes at scale took ~40 s that way). This wraps the KubeConfig's
 * agent factory so one keep-alive agent per cluster is reused. Informer watches keep their own connections.
 */
import type { Agent } from "node:http";
import type { KubeConfig } from "@kubernetes/client-node";

type AgentFactory = (cluster: unknown, options: Record<string, unknown>) => Agent;

export function withKeepAlive(kc: KubeConfig): KubeConfig {
  const target = kc as unknown as { createAgent?: AgentFactory };
  const original = target.createAgent;
  if (typeof original !== "function") return kc; // a client-node without this hook: leave it as it is
  let cached: Agent | null = null;
  target.createAgent = function (this: unknown, cluster, options) {
    cached ??= original.call(this, cluster, { ...options, keepAlive: true, maxSockets: 32 });
    return cached;
  };
  return kc;
}
