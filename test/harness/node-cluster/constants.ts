/** Fixed names, addresses and paths of the one single-node cluster a machine can run (see docs/adr/0019). */

/** The node's name in the API (kubelet --hostname-override, kube-proxy hostnameOverride, its certs). */
export const NODE_NAME = "k8s-node";
/** A port-less bridge holding the node IP: the apiserver and kubelet listen here, never on the external link. */
export const NODE_BRIDGE = "k8s-node0";
export const NODE_IP = "10.200.0.1";
export const NODE_CIDR = "10.200.0.1/24";
export const NODE_SUBNET = "10.200.0.0/24";
/** The CNI bridge of the pods (the bridge plugin creates it on the first pod). */
export const POD_BRIDGE = "cni0";
export const POD_CIDR = "10.88.0.0/16";
export const POD_GATEWAY = "10.88.0.1";
/** Service IPs are routed to the node bridge, so they never leave by the default route. */
export const SERVICE_CIDR = "10.96.0.0/16";
export const KUBERNETES_SERVICE_IP = "10.96.0.1";
export const API_PORT = 6443;
export const KUBELET_PORT = 10250;
export const ETCD_CLIENT_URL = "http://127.0.0.1:2379";
export const ETCD_PEER_URL = "http://127.0.0.1:2380";
/** The nft table that keeps forwarding inside cni0 and drops traffic to cluster addresses from other links. */
export const GUARD_TABLE = "k8s_node_guard";
export const SANDBOX_IMAGE = "localhost/k8s-pause:1";

export const CONTAINERD_SOCKET = "/run/containerd/containerd.sock";
export const KUBELET_ROOT = "/var/lib/kubelet";
export const CNI_BIN_DIR = "/usr/lib/cni";
export const RUNC = "/usr/sbin/runc";

/** Lock, owner and state files: one cluster per machine; the state file outlives a crashed run. */
export const LOCK_FILE = "/run/routewise-cluster.lock";
export const STATE_FILE = "/run/routewise-cluster.state.json";

/**
 * Host paths the runtime, kubelet and CNI create; each is removed on restore unless it existed before.
 * containerd's `opt` plugin is pointed under /var/lib/containerd and the apiserver's cert dir under the cluster
 * dir, so /opt/containerd and /var/run/kubernetes are never created.
 */
export const RUNTIME_PATHS = [
  KUBELET_ROOT,
  "/var/lib/containerd",
  "/run/containerd",
  "/var/lib/cni",
  "/var/log/pods",
  "/var/log/containers",
  "/run/netns",
] as const;

/** Mount points under these prefixes that were not there before belong to the cluster. */
export const MOUNT_PREFIXES = [KUBELET_ROOT, "/var/lib/containerd", "/run/containerd", "/run/netns/cni-"] as const;

/** Sysctls the kubelet, CNI bridge plugin or kube-proxy may change; recorded before start and written back. */
export const RESTORED_SYSCTLS = [
  "kernel.panic",
  "kernel.panic_on_oops",
  "vm.overcommit_memory",
  "vm.panic_on_oom",
  "kernel.keys.root_maxkeys",
  "kernel.keys.root_maxbytes",
  "net.ipv4.ip_forward",
  "net.ipv4.conf.all.forwarding",
  "net.ipv4.conf.default.forwarding",
  "net.ipv6.conf.all.forwarding",
  "net.ipv4.conf.all.route_localnet",
  "net.bridge.bridge-nf-call-iptables",
  "net.bridge.bridge-nf-call-ip6tables",
  "net.netfilter.nf_conntrack_max",
  "net.netfilter.nf_conntrack_tcp_timeout_established",
  "net.netfilter.nf_conntrack_tcp_timeout_close_wait",
] as const;

/** The kubelet writes these once at start; they are put back at once (a kernel oops must not reboot the VM). */
export const PANIC_SYSCTLS = ["kernel.panic", "kernel.panic_on_oops"] as const;

/** Daemons of the cluster, in start order; stopped in reverse. */
export const DAEMONS = [
  "etcd",
  "kube-apiserver",
  "kube-controller-manager",
  "kube-scheduler",
  "containerd",
  "kubelet",
  "kube-proxy",
] as const;
export type DaemonName = (typeof DAEMONS)[number];

/** Binaries the cluster needs from the tools dir (plus runc and the CNI plugins from Debian). */
export const REQUIRED_TOOLS = [...DAEMONS, "ctr", "containerd-shim-runc-v2", "kubectl"] as const;
