// Quick start: builds a small OCI image in a temp dir (no network needed) and pushes it with
// skopeo to the local registry, so the demo consumer prints the events.
//   pnpm demo:push [REPO:TAG] [--registry 127.0.0.1:5000] [--creds user:pass]
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { makeTestImage, writeOciLayout } from "../packages/testing/src/oci-layout-fixture.ts";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { registry: { type: "string", default: "127.0.0.1:5000" }, creds: { type: "string" } },
});
const target = positionals[0] ?? `demo/hello:${new Date().toISOString().slice(11, 19).replaceAll(":", "")}`;
const dir = mkdtempSync(join(tmpdir(), "berth-demo-"));
try {
  await writeOciLayout(dir, "demo", makeTestImage({}));
  const args = ["copy", "--dest-tls-verify=false", `oci:${dir}:demo`, `docker://${values.registry}/${target}`];
  if (values.creds) args.splice(1, 0, "--dest-creds", values.creds);
  execFileSync("skopeo", args, { stdio: "inherit" });
  console.log(`pushed ${values.registry}/${target}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
