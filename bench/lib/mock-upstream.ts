/** Child process: an OpenAI-compatible mock upstream on 127.0.0.1; prints its port on stdout. */
import { startOpenAIMock } from "../../test/mocks/openai-mock.js";

const mock = await startOpenAIMock({ chunks: 16 });
// Keep memory flat during long runs: the benchmark does not read recorded requests.
setInterval(() => (mock.requests.length = 0), 1000).unref();
process.stdout.write(`${mock.port}\n`);
process.on("SIGTERM", () => void mock.close().then(() => process.exit(0)));
