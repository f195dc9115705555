// Quick start: builds a small OCI image in memory (no network needed) and pushes it to the local
// registry, so the demo consumer prints the events. With skopeo installed it pushes with skopeo
// (what you would use); without, with the distribution-spec client of @berth/testing.
//   pnpm demo:push [REPO:TAG] [--registry 127.0.0.1:5000] [--creds user:pass]
import { execFileSync, spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { type TestImage, makeTestImage, writeOciLayout } from "@berth/testing/oci-layout-fixture";
import { RegistryHttpClient } from "@berth/testing/registry-http-client";

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { registry: { type: "string", default: "127.0.0.1:5000" }, creds: { type: "string" } },
});
const target = positionals[0] ?? `demo/hello:${new Date().toISOString().slice(11, 19).replaceAll(":", "")}`;
const [repo, tag = "latest"] = target.split(":") as [string, string | undefined];
const image = makeTestImage({});

function hasSkopeo(): boolean {
  return spawnSync("skopeo", ["--version"], { stdio: "ignore" }).error === undefined;
}

async function pushWithSkopeo(image: TestImage): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "berth-demo-"));
  try {
    await writeOciLayout(dir, "demo", image);
    const args = ["copy", "--dest-tls-verify=false", `oci:${dir}:demo`, `docker://${values.registry}/${repo}:${tag}`];
    if (values.creds) args.splice(1, 0, "--dest-creds", values.creds);
    execFileSync("skopeo", args, { stdio: "inherit" });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function pushOverHttp(image: TestImage): Promise<void> {
  const [username = "", password = ""] = values.creds?.split(/:(.*)/s) ?? [];
  const client = new RegistryHttpClient(`http://${values.registry}`, values.creds ? { username, password } : undefined);
  for (const blob of [image.config, ...image.layers]) {
    const status = await client.pushBlob(repo, blob);
    if (status !== 201) throw new Error(`blob upload answered HTTP ${status}`);
  }
  const res = await client.putManifest(repo, tag, image.manifest);
  if (res.status !== 201) throw new Error(`manifest PUT answered HTTP ${res.status}: ${res.body}`);
}

try {
  if (hasSkopeo()) await pushWithSkopeo(image);
  else {
    console.log("skopeo not found (apt-get install skopeo): pushing with Berth's built-in OCI client instead");
    await pushOverHttp(image);
  }
  console.log(`pushed ${values.registry}/${repo}:${tag}`);
} catch (err) {
  const reason = (err as NodeJS.ErrnoException).code === "ECONNREFUSED" ? `nothing listens on ${values.registry}; is the stack running (bash scripts/stack.sh)?` : (err as Error).message;
  console.error(`demo:push: ${reason}`);
  process.exit(1);
}
