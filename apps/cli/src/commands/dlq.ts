// Placeholder until the `berth dlq` commands land.
export async function run(_argv: string[]): Promise<number> {
  console.error("berth dlq: not implemented yet");
  return 1;
}
