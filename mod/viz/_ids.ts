/**
 * How the replay reads member ids (`address#version`): their address and host, and the order the
 * page lists them in (IPv4 hosts by number, then port, then version).
 */

/** The address of a member id. */
export function addressOf(id: string): string {
  return id.slice(0, id.lastIndexOf("#"));
}

/** The host of a member id, its address without the port. */
export function hostOf(id: string): string {
  const address = addressOf(id);
  return address.slice(0, address.lastIndexOf(":"));
}

/** IPv4 addresses in numeric order, other hosts as text. */
export function compareHosts(hostA: string, hostB: string): number {
  const ipA = hostA.split(".").map(Number);
  const ipB = hostB.split(".").map(Number);
  if (
    ipA.length === 4 && ipB.length === 4 && ipA.every(Number.isFinite) && ipB.every(Number.isFinite)
  ) {
    for (let i = 0; i < 4; i++) if (ipA[i] !== ipB[i]) return ipA[i] - ipB[i];
    return 0;
  }
  return hostA < hostB ? -1 : hostA > hostB ? 1 : 0;
}

/** Member ids by host, then port, then version. */
export function compareIds(a: string, b: string): number {
  const [addressA, versionA] = a.split("#");
  const [addressB, versionB] = b.split("#");
  const byHost = compareHosts(hostOf(a), hostOf(b));
  if (byHost !== 0) return byHost;
  const portA = Number(addressA.slice(addressA.lastIndexOf(":") + 1));
  const portB = Number(addressB.slice(addressB.lastIndexOf(":") + 1));
  return portA - portB || Number(versionA) - Number(versionB);
}
