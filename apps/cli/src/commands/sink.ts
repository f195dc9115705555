// Placeholder until the `berth sink` commands land.
export async function run(_argv: string[]): Promise<number> {
  console.error("berth sink: not implemented yet");
  return 1;
}
