/**
 * Repository filters of a sink: `*` matches within one path segment, `**` matches across
 * segments (zero or more), every other character matches itself. `prod/*` matches `prod/app`
 * but not `prod/team/app`; `prod/**` matches both; `**\/cache` matches `cache` and `a/b/cache`.
 */
export type RepositoryMatcher = (repository: string) => boolean;

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, "\\$&");
}

function globToRegExpSource(glob: string): string {
  let source = "";
  let i = 0;
  while (i < glob.length) {
    if (glob.startsWith("**/", i)) {
      source += "(?:.*/)?";
      i += 3;
    } else if (glob.startsWith("/**", i) && i + 3 === glob.length) {
      source += "(?:/.*)?";
      i += 3;
    } else if (glob.startsWith("**", i)) {
      source += ".*";
      i += 2;
    } else if (glob[i] === "*") {
      source += "[^/]*";
      i += 1;
    } else {
      source += escapeRegExp(glob[i] ?? "");
      i += 1;
    }
  }
  return source;
}

export function compileRepositoryGlob(glob: string): RepositoryMatcher {
  if (!glob.includes("*")) return (repository) => repository === glob;
  const pattern = new RegExp(`^${globToRegExpSource(glob)}$`);
  return (repository) => pattern.test(repository);
}

/** Matches when any glob matches; an empty list matches every repository. */
export function compileRepositoryGlobs(globs: readonly string[]): RepositoryMatcher {
  if (globs.length === 0) return () => true;
  const matchers = globs.map(compileRepositoryGlob);
  return (repository) => matchers.some((match) => match(repository));
}
