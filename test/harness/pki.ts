import { execFile } from "node:child_process";
import { generateKeyPairSync } from "node:crypto";
import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { promisify } from "node:util";
import { HarnessError } from "./tools.js";

const execFileAsync = promisify(execFile);
const CURVE = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
const DAYS = ["-days", "7"];

/** Paths (and the PEMs clients need) of a throwaway PKI for one control plane. */
export interface ControlPlanePki {
  readonly servingCaCertPath: string;
  readonly servingCertPath: string;
  readonly servingKeyPath: string;
  readonly clientCaCertPath: string;
  readonly serviceAccountPublicKeyPath: string;
  readonly serviceAccountPrivateKeyPath: string;
  readonly caCertPem: string;
  readonly adminCertPem: string;
  readonly adminKeyPem: string;
  /** Client cert of kube-controller-manager (CN=system:kube-controller-manager, O=system:masters). */
  readonly controllerManagerCertPem: string;
  readonly controllerManagerKeyPem: string;
}

async function openssl(args: readonly string[], cwd: string): Promise<void> {
  try {
    await execFileAsync("openssl", args, { cwd });
  } catch (error) {
    const stderr = error instanceof Error && "stderr" in error ? String(error.stderr) : "";
    throw new HarnessError(`openssl ${args.join(" ")} failed: ${stderr.trim()}`, { cause: error });
  }
}

/** A self-signed EC CA `<name>.crt`/`<name>.key` in `dir`. */
export async function selfSignedCa(dir: string, name: string, subject: string): Promise<void> {
  await openssl(
    ["req", "-x509", ...CURVE, "-keyout", `${name}.key`, "-out", `${name}.crt`, ...DAYS, "-subj", subject],
    dir,
  );
}

/** A leaf certificate signed by the CA `<ca>.crt`/`<ca>.key` in the same dir; extensions in openssl's extfile syntax. */
export interface LeafSpec {
  readonly name: string;
  readonly ca: string;
  readonly subject: string;
  readonly extensions: string;
}

/** Writes `<name>.key`, `<name>.crt` (and a CSR) in `dir`, signed by `leaf.ca`. */
export async function signedLeaf(dir: string, leaf: LeafSpec): Promise<void> {
  const ext = `${leaf.name}.ext`;
  await writeFile(join(dir, ext), leaf.extensions);
  await openssl(
    ["req", ...CURVE, "-keyout", `${leaf.name}.key`, "-out", `${leaf.name}.csr`, "-subj", leaf.subject],
    dir,
  );
  await openssl(
    ["x509", "-req", "-in", `${leaf.name}.csr`, "-CA", `${leaf.ca}.crt`, "-CAkey", `${leaf.ca}.key`].concat([
      "-CAcreateserial",
      "-CAserial",
      `${leaf.ca}.srl`,
      ...DAYS,
      "-extfile",
      ext,
      "-out",
      `${leaf.name}.crt`,
    ]),
    dir,
  );
}

/** An ES256 service-account signing key pair: `sa.key` and `sa.pub` in `dir`. */
export async function serviceAccountKeys(dir: string): Promise<void> {
  const { privateKey, publicKey } = generateKeyPairSync("ec", {
    namedCurve: "P-256",
    privateKeyEncoding: { type: "pkcs8", format: "pem" },
    publicKeyEncoding: { type: "spki", format: "pem" },
  });
  await writeFile(join(dir, "sa.key"), privateKey, { mode: 0o600 });
  await writeFile(join(dir, "sa.pub"), publicKey);
}

/** openssl extfile lines of a TLS client certificate. */
export const CLIENT_EXTENSIONS = "extendedKeyUsage=clientAuth\nkeyUsage=digitalSignature,keyEncipherment\n";

/**
 * Creates, in `dir`, a serving CA with a cert for 127.0.0.1/localhost, a separate client CA with an
 * admin client cert (CN=admin, O=system:masters) and a kube-controller-manager client cert, and an ES256
 * service-account signing key pair.
 *
 * The controller-manager's cert is in system:masters too: it runs with --use-service-account-credentials=false,
 * so the garbage collector and the namespace controller act with its own identity and must be able to list, watch
 * and delete every resource, including CRDs created later. Its own CN keeps its requests apart from the tests' in
 * the apiserver's logs.
 */
export async function createPki(dir: string): Promise<ControlPlanePki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await selfSignedCa(dir, "serving-ca", "/O=routewise-test/CN=routewise-serving-ca");
  await selfSignedCa(dir, "client-ca", "/O=routewise-test/CN=routewise-client-ca");
  await signedLeaf(dir, {
    name: "apiserver",
    ca: "serving-ca",
    subject: "/O=routewise-test/CN=localhost",
    extensions:
      "subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n",
  });
  await signedLeaf(dir, {
    name: "admin",
    ca: "client-ca",
    subject: "/O=system:masters/CN=admin",
    extensions: CLIENT_EXTENSIONS,
  });
  await signedLeaf(dir, {
    name: "kube-controller-manager",
    ca: "client-ca",
    subject: "/O=system:masters/CN=system:kube-controller-manager",
    extensions: CLIENT_EXTENSIONS,
  });
  await serviceAccountKeys(dir);
  const read = (file: string): Promise<string> => readFile(join(dir, file), "utf8");
  return {
    servingCaCertPath: join(dir, "serving-ca.crt"),
    servingCertPath: join(dir, "apiserver.crt"),
    servingKeyPath: join(dir, "apiserver.key"),
    clientCaCertPath: join(dir, "client-ca.crt"),
    serviceAccountPublicKeyPath: join(dir, "sa.pub"),
    serviceAccountPrivateKeyPath: join(dir, "sa.key"),
    caCertPem: await read("serving-ca.crt"),
    adminCertPem: await read("admin.crt"),
    adminKeyPem: await read("admin.key"),
    controllerManagerCertPem: await read("kube-controller-manager.crt"),
    controllerManagerKeyPem: await read("kube-controller-manager.key"),
  };
}
