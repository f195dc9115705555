/** One human-readable line per received event, the way an operator wants to skim them. */
export interface ReceivedEvent {
  via: string;
  id: string;
  type: string;
  data: Record<string, unknown>;
}

export function eventLine(e: ReceivedEvent): string {
  const name = typeof e.data.name === "string" ? e.data.name : "?";
  const ref = typeof e.data.reference === "string" ? e.data.reference : "";
  const actor = (e.data.actor as { name?: string } | undefined)?.name;
  const separator = ref.includes(":") ? "@" : ":";
  const target = ref ? `${name}${separator}${ref}` : name;
  return [e.via.padEnd(4), e.type.padEnd(36), target, `id=${e.id}`, actor ? `actor=${actor}` : ""]
    .filter(Boolean)
    .join("  ");
}
