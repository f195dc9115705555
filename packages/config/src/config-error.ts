/**
 * The one error every config failure becomes. `problems` lists each one (JSON path, bad value,
 * what is allowed) so a start-up reports them all at once instead of one per restart.
 */
export class ConfigError extends Error {
  override readonly name = "ConfigError";
  readonly code = "BERTH_CONFIG_INVALID";
  readonly problems: string[];
  /** The config file, when the problems came from one. */
  readonly file: string | undefined;

  constructor(problems: readonly string[], options: { file?: string } = {}) {
    const where = options.file ? `config file ${options.file}` : "configuration";
    const count = problems.length === 1 ? "1 problem" : `${problems.length} problems`;
    super(`invalid ${where} (${count}):\n${problems.map((p) => `  - ${p}`).join("\n")}`);
    this.problems = [...problems];
    this.file = options.file;
  }
}
