/**
 * A Prometheus exposition endpoint on loopback whose counter values the test sets: stands in for routers while the
 * tests only need numbers in Prometheus (real routers are swapped in later).
 */
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

export interface Series {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricsEndpoint {
  /** host:port, for a scrape target. */
  address: string;
  /** Replaces the series with these labels' route (label `route`) by the given ones. */
  setRoute(route: string, series: Series[]): void;
  stop(): Promise<void>;
}

export async function startMetricsEndpoint(): Promise<MetricsEndpoint> {
  const byRoute = new Map<string, Series[]>();
  const server: Server = createServer((req, res) => {
    if (req.url !== "/metrics") return void res.writeHead(404).end();
    res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(exposition([...byRoute.values()].flat()));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    address: `127.0.0.1:${port}`,
    setRoute: (route, series) => byRoute.set(route, series),
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function exposition(series: Series[]): string {
  const names = [...new Set(series.map((s) => s.name))].sort();
  return names
    .map((name) => {
      const lines = series
        .filter((s) => s.name === name)
        .map(
          (s) =>
            `${name}{${Object.entries(s.labels)
              .map(([k, v]) => `${k}=${JSON.stringify(v)}`)
              .join(",")}} ${s.value}`,
        );
      return [`# TYPE ${name} counter`, ...lines].join("\n");
    })
    .join("\n")
    .concat("\n");
}
