import type { SinkConfig } from "@berth/config";

/**
 * Hides a sink's secrets from what an operator sees (`berth sink test` prints the request).
 * Everything a sink config marks secret is masked wherever it appears; so is any header whose name
 * says it carries a credential, since custom `headers` often hold API keys.
 */
export const MASK = "*****";

const CREDENTIAL_HEADER = /authorization|cookie|token|secret|password|passwd|api[-_]?key|^x-.*key$/i;

function urlPassword(url: string | undefined): string | undefined {
  if (!url) return undefined;
  try {
    return decodeURIComponent(new URL(url).password) || undefined;
  } catch {
    return undefined;
  }
}

/** Every secret value of the sink, longest first so a secret containing another is masked whole. */
export function sinkSecrets(sink: SinkConfig): string[] {
  const values = [
    sink.credentials.password,
    sink.credentials.token,
    sink.signingSecret,
    urlPassword(sink.address),
    urlPassword(sink.proxy),
  ];
  return values.filter((v): v is string => typeof v === "string" && v.length > 0).sort((a, b) => b.length - a.length);
}

export function maskText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const s of secrets) out = out.replaceAll(s, MASK);
  return out;
}

/** A URL with any password in its user-info replaced (`http://u:*****@host/`). */
export function maskUrl(url: string): string {
  try {
    const u = new URL(url);
    if (!u.password) return url;
    u.password = MASK;
    return u.toString();
  } catch {
    return url;
  }
}

/** `Authorization: Basic *****` keeps the scheme so the operator sees which auth was sent. */
export function maskHeaders(headers: Record<string, string>, sink: SinkConfig): Record<string, string> {
  const secrets = sinkSecrets(sink);
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (/^(proxy-)?authorization$/i.test(name)) {
      const scheme = value.split(" ", 1)[0];
      out[name] = scheme && scheme !== value ? `${scheme} ${MASK}` : MASK;
    } else if (CREDENTIAL_HEADER.test(name)) {
      out[name] = MASK;
    } else {
      out[name] = maskText(value, secrets);
    }
  }
  return out;
}
