/**
 * The registry process refuses to start on a zot key it does not implement when ignoring it would
 * weaken security or move data (before: it started anyway, open and anonymous).
 */
import assert from "node:assert/strict";
import { execFile } from "node:child_process";
import { after, before, describe, it } from "node:test";
import { promisify } from "node:util";
import { REPO_ROOT, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";

const run = promisify(execFile);

async function startRegistry(config: string): Promise<{ code: number; stderr: string }> {
  const args = ["--conditions=development", "--import", "tsx", "apps/registry/src/main.ts", "--config", config];
  try {
    await run(process.execPath, args, { cwd: REPO_ROOT, timeout: 30_000 });
    return { code: 0, stderr: "" };
  } catch (err) {
    const failed = err as { code?: number; stderr?: string };
    return { code: failed.code ?? -1, stderr: failed.stderr ?? "" };
  }
}

describe("registry start-up with zot keys Berth does not implement", () => {
  let dir = "";
  let remove = async () => {};
  before(async () => {
    ({ path: dir, remove } = await makeTempDir("startup-config"));
  });
  after(() => remove());

  it("refuses OpenID and a remote storage driver with exit 2 and one line per key", async () => {
    const config = await writeJsonFile(dir, "openid.json", {
      storage: { rootDirectory: `${dir}/root`, storageDriver: { name: "s3", bucket: "images" } },
      http: { address: "127.0.0.1", port: 0, auth: { openid: { providers: { oidc: { issuer: "https://idp.example.com" } } } } },
    });
    const { code, stderr } = await startRegistry(config);
    assert.equal(code, 2, stderr);
    assert.match(stderr, /^registry: invalid configuration:$/m);
    assert.match(stderr, /^ {2}http\.auth\.openid: OpenID Connect \/ OAuth2 login \(zot key\) is not supported by Berth; use /m);
    assert.match(stderr, /^ {2}storage\.storageDriver: a remote storage driver \(S3 and others\) \(zot key\) is not supported by Berth; /m);
  });
});
