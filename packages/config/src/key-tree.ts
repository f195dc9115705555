/**
 * Every key Berth reads, in its canonical spelling, with the shape of its value. zot decodes its
 * config with mapstructure, which matches keys case-insensitively, so zot configs in the wild
 * say `rootdirectory` or `cacertfile`; key-case.ts maps those onto these names.
 */

export type KeyShape =
  /** A value validated later (string, number, list of strings, ...). */
  | { kind: "leaf" }
  /** An object whose keys are data, not config keys (HTTP headers): kept as written. */
  | { kind: "map" }
  /** A string or an object, checked by its own reader (`queue.redis`): kept as written. */
  | { kind: "open" }
  | { kind: "object"; keys: Record<string, KeyShape>; aliases?: Record<string, string> }
  | { kind: "list"; item: KeyShape; itemLabel: string; itemNoun: string };

import { CONFIG_SCHEMA, isSchemaLeaf, type SchemaNode } from "./schema.js";

const leaf: KeyShape = { kind: "leaf" };

function object(keys: Record<string, KeyShape>, aliases?: Record<string, string>): KeyShape {
  return aliases ? { kind: "object", keys, aliases } : { kind: "object", keys };
}

function leaves(...names: string[]): Record<string, KeyShape> {
  return Object.fromEntries(names.map((n) => [n, leaf]));
}

export const SINK_SHAPE: KeyShape = object(
  {
    ...leaves("name", "type", "address", "timeout", "channel", "proxy", "events", "repositories"),
    ...leaves("mode", "jetstream", "concurrency", "ordering", "payload", "maxManifestBytes"),
    credentials: object(
      leaves("username", "password", "token", "file", "passwordFile", "tokenFile"),
    ),
    headers: { kind: "map" },
    tls: object(leaves("caCertFile", "certFile", "keyFile")),
    retry: object(leaves("attempts", "delay", "maxDelay")),
    signing: object(leaves("secret", "secretFile")),
    breaker: object(leaves("threshold", "cooldown")),
  },
  // zot embeds its TLS struct in the sink without `squash`, so mapstructure reads it from a key
  // named after the struct type: `tlsconfig`.
  { tlsconfig: "tls" },
);

/** The top level follows the convict schema, so a key added there is known here too. */
function shapeOfSchema(node: SchemaNode, path: string): KeyShape {
  const keys: Record<string, KeyShape> = {};
  for (const [key, child] of Object.entries(node)) {
    const childPath = path === "" ? key : `${path}.${key}`;
    if (!isSchemaLeaf(child)) keys[key] = shapeOfSchema(child, childPath);
    else if (childPath === "queue.redis") keys[key] = { kind: "open" };
    else if (childPath === "http.accessControl") keys[key] = { kind: "map" };
    // A path, or `{ path }` as http.auth.htpasswd takes it (parse-config.ts reduces it to the path).
    else if (childPath === "dashboard.auth.htpasswd") keys[key] = { kind: "open" };
    else if (childPath === "extensions.events.sinks") {
      keys[key] = { kind: "list", item: SINK_SHAPE, itemLabel: "sink objects", itemNoun: "a sink object" };
    } else keys[key] = leaf;
  }
  return object(keys);
}

export const CONFIG_SHAPE: KeyShape = shapeOfSchema(CONFIG_SCHEMA, "");
