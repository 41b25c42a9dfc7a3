import { mkdir, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { stringify } from "yaml";
import {
  API_PORT,
  CNI_BIN_DIR,
  CNI_DATA_DIR,
  CNI_NETWORK,
  CONTAINERD_ROOT,
  CONTAINERD_SOCKET,
  CONTAINERD_STATE,
  ETCD_CLIENT_URL,
  ETCD_PEER_URL,
  KUBELET_PORT,
  KUBELET_ROOT,
  NODE_IP,
  NODE_NAME,
  POD_BRIDGE,
  POD_LOGS_DIR,
  POD_CIDR,
  POD_GATEWAY,
  RUNC,
  SANDBOX_IMAGE,
  SERVICE_CIDR,
  type DaemonName,
} from "./constants.js";
import type { ClusterPki } from "./pki.js";

/** Where a cluster's files live: `<dir>/etc` (configs), `<dir>/data` (etcd), `<dir>/logs`, `<dir>/pki`. */
export interface ClusterPaths {
  readonly dir: string;
  readonly etc: string;
  readonly data: string;
  readonly logs: string;
  readonly pki: string;
}

export function clusterPaths(dir: string): ClusterPaths {
  return { dir, etc: join(dir, "etc"), data: join(dir, "data"), logs: join(dir, "logs"), pki: join(dir, "pki") };
}

/**
 * containerd 1.6 (Debian's package), config schema v2. restrict_oom_score_adj: this VM's init drops
 * CAP_SYS_RESOURCE, so runc cannot set the negative oom_score_adj Kubernetes asks for (-998 on pause containers);
 * containerd clamps it to its own (0). Root, state, socket and the pods' network namespaces
 * (netns_mounts_under_state_dir) are our own, so a system containerd may keep running; the opt plugin stays under
 * our root instead of /opt/containerd; the streaming server (exec, logs, port-forward) binds to loopback.
 */
export function containerdConfig(paths: ClusterPaths): string {
  const cri = 'plugins."io.containerd.grpc.v1.cri"';
  return `version = 2
root = "${CONTAINERD_ROOT}"
state = "${CONTAINERD_STATE}"
disabled_plugins = ["io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs"]

[grpc]
  address = "${CONTAINERD_SOCKET}"

[debug]
  level = "info"

[plugins."io.containerd.internal.v1.opt"]
  path = "${CONTAINERD_ROOT}/opt"

[${cri}]
  sandbox_image = "${SANDBOX_IMAGE}"
  restrict_oom_score_adj = true
  enable_selinux = false
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  netns_mounts_under_state_dir = true

[${cri}.containerd]
  snapshotter = "overlayfs"
  default_runtime_name = "runc"

[${cri}.containerd.runtimes.runc]
  runtime_type = "io.containerd.runc.v2"

[${cri}.containerd.runtimes.runc.options]
  BinaryName = "${RUNC}"
  SystemdCgroup = false

[${cri}.cni]
  bin_dir = "${CNI_BIN_DIR}"
  conf_dir = "${join(paths.etc, "cni", "net.d")}"
  max_conf_num = 1
`;
}

/** The bridge CNI: pods on POD_BRIDGE (POD_CIDR); no masquerading (nothing leaves the machine anyway). */
export function cniConfig(): string {
  return `${JSON.stringify(
    {
      cniVersion: "1.0.0",
      name: CNI_NETWORK,
      plugins: [
        {
          type: "bridge",
          bridge: POD_BRIDGE,
          isGateway: true,
          ipMasq: false,
          hairpinMode: true,
          ipam: {
            type: "host-local",
            dataDir: `${CNI_DATA_DIR}/networks`,
            ranges: [[{ subnet: POD_CIDR, gateway: POD_GATEWAY }]],
            routes: [{ dst: "0.0.0.0/0" }],
          },
        },
        { type: "portmap", capabilities: { portMappings: true } },
      ],
    },
    null,
    2,
  )}\n`;
}

/**
 * failCgroupV1: false — the VM mounts cgroup v1 (hybrid) and kubelet 1.35 refuses v1 by default. cgroupfs: no
 * systemd. It listens on the node IP only; healthz on loopback. syncFrequency 10 s so ConfigMap volumes follow
 * within seconds.
 */
export function kubeletConfig(pki: ClusterPki): string {
  return stringify({
    apiVersion: "kubelet.config.k8s.io/v1beta1",
    kind: "KubeletConfiguration",
    failCgroupV1: false,
    cgroupDriver: "cgroupfs",
    containerRuntimeEndpoint: `unix://${CONTAINERD_SOCKET}`,
    podLogsDir: POD_LOGS_DIR,
    address: NODE_IP,
    port: KUBELET_PORT,
    readOnlyPort: 0,
    healthzBindAddress: "127.0.0.1",
    healthzPort: 10248,
    tlsCertFile: pki.cert("kubelet-serving"),
    tlsPrivateKeyFile: pki.key("kubelet-serving"),
    authentication: { anonymous: { enabled: false }, webhook: { enabled: true }, x509: { clientCAFile: pki.caCert } },
    authorization: { mode: "Webhook" },
    clusterDomain: "cluster.local",
    resolvConf: "/etc/resolv.conf",
    failSwapOn: false,
    rotateCertificates: false,
    serverTLSBootstrap: false,
    syncFrequency: "10s",
    configMapAndSecretChangeDetectionStrategy: "Watch",
    evictionHard: { "memory.available": "200Mi", "nodefs.available": "5%", "imagefs.available": "5%" },
    imageGCHighThresholdPercent: 95,
    imageGCLowThresholdPercent: 90,
  });
}

/**
 * nftables mode: kube-proxy keeps its rules in its own tables (ip/ip6 kube-proxy), which go whole on restore.
 * NodePorts only on the node IP; conntrack sysctls left alone; no route_localnet.
 */
export function kubeProxyConfig(pki: ClusterPki): string {
  return stringify({
    apiVersion: "kubeproxy.config.k8s.io/v1alpha1",
    kind: "KubeProxyConfiguration",
    clientConnection: { kubeconfig: pki.kubeconfigs["kube-proxy"] },
    hostnameOverride: NODE_NAME,
    mode: "nftables",
    clusterCIDR: POD_CIDR,
    bindAddress: NODE_IP,
    healthzBindAddress: "127.0.0.1:10256",
    metricsBindAddress: "127.0.0.1:10249",
    nodePortAddresses: [`${NODE_IP}/32`],
    iptables: { localhostNodePorts: false },
    conntrack: { maxPerCore: 0, min: 0, tcpEstablishedTimeout: "0s", tcpCloseWaitTimeout: "0s" },
  });
}

/** Writes every config file; returns their paths. */
export async function writeConfigs(
  paths: ClusterPaths,
  pki: ClusterPki,
): Promise<{ containerd: string; kubelet: string; kubeProxy: string }> {
  await mkdir(join(paths.etc, "cni", "net.d"), { recursive: true });
  const files = {
    containerd: join(paths.etc, "containerd.toml"),
    kubelet: join(paths.etc, "kubelet-config.yaml"),
    kubeProxy: join(paths.etc, "kube-proxy-config.yaml"),
  };
  await writeFile(files.containerd, containerdConfig(paths));
  await writeFile(join(paths.etc, "cni", "net.d", "10-k8s-node.conflist"), cniConfig());
  await writeFile(files.kubelet, kubeletConfig(pki));
  await writeFile(files.kubeProxy, kubeProxyConfig(pki));
  return files;
}

function etcdArgs(paths: ClusterPaths): string[] {
  return [
    "--name=k8s-node",
    `--data-dir=${join(paths.data, "etcd")}`,
    `--listen-client-urls=${ETCD_CLIENT_URL}`,
    `--advertise-client-urls=${ETCD_CLIENT_URL}`,
    `--listen-peer-urls=${ETCD_PEER_URL}`,
    `--initial-advertise-peer-urls=${ETCD_PEER_URL}`,
    `--initial-cluster=k8s-node=${ETCD_PEER_URL}`,
    "--unsafe-no-fsync=true",
    "--listen-metrics-urls=",
    "--log-level=warn",
  ];
}

function apiServerArgs(paths: ClusterPaths, pki: ClusterPki): string[] {
  return [
    `--etcd-servers=${ETCD_CLIENT_URL}`,
    `--bind-address=${NODE_IP}`,
    `--advertise-address=${NODE_IP}`,
    `--secure-port=${API_PORT}`,
    `--cert-dir=${join(paths.data, "apiserver")}`,
    `--tls-cert-file=${pki.cert("apiserver")}`,
    `--tls-private-key-file=${pki.key("apiserver")}`,
    `--client-ca-file=${pki.caCert}`,
    `--kubelet-client-certificate=${pki.cert("apiserver-kubelet-client")}`,
    `--kubelet-client-key=${pki.key("apiserver-kubelet-client")}`,
    `--kubelet-certificate-authority=${pki.caCert}`,
    "--kubelet-preferred-address-types=InternalIP",
    "--authorization-mode=Node,RBAC",
    "--enable-admission-plugins=NodeRestriction",
    "--service-account-issuer=https://kubernetes.default.svc.cluster.local",
    `--service-account-key-file=${join(pki.dir, "sa.pub")}`,
    `--service-account-signing-key-file=${join(pki.dir, "sa.key")}`,
    `--requestheader-client-ca-file=${pki.frontProxyCaCert}`,
    "--requestheader-allowed-names=front-proxy-client",
    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
    "--requestheader-group-headers=X-Remote-Group",
    "--requestheader-username-headers=X-Remote-User",
    `--proxy-client-cert-file=${pki.cert("front-proxy-client")}`,
    `--proxy-client-key-file=${pki.key("front-proxy-client")}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    "--allow-privileged=true",
    "--profiling=false",
  ];
}

/** What kube-controller-manager and kube-scheduler share: their identity, a loopback secure port, no election. */
function componentArgs(
  name: "kube-controller-manager" | "kube-scheduler",
  paths: ClusterPaths,
  pki: ClusterPki,
): string[] {
  const kubeconfig = pki.kubeconfigs[name];
  return [
    `--kubeconfig=${kubeconfig}`,
    `--authentication-kubeconfig=${kubeconfig}`,
    `--authorization-kubeconfig=${kubeconfig}`,
    "--bind-address=127.0.0.1",
    `--cert-dir=${join(paths.data, name)}`,
    "--leader-elect=false",
  ];
}

function controllerManagerArgs(paths: ClusterPaths, pki: ClusterPki): string[] {
  return [
    ...componentArgs("kube-controller-manager", paths, pki),
    "--use-service-account-credentials=true",
    `--service-account-private-key-file=${join(pki.dir, "sa.key")}`,
    `--root-ca-file=${pki.caCert}`,
    `--cluster-signing-cert-file=${pki.caCert}`,
    `--cluster-signing-key-file=${pki.caKey}`,
    `--service-cluster-ip-range=${SERVICE_CIDR}`,
    `--cluster-cidr=${POD_CIDR}`,
    "--profiling=false",
  ];
}

function schedulerArgs(paths: ClusterPaths, pki: ClusterPki): string[] {
  return [...componentArgs("kube-scheduler", paths, pki), "--profiling=false"];
}

/** The command line of each daemon (after its binary). */
export function daemonArgs(
  paths: ClusterPaths,
  pki: ClusterPki,
  files: { containerd: string; kubelet: string; kubeProxy: string },
): Record<DaemonName, string[]> {
  return {
    etcd: etcdArgs(paths),
    "kube-apiserver": apiServerArgs(paths, pki),
    "kube-controller-manager": controllerManagerArgs(paths, pki),
    "kube-scheduler": schedulerArgs(paths, pki),
    containerd: ["--config", files.containerd],
    kubelet: [
      `--config=${files.kubelet}`,
      `--kubeconfig=${pki.kubeconfigs.kubelet}`,
      `--root-dir=${KUBELET_ROOT}`,
      `--node-ip=${NODE_IP}`,
      `--hostname-override=${NODE_NAME}`,
      "--v=2",
    ],
    "kube-proxy": [`--config=${files.kubeProxy}`],
  };
}
