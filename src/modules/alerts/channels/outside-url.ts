/**
 * Wardline posts to URLs that admins (webhooks) and browsers (push subscriptions) give it. Without a
 * check, such a URL could make the server call what only it can reach: the cloud metadata service
 * (169.254.169.254), an admin port on loopback, the hospital's internal network.
 *
 * Only literal addresses and a few local names are checked. A host name is not resolved here, so a
 * name that resolves to a private address, or is re-pointed there after the check (DNS rebinding),
 * is not caught: block that at the network (an egress proxy or firewall rules) where it matters.
 */
import { BlockList, isIP } from 'node:net';

export type UrlCheck = { ok: true; url: URL } | { ok: false; reason: string };

export interface UrlCheckOptions {
  /** Loopback and private addresses allowed: tests, and setups whose receivers are on the local network. */
  allowPrivate: boolean;
}

// Not public unicast: this host, private networks, shared address space (CGNAT), link-local (cloud
// metadata), documentation and benchmark ranges, multicast and reserved. An IPv4-mapped IPv6 address
// (::ffff:127.0.0.1) matches its IPv4 rule: BlockList compares the two forms.
const NOT_PUBLIC = new BlockList();
for (const [network, prefix] of [
  ['0.0.0.0', 8],
  ['10.0.0.0', 8],
  ['100.64.0.0', 10],
  ['127.0.0.0', 8],
  ['169.254.0.0', 16],
  ['172.16.0.0', 12],
  ['192.0.0.0', 24],
  ['192.0.2.0', 24],
  ['192.168.0.0', 16],
  ['198.18.0.0', 15],
  ['198.51.100.0', 24],
  ['203.0.113.0', 24],
  ['224.0.0.0', 4],
  ['240.0.0.0', 4],
] as const)
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv4');
for (const [network, prefix] of [
  ['::', 96], // unspecified, loopback and the deprecated IPv4-compatible form (::127.0.0.1)
  ['64:ff9b::', 96], // NAT64: 64:ff9b::a9fe:a9fe reaches 169.254.169.254 through a gateway
  ['64:ff9b:1::', 48],
  ['100::', 64],
  ['2001:db8::', 32],
  ['fc00::', 7],
  ['fe80::', 10],
  ['fec0::', 10],
  ['ff00::', 8],
] as const)
  NOT_PUBLIC.addSubnet(network, prefix, 'ipv6');

// Names that only ever lead inside: loopback, cloud metadata services, and the private-use suffixes.
const LOCAL_NAMES = new Set(['localhost', 'metadata', 'metadata.google.internal', 'instance-data']);
const LOCAL_SUFFIXES = ['.localhost', '.internal', '.local'];

const refuse = (reason: string): UrlCheck => ({ ok: false, reason });

/** A host (IP literal or name) that only reaches this machine or a private network. */
export function isPrivateHost(hostname: string): boolean {
  const host = hostname
    .replace(/^\[(.*)\]$/, '$1')
    .replace(/\.$/, '')
    .toLowerCase();
  const family = isIP(host);
  if (family !== 0) return NOT_PUBLIC.check(host, family === 4 ? 'ipv4' : 'ipv6');
  return LOCAL_NAMES.has(host) || LOCAL_SUFFIXES.some((suffix) => host.endsWith(suffix));
}

/**
 * Whether Wardline may call `raw`: one of `protocols`, no user or password in it, and (unless
 * allowPrivate) a host that is not loopback, link-local, private or a metadata name. The reason
 * names at most the host, never the path.
 */
export function checkOutsideUrl(
  raw: string,
  options: UrlCheckOptions & { protocols: readonly ('http:' | 'https:')[] },
): UrlCheck {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return refuse('not a valid URL');
  }
  if (!(options.protocols as readonly string[]).includes(url.protocol))
    return refuse(`must be ${options.protocols.map((p) => p.replace(':', '')).join(' or ')}`);
  if (url.username || url.password) return refuse('must not contain a user name or password');
  if (!options.allowPrivate && isPrivateHost(url.hostname))
    return refuse(`${url.hostname} is a loopback, link-local, private or metadata address`);
  return { ok: true, url };
}
