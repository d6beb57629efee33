/**
 * The contract between the lab's HTTP API (lab/api) and the machinery that makes a droplet a real
 * Debian system (lab/droplets). The API owns ids, states and actions; the runtime owns processes,
 * namespaces, disks and archives.
 */

/** What a droplet boots from. */
export type ImageSource =
  | { kind: 'distribution'; slug: string } // a cached base tree, e.g. debian-12-x64
  | { kind: 'snapshot'; archivePath: string }; // an archive written by RunningDroplet.snapshot

export interface DropletBootSpec {
  /** Unique among all lab droplets on this machine; used for the machine, netns and cgroup names. */
  machineName: string;
  hostname: string;
  image: ImageSource;
  /** Size of the droplet's bounded disk. */
  diskGiB: number;
  /** cloud-init NoCloud instance id: new for every droplet, so per-instance scripts run again. */
  instanceId: string;
  /** OpenSSH public keys (one line each) for root's authorized_keys, via cloud-init. */
  authorizedKeys: string[];
  /** Passed to cloud-init untouched (may be undefined). */
  userData?: string;
}

export interface DropletExit {
  /** 'poweroff' when the system shut itself down, 'killed' when powered off from outside. */
  reason: 'poweroff' | 'reboot' | 'killed' | 'crashed';
  code: number | null;
}

export interface RunningDroplet {
  readonly machineName: string;
  /** The address the host reaches the droplet at (reported as its public IPv4). */
  readonly ipv4: string;
  /**
   * A second address on the droplet's eth0, also reachable from the host (reported as its private
   * IPv4 when the droplet has private networking): a client that connects here is told apart.
   */
  readonly privateIpv4?: string;
  /** Resolves once sshd accepts TCP connections on port 22. */
  readonly booted: Promise<void>;
  /** Resolves when the droplet's init exits for any reason (inside shutdown, power off, crash). */
  readonly exited: Promise<DropletExit>;
  /** Graceful: ask systemd to power off; resolves when it has (or rejects after timeoutMs). */
  shutdown(timeoutMs?: number): Promise<void>;
  /** Hard power off: kill the container. Resolves when it is down. */
  powerOff(): Promise<void>;
  /** Boot again after it went off (same disk, same instance id). */
  powerOn(): Promise<void>;
  /** Archive the powered-off droplet's filesystem to archivePath. Rejects if it is running. */
  snapshot(archivePath: string): Promise<{ sizeBytes: number }>;
  /** Power off if needed and remove everything: processes, netns, veth, mounts, cgroups, disk. */
  destroy(): Promise<void>;
}

export interface DropletRuntime {
  /** Starts creating and booting a droplet; returns as soon as its address is known. */
  create(spec: DropletBootSpec): Promise<RunningDroplet>;
  /** Distribution slugs whose base trees are ready. */
  availableDistributions(): Promise<string[]>;
}
