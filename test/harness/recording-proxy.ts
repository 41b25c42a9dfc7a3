/**
 * A plain-HTTP proxy on loopback in front of the test API server that records every request line and every byte
 * of every response (watch streams included) on their way to the client. A client given `kubeConfig()` talks to the
 * API server as the admin behind it, and the test can assert what reached that client over the wire.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import { request as httpsRequest, type Agent } from "node:https";
import type { AddressInfo } from "node:net";
import { KubeConfig } from "@kubernetes/client-node";

export interface RecordedRequest {
  method: string;
  /** Path and query, as sent. */
  path: string;
  accept: string;
}

export interface RecordingProxy {
  /** e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** Every request so far, in arrival order. */
  readonly requests: readonly RecordedRequest[];
  /** Every response byte sent to clients so far (latin1: base64 and JSON survive as they are). */
  received(): string;
  /** A KubeConfig that goes through the proxy (no credentials of its own: the proxy adds the admin's). */
  kubeConfig(): KubeConfig;
  stop(): Promise<void>;
}

export async function startRecordingProxy(admin: KubeConfig): Promise<RecordingProxy> {
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error("The admin kubeconfig names no cluster");
  const upstream = new URL(cluster.server);
  const requests: RecordedRequest[] = [];
  const chunks: Buffer[] = [];
  const forward = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    requests.push({ method: req.method ?? "", path: req.url ?? "", accept: req.headers.accept ?? "" });
    const init = await admin.applyToFetchOptions({});
    const auth = Object.fromEntries(init.headers as unknown as Iterable<[string, string]>);
    const headers = { ...req.headers, ...auth, host: upstream.host };
    const out = httpsRequest(
      new URL(req.url ?? "/", upstream),
      { method: req.method ?? "GET", headers, agent: init.agent as Agent },
      (up) => {
        res.writeHead(up.statusCode ?? 502, up.headers);
        res.flushHeaders(); // a watch with no events yet has sent its headers; the client waits for them
        up.on("data", (c: Buffer) => {
          chunks.push(c);
          res.write(c);
        });
        up.on("end", () => res.end());
        up.on("error", () => res.destroy());
      },
    );
    out.on("error", () => res.destroy());
    res.on("close", () => out.destroy());
    req.pipe(out);
  };
  const server: Server = createServer((req, res) => {
    forward(req, res).catch(() => res.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url,
    requests,
    received: () => Buffer.concat(chunks).toString("latin1"),
    kubeConfig: () => {
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: "proxy", server: url, skipTLSVerify: true }],
        users: [{ name: "proxy" }],
        contexts: [{ name: "proxy", cluster: "proxy", user: "proxy" }],
        currentContext: "proxy",
      });
      return kc;
    },
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
