// Which webhook sinks Herald may call. Link-local addresses and cloud metadata endpoints are
// always refused (they hand out credentials); private networks incl. loopback are allowed unless
// `allowPrivateNetworks: false`; an allow-list, when given, must match every sink. Names are
// resolved before connecting and the checked addresses are the ones connected to (no rebinding).
import { lookup as dnsLookup, type LookupAddress } from "node:dns";
import { BlockList, isIP } from "node:net";
import { isEngineUrl } from "../bridges/engine-url.js";

export interface SinkPolicyOptions {
  /** Host names (`hooks.example.com`, `*.example.com`), IP addresses or CIDR ranges. */
  readonly allowList?: readonly string[];
  /** Loopback, RFC 1918, CGNAT and unique-local addresses. Default true. */
  readonly allowPrivateNetworks?: boolean;
}

export class SinkRefusedError extends Error {
  readonly sink: string;
  constructor(sink: string, reason: string) {
    super(`sink ${sink} refused: ${reason}`);
    this.name = "SinkRefusedError";
    this.sink = sink;
  }
}

const METADATA_HOSTS = new Set(["metadata.google.internal", "metadata.goog", "metadata"]);

const ALWAYS_REFUSED = new BlockList();
ALWAYS_REFUSED.addSubnet("169.254.0.0", 16, "ipv4"); // link-local, incl. 169.254.169.254 metadata
ALWAYS_REFUSED.addSubnet("fe80::", 10, "ipv6"); // link-local
ALWAYS_REFUSED.addAddress("fd00:ec2::254", "ipv6"); // AWS IMDS over IPv6
ALWAYS_REFUSED.addAddress("100.100.100.200", "ipv4"); // Alibaba Cloud metadata

const PRIVATE = new BlockList();
PRIVATE.addSubnet("127.0.0.0", 8, "ipv4");
PRIVATE.addSubnet("0.0.0.0", 8, "ipv4");
PRIVATE.addSubnet("10.0.0.0", 8, "ipv4");
PRIVATE.addSubnet("172.16.0.0", 12, "ipv4");
PRIVATE.addSubnet("192.168.0.0", 16, "ipv4");
PRIVATE.addSubnet("100.64.0.0", 10, "ipv4");
PRIVATE.addAddress("::1", "ipv6");
PRIVATE.addAddress("::", "ipv6");
PRIVATE.addSubnet("fc00::", 7, "ipv6");

type LookupCallback = (
  error: NodeJS.ErrnoException | null,
  address: string | LookupAddress[],
  family?: number,
) => void;

export class SinkPolicy {
  private readonly hostEntries: string[] = [];
  private readonly ranges = new BlockList();
  private readonly hasRanges: boolean;
  private readonly restricted: boolean;
  private readonly allowPrivate: boolean;

  constructor(options: SinkPolicyOptions = {}) {
    this.allowPrivate = options.allowPrivateNetworks ?? true;
    this.restricted = (options.allowList?.length ?? 0) > 0;
    let ranges = 0;
    for (const raw of options.allowList ?? []) {
      const entry = raw.trim().toLowerCase();
      const [net, bits] = entry.split("/");
      const type = isIP(net ?? "");
      if (type !== 0) {
        const family = type === 4 ? "ipv4" : "ipv6";
        if (bits === undefined) this.ranges.addAddress(net!, family);
        else this.ranges.addSubnet(net!, Number(bits), family);
        ranges++;
      } else {
        this.hostEntries.push(entry.replace(/\.$/, ""));
      }
    }
    this.hasRanges = ranges > 0;
  }

  /** Checks the URL itself (scheme, metadata names, IP literals, host allow-list); throws SinkRefusedError. */
  checkUrl(sink: string): URL {
    let url: URL;
    try {
      url = new URL(sink);
    } catch {
      throw new SinkRefusedError(sink, "not a valid URL");
    }
    // Engine sinks (bridges) pass the same host rules; their clients resolve names themselves.
    if (url.protocol !== "http:" && url.protocol !== "https:" && !isEngineUrl(sink)) {
      throw new SinkRefusedError(
        sink,
        "only http, https and engine (nats, amqp, redis, mqtt) sinks are allowed",
      );
    }
    const host = hostOf(url);
    if (METADATA_HOSTS.has(host)) throw new SinkRefusedError(sink, "cloud metadata endpoints are refused");
    if (isIP(host) !== 0) {
      this.checkAddress(sink, host);
      if (this.restricted && !this.hostAllowed(host) && !this.inRanges(host)) {
        throw new SinkRefusedError(sink, "not on the sink allow-list");
      }
    } else if (this.restricted && !this.hostAllowed(host) && !this.hasRanges) {
      throw new SinkRefusedError(sink, "not on the sink allow-list");
    }
    return url;
  }

  /** A `lookup` for node's http(s) client: resolves, refuses disallowed addresses, connects to the checked ones. */
  readonly lookup = (
    hostname: string,
    options: { all?: boolean; family?: number },
    callback: LookupCallback,
  ) => {
    dnsLookup(hostname, { all: true, family: options.family ?? 0 }, (error, addresses) => {
      if (error) {
        callback(error, options.all ? [] : "");
        return;
      }
      try {
        const host = hostname.toLowerCase().replace(/\.$/, "");
        for (const { address } of addresses) {
          this.checkAddress(hostname, address);
          if (this.restricted && !this.hostAllowed(host) && !this.inRanges(address)) {
            throw new SinkRefusedError(hostname, `${address} is not on the sink allow-list`);
          }
        }
      } catch (refused) {
        callback(refused as NodeJS.ErrnoException, options.all ? [] : "");
        return;
      }
      if (options.all) callback(null, addresses);
      else callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };

  private checkAddress(sink: string, address: string): void {
    const [plain, family] = normalize(address);
    if (ALWAYS_REFUSED.check(plain, family)) {
      throw new SinkRefusedError(sink, `${address} is link-local or a cloud metadata address`);
    }
    if (!this.allowPrivate && PRIVATE.check(plain, family)) {
      throw new SinkRefusedError(sink, `${address} is a private or loopback address`);
    }
  }

  private hostAllowed(host: string): boolean {
    return this.hostEntries.some((entry) =>
      entry.startsWith("*.") ? host.endsWith(entry.slice(1)) : host === entry,
    );
  }

  private inRanges(address: string): boolean {
    const [plain, family] = normalize(address);
    return this.hasRanges && this.ranges.check(plain, family);
  }
}

function hostOf(url: URL): string {
  return url.hostname
    .toLowerCase()
    .replace(/^\[|\]$/g, "")
    .replace(/\.$/, "");
}

/** IPv4-mapped IPv6 (`::ffff:169.254.169.254`) is checked as the IPv4 address it is. */
function normalize(address: string): [string, "ipv4" | "ipv6"] {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  if (mapped) return [mapped[1]!, "ipv4"];
  const hex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(address);
  if (hex) {
    const high = Number.parseInt(hex[1]!, 16);
    const low = Number.parseInt(hex[2]!, 16);
    return [`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`, "ipv4"];
  }
  return [address, isIP(address) === 6 ? "ipv6" : "ipv4"];
}
