/**
 * Child process: the baseline — a bare node:http pass-through proxy with a keep-alive agent, piping the
 * request and response bodies untouched. Prints its port on stdout. Usage: bare-proxy.ts <upstream port>.
 */
import { Agent, createServer, request } from "node:http";
import type { AddressInfo } from "node:net";

const upstreamPort = Number(process.argv[2]);
const agent = new Agent({ keepAlive: true, maxSockets: 256 });
const server = createServer((req, res) => {
  const up = request(
    { host: "127.0.0.1", port: upstreamPort, path: req.url, method: req.method, headers: req.headers, agent },
    (upRes) => {
      res.writeHead(upRes.statusCode ?? 502, upRes.headers);
      upRes.pipe(res);
    },
  );
  up.on("error", () => res.writeHead(502).end());
  req.pipe(up);
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
