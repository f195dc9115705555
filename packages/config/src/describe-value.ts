/**
 * How a bad value appears inside a problem message: JSON-quoted, shortened, and with any URL
 * password masked and objects elided, because problem messages are printed and logged.
 */
import { MASK, maskUrlPassword } from "./mask.js";

const MAX_SHOWN = 80;

export function describeValue(value: unknown): string {
  if (value === undefined) return "undefined";
  // Objects may hold credentials (a sink written where a list belongs): never print contents.
  if (Array.isArray(value)) return "[…]";
  if (typeof value === "object" && value !== null) return "{…}";
  const shown = typeof value === "string" ? hideCredentials(value) : value;
  const text = JSON.stringify(shown) ?? String(shown);
  return text.length > MAX_SHOWN ? `${text.slice(0, MAX_SHOWN - 1)}…` : text;
}

/**
 * URL passwords are masked; in anything else that looks like `user:password@host` the part
 * before the last "@" is hidden too, since a malformed URL is exactly when it gets printed.
 */
function hideCredentials(text: string): string {
  const masked = maskUrlPassword(text);
  if (masked !== text || !masked.includes("@")) return masked;
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(masked)?.[0] ?? "";
  return `${scheme}${MASK}${masked.slice(masked.lastIndexOf("@"))}`;
}

/** "a string", "a number", "an array", "null", ... for "must be a string, got a number". */
export function kindOf(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  const type = typeof value;
  return type === "object" || type === "undefined" ? `an ${type}` : `a ${type}`;
}
