import { readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { ROUTER_NODE_FLAGS } from "../../bench/lib/router-process.js";
import { DockerfileError, parseDockerfile, productionCopies, productionStage } from "./dockerfile.js";

const repoRoot = fileURLToPath(new URL("../../", import.meta.url));
const dockerfile = readFileSync(join(repoRoot, "Dockerfile"), "utf8");

const minimal = (production: string): string =>
  `ARG NODE_IMAGE=node:20.1.0-bookworm-slim\nFROM \${NODE_IMAGE} AS build\nRUN npm run build\nFROM \${NODE_IMAGE}\n${production}\n`;

describe("productionStage", () => {
  it("reads the repository's Dockerfile: workdir, env, user, ports, entrypoint, cmd and the file-producing steps", () => {
    const stage = productionStage(dockerfile);
    expect(stage).toMatchObject({
      baseImage: expect.stringMatching(/^node:20\./) as unknown,
      workdir: "/app",
      user: "65532:65532",
      exposedPorts: ["8080/tcp", "8081/tcp"],
      entrypoint: ["node", ...ROUTER_NODE_FLAGS, "bin/routewise.js"],
      cmd: ["--help"],
    });
    expect(stage.env).toContainEqual(["NODE_ENV", "production"]);
    expect(stage.steps.map((s) => [s.kind, "destPath" in s ? s.destPath : s.dir])).toEqual([
      ["copy", "/app/"],
      ["production-dependencies", "/app"],
      ["copy", "/app/bin/"],
      ["compiled", "/app/dist/"],
      ["copy", "/app/crds/"],
      ["copy", "/app/router/classify/models/"],
    ]);
  });

  it("fails on an instruction the builder does not reproduce", () => {
    expect(() => productionStage(minimal("VOLUME /data"))).toThrow(/line 5: VOLUME is not understood/);
  });

  it("fails on a RUN command it does not know", () => {
    expect(() => productionStage(minimal("RUN npm ci --omit=dev --ignore-scripts && apt-get install curl"))).toThrow(
      /RUN `apt-get install curl` is not understood/,
    );
  });

  it("fails on COPY flags it cannot honour", () => {
    expect(() => productionStage(minimal("COPY --chown=1:1 bin/ bin/"))).toThrow(DockerfileError);
  });

  it("fails on COPY --from a stage output it does not build", () => {
    expect(() => productionStage(minimal("COPY --from=build /app/node_modules/ node_modules/"))).toThrow(
      /COPY --from=build \/app\/node_modules\/ is not understood/,
    );
  });

  it("fails when the build stage no longer runs the compile the builder reproduces", () => {
    const text = "FROM node:20 AS build\nRUN make\nFROM node:20\nCOPY --from=build /app/dist/ dist/\n";
    expect(() => productionStage(text)).toThrow(/no longer runs `npm run build`/);
  });

  it("fails on a shell-form ENTRYPOINT (the image has no shell)", () => {
    expect(() => productionStage(minimal("ENTRYPOINT node bin/routewise.js"))).toThrow(/JSON \(exec\) form/);
  });

  it("fails on RUN flags it cannot honour", () => {
    expect(() => productionStage(minimal("RUN --mount=type=cache,target=/root/.npm npm cache clean --force"))).toThrow(
      /line 5: RUN flags are not understood/,
    );
  });

  it("reads exec-form strings with spaces and continuations", () => {
    const stage = productionStage(minimal('CMD ["a b", \\\n  "c"]\nCOPY ["x y", "z/"]'));
    expect(stage.cmd).toEqual(["a b", "c"]);
    expect(stage.steps).toMatchObject([{ kind: "copy", copy: { sources: ["x y"], dest: "z/" }, destPath: "/z/" }]);
  });

  it("resolves COPY destinations against the WORKDIR in force and reads ENV in both forms", () => {
    const stage = productionStage(minimal('WORKDIR /srv\nCOPY a b/\nWORKDIR sub\nCOPY c d\nENV A="x y" B=2\nENV C 3'));
    expect(stage.steps.map((s) => ("destPath" in s ? s.destPath : ""))).toEqual(["/srv/b/", "/srv/sub/d"]);
    expect(stage.env).toEqual([
      ["A", "x y"],
      ["B", "2"],
      ["C", "3"],
    ]);
  });
});

describe("parseDockerfile", () => {
  it("joins continuation lines, skips comments and keeps the first line number", () => {
    const file = parseDockerfile("FROM x\n# c\nRUN npm ci --omit=dev \\\n  # inside\n  --ignore-scripts\nUSER 1\n");
    expect(file.stages[0]?.instructions.map(({ line, keyword, args }) => ({ line, keyword, args }))).toEqual([
      { line: 3, keyword: "RUN", args: "npm ci --omit=dev --ignore-scripts" },
      { line: 6, keyword: "USER", args: "1" },
    ]);
  });

  it("honours the escape directive", () => {
    const file = parseDockerfile("# escape=`\nFROM x\nRUN npm ci `\n  --omit=dev\nWORKDIR C:\\app\n");
    expect(file.stages[0]?.instructions.map((i) => [i.line, i.args])).toEqual([
      [3, "npm ci --omit=dev"],
      [5, "C:\\app"],
    ]);
  });

  it("fails with the line number on a heredoc", () => {
    expect(() => parseDockerfile("FROM x\nRUN <<EOF\necho hi\nEOF\n")).toThrow(/line 2: RUN with a heredoc/);
  });

  it("lists the production stage's COPY lines with sources, destination and stage", () => {
    expect(productionCopies(dockerfile)).toContainEqual({
      line: expect.any(Number) as unknown,
      sources: ["/app/dist/"],
      dest: "dist/",
      from: "build",
    });
  });
});
