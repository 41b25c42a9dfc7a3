/**
 * Child process: the express ceiling — express 5 + express.json + an undici keep-alive pool forwarding the parsed
 * body to the upstream and the parsed answer (or, streaming, the events) back, with no routing work. Prints its port on stdout.
 * Usage: express-proxy.ts <upstream port>.
 */
import express from "express";
import type { AddressInfo } from "node:net";
import { Pool } from "undici";

const upstream = new Pool(`http://127.0.0.1:${process.argv[2] ?? ""}`, { connections: 256 });
const app = express();
app.post("/v1/chat/completions", express.json({ limit: "4mb" }), (req, res, next) => {
  upstream
    .request({
      path: "/v1/chat/completions",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(req.body),
    })
    .then(async (up) => {
      const type = String(up.headers["content-type"] ?? "");
      if (!type.startsWith("text/event-stream")) {
        res.status(up.statusCode).json(await up.body.json());
        return;
      }
      // --stream: relay the events as they come.
      res.status(up.statusCode).type(type);
      for await (const chunk of up.body) res.write(chunk);
      res.end();
    })
    .catch(next);
});
const server = app.listen(0, "127.0.0.1", () => process.stdout.write(`${(server.address() as AddressInfo).port}\n`));
server.keepAliveTimeout = 65_000;
process.on("SIGTERM", () => server.close(() => process.exit(0)));
