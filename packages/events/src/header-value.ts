/** Printable ASCII except `"` and `%`: what ids, types, sources and times are made of. */
const NOTHING_TO_ENCODE = /^[\x21\x23\x24\x26-\x7e]*$/;

/**
 * CloudEvents HTTP binding 1.0.2 §3.1.3.2: in a header value, space, `"`, `%` and every character
 * outside printable ASCII (U+0021..U+007E) are percent-encoded as UTF-8 octets. The NATS binding
 * reuses the same header rules. Plain ASCII values (ids, types, sources) pass through untouched.
 */
export function encodeHeaderValue(value: string): string {
  // Every value of a registry event takes this path: no per-character loop per header per event.
  if (NOTHING_TO_ENCODE.test(value)) return value;
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
