/**
 * Free ports on 127.0.0.1 for processes a test or bench starts. The ports are released just before the caller's
 * process binds them (a child cannot inherit a listening socket from here), but all `count` sockets stay open until
 * every port is picked, so the ports of one call always differ (two separate picks could get the same port back).
 */
import { createServer, type Server } from "node:net";
import { HarnessError } from "./tools.js";

/** A tuple of `N` numbers: `const [a, b] = await freePorts(2)` needs no undefined checks. */
export type PortTuple<N extends number, Acc extends number[] = []> = Acc["length"] extends N
  ? Acc
  : PortTuple<N, [...Acc, number]>;

/** `count` distinct ports the kernel handed out for 127.0.0.1:0, all held open together, then released. */
export async function freePorts<N extends number>(count: N): Promise<PortTuple<N>> {
  const servers = Array.from({ length: count }, () => createServer());
  try {
    const ports = await Promise.all(servers.map(listen));
    return ports as PortTuple<N>;
  } finally {
    await Promise.all(servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))));
  }
}

function listen(server: Server): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      if (address === null || typeof address === "string") reject(new HarnessError("no port assigned"));
      else resolve(address.port);
    });
  });
}
