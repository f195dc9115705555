/**
 * CloudEvents HTTP binding 1.0.2 §3.1.3.2: in a header value, space, `"`, `%` and every character
 * outside printable ASCII (U+0021..U+007E) are percent-encoded as UTF-8 octets. The NATS binding
 * reuses the same header rules. Plain ASCII values (ids, types, sources) pass through untouched.
 */
export function encodeHeaderValue(value: string): string {
  let out = "";
  for (const char of value) {
    const code = char.codePointAt(0) ?? 0;
    if (code > 0x20 && code < 0x7f && char !== '"' && char !== "%") {
      out += char;
      continue;
    }
    for (const byte of Buffer.from(char, "utf8")) {
      out += `%${byte.toString(16).toUpperCase().padStart(2, "0")}`;
    }
  }
  return out;
}
