import { mkdir, readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import { CLIENT_EXTENSIONS, selfSignedCa, serviceAccountKeys, signedLeaf } from "../pki.js";
import { API_PORT, KUBERNETES_SERVICE_IP, NODE_IP, NODE_NAME } from "./constants.js";

const SERVER_USAGE = "extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n";

/** Client identities with their own kubeconfig: name → subject (O = group, CN = user). */
const CLIENTS = {
  admin: "/O=system:masters/CN=kubernetes-admin",
  "kube-controller-manager": "/CN=system:kube-controller-manager",
  "kube-scheduler": "/CN=system:kube-scheduler",
  "kube-proxy": "/CN=system:kube-proxy",
  kubelet: `/O=system:nodes/CN=system:node:${NODE_NAME}`,
} as const;
export type ClientName = keyof typeof CLIENTS;

/** Paths in the cluster's pki dir. */
export interface ClusterPki {
  readonly dir: string;
  readonly caCert: string;
  readonly caKey: string;
  readonly frontProxyCaCert: string;
  readonly server: string;
  /** kubeconfig path of each client identity. */
  readonly kubeconfigs: Readonly<Record<ClientName, string>>;
  cert(name: string): string;
  key(name: string): string;
}

function base64(text: string): string {
  return Buffer.from(text).toString("base64");
}

/** Kubeconfig YAML with the CA and the client's cert and key embedded (a self-contained file). */
export async function kubeconfigFor(dir: string, name: string, server: string): Promise<string> {
  const read = (file: string): Promise<string> => readFile(join(dir, file), "utf8");
  const user = {
    "client-certificate-data": base64(await read(`${name}.crt`)),
    "client-key-data": base64(await read(`${name}.key`)),
  };
  return stringify({
    apiVersion: "v1",
    kind: "Config",
    clusters: [
      { name: "routewise-node", cluster: { server, "certificate-authority-data": base64(await read("ca.crt")) } },
    ],
    users: [{ name, user }],
    contexts: [{ name: "routewise-node", context: { cluster: "routewise-node", user: name, namespace: "default" } }],
    "current-context": "routewise-node",
  });
}

async function servingCerts(dir: string): Promise<void> {
  const apiNames = [
    "kubernetes",
    "kubernetes.default",
    "kubernetes.default.svc",
    "kubernetes.default.svc.cluster.local",
  ];
  const apiSans = [`IP:${NODE_IP}`, `IP:${KUBERNETES_SERVICE_IP}`, "IP:127.0.0.1", "DNS:localhost"]
    .concat(apiNames.map((n) => `DNS:${n}`))
    .join(",");
  await signedLeaf(dir, {
    name: "apiserver",
    ca: "ca",
    subject: "/CN=kube-apiserver",
    extensions: `subjectAltName=${apiSans}\n${SERVER_USAGE}`,
  });
  await signedLeaf(dir, {
    name: "kubelet-serving",
    ca: "ca",
    subject: `/O=system:nodes/CN=system:node:${NODE_NAME}`,
    extensions: `subjectAltName=IP:${NODE_IP},DNS:${NODE_NAME}\n${SERVER_USAGE}`,
  });
}

/**
 * One CA for the cluster (serving and client certs), a front-proxy CA, the service-account keys, and a
 * kubeconfig per client identity, with the test harness's openssl helpers. The apiserver talks to the kubelet as
 * system:masters (apiserver-kubelet-client); the kubelet is system:node:k8s-node in system:nodes, which the Node
 * authorizer and NodeRestriction expect.
 */
export async function createClusterPki(dir: string): Promise<ClusterPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await selfSignedCa(dir, "ca", "/O=routewise-test/CN=routewise-node-ca");
  await selfSignedCa(dir, "front-proxy-ca", "/O=routewise-test/CN=routewise-front-proxy-ca");
  await servingCerts(dir);
  const client = (name: string, ca: string, subject: string): Promise<void> =>
    signedLeaf(dir, { name, ca, subject, extensions: CLIENT_EXTENSIONS });
  await client("apiserver-kubelet-client", "ca", "/O=system:masters/CN=kube-apiserver-kubelet-client");
  await client("front-proxy-client", "front-proxy-ca", "/CN=front-proxy-client");
  for (const [name, subject] of Object.entries(CLIENTS)) await client(name, "ca", subject);
  await serviceAccountKeys(dir);
  const server = `https://${NODE_IP}:${API_PORT}`;
  const kubeconfigs = {} as Record<ClientName, string>;
  for (const name of Object.keys(CLIENTS) as ClientName[]) {
    const path = join(dir, `${name}.kubeconfig`);
    await writeFile(path, await kubeconfigFor(dir, name, server), { mode: 0o600 });
    kubeconfigs[name] = path;
  }
  return {
    dir,
    caCert: join(dir, "ca.crt"),
    caKey: join(dir, "ca.key"),
    frontProxyCaCert: join(dir, "front-proxy-ca.crt"),
    server,
    kubeconfigs,
    cert: (name) => join(dir, `${name}.crt`),
    key: (name) => join(dir, `${name}.key`),
  };
}
