/**
 * Leader election on a coordination.k8s.io Lease, so two operator replicas never both write. The holder renews
 * every retryPeriod; a lease not renewed for leaseDuration can be taken over (optimistic concurrency on
 * resourceVersion decides races). On shutdown the holder clears the lease so a successor takes over at once.
 * The holder names the gateways it programs as the Lease's owners, so deleting them (helm uninstall deletes the
 * chart's) garbage-collects the Lease with the gateways' ConfigMap and Secret.
 */
import { CoordinationV1Api, type KubeConfig, type V1Lease, type V1OwnerReference } from "@kubernetes/client-node";
import { isConflict, isNotFound } from "./kube.js";

export interface LeaderOptions {
  namespace: string;
  name: string;
  identity: string;
  leaseDurationMs: number;
  retryPeriodMs: number;
  now: () => Date;
  onError?: (err: unknown) => void;
  /** The Lease's owners (the gateways this operator programs); none known yet keeps the Lease's as they are. */
  owners?: () => V1OwnerReference[];
}

export class LeaderElector {
  private readonly api: CoordinationV1Api;
  private timer: NodeJS.Timeout | null = null;
  private leading = false;
  private stopped = false;
  private lastRenew = 0;
  private waiting = false;

  constructor(
    kc: KubeConfig,
    private readonly o: LeaderOptions,
  ) {
    this.api = kc.makeApiClient(CoordinationV1Api);
  }

  /** Resolves once this replica leads; afterwards calls onLost if the lease cannot be renewed. */
  async run(onLost: () => void): Promise<void> {
    for (;;) {
      if (this.stopped) throw new Error("leader election stopped");
      const acquired = await this.tryAcquireOrRenew().then(
        (ok) => {
          this.waiting = !ok && !this.stopped;
          return ok;
        },
        (err: unknown) => {
          this.waiting = false;
          this.o.onError?.(err);
          return false;
        },
      );
      if (acquired) break;
      await new Promise((r) => setTimeout(r, this.o.retryPeriodMs));
    }
    this.waiting = false;
    this.leading = true;
    this.lastRenew = Date.now();
    this.timer = setInterval(() => void this.renew(onLost), this.o.retryPeriodMs);
  }

  /**
   * A standby: its last attempt reached the API and found the Lease held by another replica. Such a replica is
   * ready to take over, so its /readyz says ready (a Deployment of two operators would otherwise never finish a
   * rollout, and `helm install --wait` would time out).
   */
  get standingBy(): boolean {
    return this.waiting && !this.stopped;
  }

  private async renew(onLost: () => void): Promise<void> {
    if (this.stopped) return;
    const ok = await this.tryAcquireOrRenew().catch((err: unknown) => {
      this.o.onError?.(err);
      return false;
    });
    if (ok) this.lastRenew = Date.now();
    else if (Date.now() - this.lastRenew > this.o.leaseDurationMs * 0.66 && this.leading) {
      this.leading = false;
      if (this.timer) clearInterval(this.timer);
      onLost();
    }
  }

  /** Stops renewing and, when leading, releases the lease; rejects when the release fails. */
  async release(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (!this.leading) return;
    this.leading = false;
    const lease = await this.read();
    if (lease?.spec?.holderIdentity !== this.o.identity) return;
    lease.spec.holderIdentity = "";
    lease.spec.leaseDurationSeconds = 1;
    try {
      await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
    } catch (err) {
      // A conflict means the Lease changed since the read above: it is no longer this replica's to release.
      if (!isConflict(err)) throw err;
    }
  }

  private async tryAcquireOrRenew(): Promise<boolean> {
    const now = new MicroTime(this.o.now().getTime());
    const lease = await this.read();
    // A renewal racing with release() must not take the lease back.
    if (this.stopped) return false;
    const spec = {
      holderIdentity: this.o.identity,
      leaseDurationSeconds: Math.ceil(this.o.leaseDurationMs / 1000),
      renewTime: now,
    };
    if (!lease) {
      await this.create({ ...spec, acquireTime: now, leaseTransitions: 0 });
      return true;
    }
    const holder = lease.spec?.holderIdentity ?? "";
    if (holder !== this.o.identity && holder !== "" && !expired(lease, now)) return false;
    lease.spec = renewedSpec(lease, spec, holder === this.o.identity, now);
    this.setOwners(lease);
    try {
      await this.api.replaceNamespacedLease({ name: this.o.name, namespace: this.o.namespace, body: lease });
      return true;
    } catch (err) {
      if (isConflict(err)) return false;
      throw err;
    }
  }

  private async create(spec: NonNullable<V1Lease["spec"]>): Promise<void> {
    const body: V1Lease = { metadata: { name: this.o.name, namespace: this.o.namespace }, spec };
    this.setOwners(body);
    await this.api.createNamespacedLease({ namespace: this.o.namespace, body });
  }

  /** Names the current owners on the Lease; while none are known (no gateway yet) it keeps those it has. */
  private setOwners(lease: V1Lease): void {
    const owners = this.o.owners?.() ?? [];
    if (owners.length === 0) return;
    lease.metadata ??= {};
    lease.metadata.ownerReferences = owners;
  }

  private async read(): Promise<V1Lease | null> {
    try {
      return await this.api.readNamespacedLease({ name: this.o.name, namespace: this.o.namespace });
    } catch (err) {
      if (isNotFound(err)) return null;
      throw err;
    }
  }
}

/** The Lease's spec renewed by this replica; taking it over from another holder counts a transition. */
function renewedSpec(
  lease: V1Lease,
  spec: { holderIdentity: string; leaseDurationSeconds: number; renewTime: MicroTime },
  renewing: boolean,
  now: MicroTime,
): NonNullable<V1Lease["spec"]> {
  return {
    ...Object.fromEntries(Object.entries(lease.spec ?? {})),
    ...spec,
    leaseTransitions: (lease.spec?.leaseTransitions ?? 0) + (renewing ? 0 : 1),
    ...(renewing ? {} : { acquireTime: now }),
  };
}

/**
 * Lease times are MicroTime: the API server wants exactly six fractional digits, but client-node serialises
 * Dates with three ("parsing time ... cannot parse ".125Z" as ".000000""). This Date prints six.
 */
export class MicroTime extends Date {
  override toISOString(): string {
    return super.toISOString().replace(/\.(\d{3})Z$/, ".$1000Z");
  }
}

function expired(lease: V1Lease, now: Date): boolean {
  const renew = lease.spec?.renewTime;
  if (!renew) return true;
  const durationMs = (lease.spec?.leaseDurationSeconds ?? 15) * 1000;
  return new Date(renew).getTime() + durationMs < now.getTime();
}
