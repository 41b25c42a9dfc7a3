/**
 * Child process: the floor of a proxy that reads JSON — node:http, the request body parsed, the model field
 * rewritten, sent on with an undici keep-alive pool, the answer parsed and sent back as JSON. No routing, no
 * headers of its own, no metrics: the work any router that looks inside requests and answers cannot skip.
 * Prints its port on stdout. Usage: json-proxy.ts <upstream port>.
 */
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";

const upstream = new Pool(`http://127.0.0.1:${process.argv[2] ?? ""}`, { connections: 256 });
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on("data", (c: Buffer) => chunks.push(c));
  req.on("end", () => {
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString("utf8")) as Record<string, unknown>;
    } catch {
      res.writeHead(400).end();
      return;
    }
    upstream
      .request({
        path: req.url ?? "/",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ ...body, model: "upstream-model" }),
      })
      .then(async (up) => {
        const type = String(up.headers["content-type"] ?? "");
        if (!type.startsWith("text/event-stream")) {
          const text = JSON.stringify(await up.body.json());
          res.writeHead(up.statusCode, {
            "content-type": "application/json",
            "content-length": String(Buffer.byteLength(text)),
          });
          res.end(text);
          return;
        }
        res.writeHead(up.statusCode, { "content-type": type });
        for await (const chunk of up.body) res.write(chunk);
        res.end();
      })
      .catch(() => res.writeHead(502).end());
  });
});
server.keepAliveTimeout = 65_000;
server.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
process.on("SIGTERM", () => server.close(() => process.exit(0)));
