/**
 * Credentials from `Authorization: Basic …` (RFC 7617), or undefined when absent or malformed: the
 * one parser of the registry and the dashboard (scheme case-insensitive, any whitespace before the
 * token, base64 alphabet only; the password is everything after the first colon).
 */
export function parseBasicAuth(header: string | undefined): { user: string; password: string } | undefined {
  if (!header) return undefined;
  const m = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return undefined;
  const decoded = Buffer.from(m[1]!, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}
