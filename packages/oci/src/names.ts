import { OciError } from "./errors.js";

/**
 * Repository names and tags, distribution-spec v1.1.1 "Pulling manifests": `<name>` MUST match
 * `[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*`, and a tag
 * `[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}`.
 */
const COMPONENT = "[a-z0-9]+(?:(?:\\.|_|__|-+)[a-z0-9]+)*";
const NAME_PATTERN = new RegExp(`^${COMPONENT}(?:/${COMPONENT})*$`);
const TAG_PATTERN = /^[a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}$/;

/** Many clients add `<host>/` to the name and cap the whole at 255 (CNCF Distribution's limit). */
export const MAX_NAME_LENGTH = 255;

export function isValidRepositoryName(name: string): boolean {
  return name.length > 0 && name.length <= MAX_NAME_LENGTH && NAME_PATTERN.test(name);
}

/** Throws NAME_INVALID (400) for names outside the grammar: `..`, uppercase, over-long, empty. */
export function validateRepositoryName(name: string): string {
  if (!isValidRepositoryName(name)) {
    throw new OciError("NAME_INVALID", "invalid repository name", { detail: { name: name.slice(0, 300) } });
  }
  return name;
}

export function isValidTag(tag: string): boolean {
  return TAG_PATTERN.test(tag);
}

/** A bad tag in a manifest reference is MANIFEST_INVALID in CNCF Distribution; the spec has TAG_INVALID
 *  only in its legacy table, so the 14-code set maps it to MANIFEST_INVALID. */
export function validateTag(tag: string): string {
  if (!isValidTag(tag)) {
    throw new OciError("MANIFEST_INVALID", "invalid tag", { detail: { tag: tag.slice(0, 200) } });
  }
  return tag;
}
