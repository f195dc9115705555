/** `address` is one server URL or a comma-separated list (a cluster the client fails over in). */
export function parseServers(address: string): string[] {
  return address
    .split(",")
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/** The server list for messages and logs, with any `user:pass@` taken out of the URLs. */
export function describeServers(servers: readonly string[]): string {
  return servers.map((s) => s.replace(/\/\/[^@/]*@/, "//")).join(",");
}
