/** Fixed names, addresses and paths of the one single-node cluster a machine can run (see docs/adr/0019). */

/** The node's name in the API (kubelet --hostname-override, kube-proxy hostnameOverride, its certs). */
export const NODE_NAME = "k8s-node";
/** A port-less bridge holding the node IP: the apiserver and kubelet listen here, never on the external link. */
export const NODE_BRIDGE = "k8s-node0";
export const NODE_IP = "10.200.0.1";
export const NODE_CIDR = "10.200.0.1/24";
export const NODE_SUBNET = "10.200.0.0/24";
/**
 * The CNI bridge of the pods (the bridge plugin creates it on the first pod). Not `cni0`: flannel (k3s) uses that
 * name, and the bridge plugin would join an existing bridge of that name.
 */
export const POD_BRIDGE = "rw-pods0";
/** Not 10.88.0.0/16: that is podman's default network (cni-podman0 / podman0). */
export const POD_CIDR = "10.201.0.0/16";
export const POD_GATEWAY = "10.201.0.1";
/** Service IPs are routed to the node bridge, so they never leave by the default route. */
export const SERVICE_CIDR = "10.96.0.0/16";
export const KUBERNETES_SERVICE_IP = "10.96.0.1";
export const API_PORT = 6443;
export const KUBELET_PORT = 10250;
export const ETCD_CLIENT_URL = "http://127.0.0.1:2379";
export const ETCD_PEER_URL = "http://127.0.0.1:2380";
/** The CNI network name (host-local keeps its leases under CNI_DATA_DIR/networks/<name>). */
export const CNI_NETWORK = "routewise-k8s-node";
/** The nft table that keeps forwarding inside the pod bridge and drops traffic to cluster addresses from other links. */
export const GUARD_TABLE = "k8s_node_guard";
export const SANDBOX_IMAGE = "localhost/k8s-pause:1";

/**
 * Our containerd has a root, state dir and socket of its own, so a system containerd (Docker's, k3s's) may keep
 * running: nothing of ours is under /var/lib/containerd or /run/containerd. Network namespaces go under its state
 * dir too (netns_mounts_under_state_dir), not /run/netns.
 */
export const CONTAINERD_ROOT = "/var/lib/routewise-containerd";
export const CONTAINERD_STATE = "/run/routewise-containerd";
export const CONTAINERD_SOCKET = `${CONTAINERD_STATE}/containerd.sock`;
/** Not /var/lib/kubelet and /var/log/pods: another kubelet (k3s, kubeadm) owns those. */
export const KUBELET_ROOT = "/var/lib/routewise-kubelet";
export const POD_LOGS_DIR = "/var/log/routewise-pods";
/** The kubelet's fixed symlink dir; only our links (into POD_LOGS_DIR) are removed from it. */
export const CONTAINER_LOGS_DIR = "/var/log/containers";
/** host-local's lease dir (its default /var/lib/cni is shared with podman's CNI networks). */
export const CNI_DATA_DIR = "/var/lib/routewise-cni";
/** libcni's result cache (not configurable in containerd 1.6): only CNI_NETWORK's files are removed from it. */
export const CNI_CACHE_DIR = "/var/lib/cni";
export const CNI_BIN_DIR = "/usr/lib/cni";
export const RUNC = "/usr/sbin/runc";

/** Lock, owner and state files: one cluster per machine; the state file outlives a crashed run. */
export const LOCK_FILE = "/run/routewise-cluster.lock";
export const STATE_FILE = "/run/routewise-cluster.state.json";

/**
 * Host paths only the cluster uses; each is removed on restore unless it existed before. containerd's `opt`
 * plugin is pointed under its root and the apiserver's cert dir under the cluster dir, so /opt/containerd and
 * /var/run/kubernetes are never created. /var/lib/cni (libcni's cache) and /var/log/containers are shared: only
 * our files go from them, and the dir itself when it did not exist before and is empty.
 */
export const RUNTIME_PATHS = [KUBELET_ROOT, CONTAINERD_ROOT, CONTAINERD_STATE, CNI_DATA_DIR, POD_LOGS_DIR] as const;
export const SHARED_PATHS = [CNI_CACHE_DIR, CONTAINER_LOGS_DIR] as const;

/** Our roots: a mount point at or below one of these that was not there before belongs to the cluster. */
export const MOUNT_ROOTS = [KUBELET_ROOT, CONTAINERD_ROOT, CONTAINERD_STATE] as const;

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
