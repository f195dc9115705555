/**
 * Issue 21 on the real registry process: every push the registry acknowledged is readable after a
 * power loss of its host, not only after a killed process.
 *
 * There is no device-mapper here (no dm-flakey / dm-log-writes), so the power loss is simulated
 * with crashfs (`e2e/power-loss/crashfs.py`, FUSE): a passthrough file system under the storage
 * root that models what a disk would hold if the power went out, under worst-case POSIX
 * semantics — a file's data is durable only at its fsync, a directory entry (create, rename,
 * link, unlink, mkdir) only at its directory's fsync; everything else is lost. The test pushes
 * images (monolithic and chunked blob uploads, manifests by tag and by digest, a tag delete, an
 * upload session left open), records every answer 201/202/204, SIGKILLs the registry, unmounts
 * (the power loss) and lets crashfs write what would be on disk into a fresh directory. A new
 * registry on that directory (not through FUSE) must serve every acknowledged push, keep the
 * deleted tag deleted, and resume the open upload session.
 *
 * Then the test's teeth: the same run with `storage.fsyncDirectories: false` (file data fsync'd
 * and renamed, directories never fsync'd: the registry before issue 21) must lose acknowledged
 * pushes, and does.
 *
 * Limits of the model: it is the worst case POSIX allows, not one file system's behaviour (ext4
 * data=ordered often keeps more); torn writes inside a block, reordering within one fsync,
 * modes/times/xattrs and disks that lie about flushes are not modelled. Events are off: Redis's
 * own durability is a separate question (README "What survives what").
 *
 * Needs /dev/fuse, root (to mount) and fusepy for /usr/bin/python3 (`apt-get install
 * python3-fusepy libfuse2 fuse3`, as scripts/test.sh does); skipped with the reason otherwise.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFile, spawn, spawnSync } from "node:child_process";
import { existsSync } from "node:fs";
import { mkdir } from "node:fs/promises";
import { join } from "node:path";
import { after, before, describe, test } from "node:test";
import { freePort, waitFor } from "@berth/testing";
import { type ContentBlob, makeTestImage, manifestFor, sha256Digest } from "@berth/testing/oci-layout-fixture";
import { ProcessGroup, REPO_ROOT, makeTempDir, writeJsonFile } from "@berth/testing/process-harness";
import { RegistryHttpClient } from "@berth/testing/registry-http-client";

const PYTHON = "/usr/bin/python3";
const CRASHFS = join(REPO_ROOT, "e2e/power-loss/crashfs.py");
const IMAGES = 6;
const REPOS = ["pl/app0", "pl/app1", "pl/app2"];
const MANIFEST_ACCEPT = "application/vnd.oci.image.manifest.v1+json";

/** Why crashfs cannot run here, or undefined when it can. */
function fuseUnavailable(): string | undefined {
  if (!existsSync("/dev/fuse")) return "no /dev/fuse in this kernel/container";
  if (process.getuid?.() !== 0) return "mounting a FUSE file system needs root here";
  const probe = spawnSync(PYTHON, ["-c", "import fusepy"], { encoding: "utf8" });
  if (probe.status !== 0) return `fusepy missing for ${PYTHON} (apt-get install python3-fusepy libfuse2 fuse3)`;
  return undefined;
}

interface Materialised {
  dirs: number;
  files: number;
  emptyFiles: number;
  /** Paths (relative to the materialised root) of files whose entry survived but whose data was never fsync'd. */
  emptied: string[];
}

/** One crashfs mount: BACKING passed through at MOUNT; unmounting writes the durable state to AFTER. */
class CrashFs {
  private readonly lines: string[] = [];
  private readonly exited: Promise<number | null>;

  private constructor(
    private readonly child: ChildProcess,
    readonly mountpoint: string,
  ) {
    let buf = "";
    const take = (chunk: Buffer) => {
      buf += chunk.toString("utf8");
      const parts = buf.split("\n");
      buf = parts.pop() ?? "";
      this.lines.push(...parts);
    };
    child.stdout?.on("data", take);
    child.stderr?.on("data", take);
    this.exited = new Promise((resolve) => child.once("exit", (code) => resolve(code)));
  }

  static async mount(backing: string, mountpoint: string, after: string): Promise<CrashFs> {
    const fs = new CrashFs(spawn(PYTHON, [CRASHFS, backing, mountpoint, after], { stdio: ["ignore", "pipe", "pipe"] }), mountpoint);
    await waitFor("crashfs to mount", () => {
      if (fs.child.exitCode !== null) throw new Error(`crashfs exited: ${fs.lines.join("\n")}`);
      return fs.lines.some((l) => l.includes('"mounted"'));
    }, { timeoutMs: 15_000 });
    return fs;
  }

  /** The power loss: unmount (every writer must be dead), then crashfs writes what survived. */
  async powerLoss(): Promise<Materialised> {
    await umount(this.mountpoint);
    const code = await this.exited;
    const line = this.lines.find((l) => l.includes('"materialised"'));
    assert.ok(code === 0 && line, `crashfs did not materialise (exit ${code}):\n${this.lines.join("\n")}`);
    return JSON.parse(line) as Materialised;
  }

  /** Cleanup after a failure: lazy unmount and kill, so the temp dir can be removed. */
  async destroy(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    await umount(this.mountpoint, true).catch(() => {});
    this.child.kill("SIGKILL");
    await this.exited;
  }
}

function umount(path: string, lazy = false): Promise<void> {
  return new Promise((resolve, reject) =>
    execFile("umount", lazy ? ["-l", path] : [path], { timeout: 15_000 }, (err, _out, stderr) => (err ? reject(new Error(`umount ${path}: ${stderr}`)) : resolve())),
  );
}

/** What the registry acknowledged, to be checked after the power loss. */
interface Acknowledged {
  blobs: { repo: string; blob: ContentBlob }[];
  manifests: { repo: string; manifest: ContentBlob; tag?: string }[];
  deletedTags: { repo: string; tag: string }[];
  /** An upload session left open, its first `data.length - rest` bytes acknowledged by a PATCH. */
  session?: { repo: string; location: string; blob: ContentBlob; acknowledgedBytes: number };
}

async function fetchBytes(base: string, path: string, accept?: string): Promise<{ status: number; body: Buffer; digest: string | null }> {
  const res = await fetch(`${base}${path}`, { headers: accept ? { Accept: accept } : {}, signal: AbortSignal.timeout(10_000) });
  return { status: res.status, body: Buffer.from(await res.arrayBuffer()), digest: res.headers.get("docker-content-digest") };
}

/** Chunked upload: POST, two PATCHes, PUT ?digest=. Returns the final status (201 = acknowledged). */
async function pushChunked(client: RegistryHttpClient, repo: string, blob: ContentBlob): Promise<number> {
  const start = await client.request("POST", `/v2/${repo}/blobs/uploads/`);
  if (start.status !== 202) return start.status;
  let location = String(start.headers.location);
  const half = Math.floor(blob.data.length / 2);
  for (const [from, to] of [
    [0, half],
    [half, blob.data.length],
  ] as const) {
    const res = await client.request("PATCH", location, {
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `${from}-${to - 1}` },
      body: blob.data.subarray(from, to),
    });
    if (res.status !== 202) return res.status;
    location = String(res.headers.location);
  }
  const sep = location.includes("?") ? "&" : "?";
  return (await client.request("PUT", `${location}${sep}digest=${encodeURIComponent(blob.digest)}`)).status;
}

/** The workload: images over three repositories, three pushers at a time; records every acknowledgement. */
async function pushImages(client: RegistryHttpClient): Promise<Acknowledged> {
  const ack: Acknowledged = { blobs: [], manifests: [], deletedTags: [] };
  await Promise.all(
    REPOS.map(async (repo, r) => {
      for (let i = r; i < IMAGES; i += REPOS.length) {
        const image = makeTestImage({ layerBytes: 4096 });
        if ((await client.pushBlob(repo, image.config)) === 201) ack.blobs.push({ repo, blob: image.config });
        const layer = image.layers[0] as ContentBlob;
        const layerStatus = i % 2 === 0 ? await pushChunked(client, repo, layer) : await client.pushBlob(repo, layer);
        if (layerStatus === 201) ack.blobs.push({ repo, blob: layer });
        const tag = `v${i}`;
        if ((await client.putManifest(repo, tag, image.manifest)).status === 201) ack.manifests.push({ repo, manifest: image.manifest, tag });
        // The same image under a second tag, then that tag deleted: it must stay deleted.
        const other = `v${i}-rc`;
        if ((await client.putManifest(repo, other, image.manifest)).status === 201) {
          const del = await client.request("DELETE", `/v2/${repo}/manifests/${other}`);
          if (del.status === 202) ack.deletedTags.push({ repo, tag: other });
        }
        // A manifest pushed by digest only (no tag).
        const untagged = manifestFor(image.config, image.layers, { "berth.test/untagged": String(i) });
        if ((await client.putManifest(repo, untagged.digest, untagged)).status === 201) ack.manifests.push({ repo, manifest: untagged });
      }
    }),
  );
  // An upload session left open: its first PATCH acknowledged, the rest never sent.
  const repo = REPOS[0] as string;
  const blob = makeTestImage({ layerBytes: 4096 }).layers[0] as ContentBlob;
  const start = await client.request("POST", `/v2/${repo}/blobs/uploads/`);
  if (start.status === 202) {
    const half = Math.floor(blob.data.length / 2);
    const res = await client.request("PATCH", String(start.headers.location), {
      headers: { "Content-Type": "application/octet-stream", "Content-Range": `0-${half - 1}` },
      body: blob.data.subarray(0, half),
    });
    if (res.status === 202) ack.session = { repo, location: String(res.headers.location), blob, acknowledgedBytes: half };
  }
  return ack;
}

/** Every acknowledged state the registry at `base` no longer has: one line per lost acknowledgement. */
async function lostAfterPowerLoss(base: string, ack: Acknowledged): Promise<string[]> {
  const client = new RegistryHttpClient(base);
  const lost: string[] = [];
  const tagsOf = new Map<string, Set<string>>();
  for (const repo of REPOS) {
    const res = await client.request("GET", `/v2/${repo}/tags/list`);
    tagsOf.set(repo, new Set(res.status === 200 ? ((JSON.parse(res.body) as { tags: string[] | null }).tags ?? []) : []));
  }
  for (const { repo, blob } of ack.blobs) {
    const got = await fetchBytes(base, `/v2/${repo}/blobs/${blob.digest}`);
    if (got.status !== 200 || sha256Digest(got.body) !== blob.digest) lost.push(`blob ${repo}@${blob.digest}: ${got.status}, ${got.body.length} bytes`);
  }
  for (const { repo, manifest, tag } of ack.manifests) {
    const problems: string[] = [];
    const byDigest = await fetchBytes(base, `/v2/${repo}/manifests/${manifest.digest}`, MANIFEST_ACCEPT);
    if (byDigest.status !== 200 || sha256Digest(byDigest.body) !== manifest.digest) problems.push(`by digest ${byDigest.status}`);
    if (tag !== undefined) {
      const byTag = await fetchBytes(base, `/v2/${repo}/manifests/${tag}`, MANIFEST_ACCEPT);
      if (byTag.status !== 200 || byTag.digest !== manifest.digest) problems.push(`by tag ${byTag.status} ${byTag.digest}`);
      if (!tagsOf.get(repo)?.has(tag)) problems.push("not in tags/list");
    }
    if (problems.length > 0) lost.push(`manifest ${repo}:${tag ?? "(untagged)"}@${manifest.digest}: ${problems.join(", ")}`);
  }
  for (const { repo, tag } of ack.deletedTags) {
    const byTag = await client.request("GET", `/v2/${repo}/manifests/${tag}`, { headers: { Accept: MANIFEST_ACCEPT } });
    if (byTag.status !== 404 || tagsOf.get(repo)?.has(tag)) lost.push(`deleted tag ${repo}:${tag} is back: ${byTag.status}`);
  }
  if (ack.session) lost.push(...(await resumeSession(client, ack.session)));
  return lost;
}

/**
 * The repositories still take writes: a lock file that survived the power loss (its entry durable,
 * its content never fsync'd, so empty) is broken after one lease (10 s), within the 30 s a writer waits.
 */
async function stillWritable(base: string, ack: Acknowledged): Promise<string[]> {
  const client = new RegistryHttpClient(base);
  const problems: string[] = [];
  await Promise.all(
    REPOS.map(async (repo) => {
      const image = ack.manifests.find((m) => m.repo === repo);
      if (!image) return;
      const res = await client.putManifest(repo, "after-power-loss", image.manifest, 40_000);
      if (res.status !== 201) problems.push(`PUT ${repo}:after-power-loss after the power loss: ${res.status} ${res.body}`);
    }),
  );
  return problems;
}

/** The open upload session still holds its acknowledged bytes, and the upload can be finished. */
async function resumeSession(client: RegistryHttpClient, s: NonNullable<Acknowledged["session"]>): Promise<string[]> {
  const status = await client.request("GET", s.location);
  if (status.status !== 204 || status.headers.range !== `0-${s.acknowledgedBytes - 1}`) {
    return [`upload session ${s.location}: ${status.status}, range ${status.headers.range} (acknowledged 0-${s.acknowledgedBytes - 1})`];
  }
  const rest = await client.request("PATCH", s.location, {
    headers: { "Content-Type": "application/octet-stream", "Content-Range": `${s.acknowledgedBytes}-${s.blob.data.length - 1}` },
    body: s.blob.data.subarray(s.acknowledgedBytes),
  });
  const location = String(rest.headers.location);
  const sep = location.includes("?") ? "&" : "?";
  const done = await client.request("PUT", `${location}${sep}digest=${encodeURIComponent(s.blob.digest)}`);
  return done.status === 201 ? [] : [`upload session ${s.location} could not be finished: ${rest.status} then ${done.status}`];
}

interface RunResult {
  acknowledged: number;
  lost: string[];
  /** Writes refused after the power loss (checked only when nothing was lost). */
  unwritable: string[];
  materialised: Materialised;
}

const unavailable = fuseUnavailable();

describe("power loss of the registry host (crashfs: worst-case POSIX)", { skip: unavailable }, () => {
  const group = new ProcessGroup();
  const cleanups: (() => Promise<void>)[] = [];
  after(async () => {
    await group.stopAll(2_000);
    for (const cleanup of cleanups.reverse()) await cleanup();
  });

  /** Pushes through crashfs, SIGKILL, power loss, then a new registry on what survived. */
  async function run(label: string, fsyncDirectories: boolean): Promise<RunResult> {
    const dir = await makeTempDir(`power-loss-${label}`);
    cleanups.push(() => dir.remove());
    const [backing, mountpoint, survived] = ["backing", "mnt", "after"].map((d) => join(dir.path, d)) as [string, string, string];
    // The storage root exists before the registry starts (as an operator would create it): durable.
    await mkdir(join(backing, "storage"), { recursive: true });
    await mkdir(mountpoint);
    const fs = await CrashFs.mount(backing, mountpoint, survived);
    cleanups.push(() => fs.destroy());

    const start = async (name: string, root: string) => {
      const port = await freePort();
      const config = await writeJsonFile(dir.path, `${name}.json`, {
        storage: { rootDirectory: root, ...(fsyncDirectories ? {} : { fsyncDirectories: false }) },
        http: { address: "127.0.0.1", port },
        log: { level: "warn" },
      });
      const registry = await group.start({ name, script: "apps/registry/src/main.ts", args: ["--config", config], ready: { port } });
      return { registry, url: `http://127.0.0.1:${port}` };
    };

    const onCrashfs = await start("registry-on-crashfs", join(mountpoint, "storage"));
    const ack = await pushImages(new RegistryHttpClient(onCrashfs.url));
    await onCrashfs.registry.kill();
    const materialised = await fs.powerLoss();

    const afterLoss = await start("registry-after-power-loss", join(survived, "storage"));
    const lost = await lostAfterPowerLoss(afterLoss.url, ack);
    const unwritable = lost.length === 0 ? await stillWritable(afterLoss.url, ack) : [];
    await afterLoss.registry.stop();
    const acknowledged = ack.blobs.length + ack.manifests.length + ack.deletedTags.length + (ack.session ? 1 : 0);
    console.log(
      `power loss, fsyncDirectories ${fsyncDirectories}: acknowledged ${acknowledged} (blobs ${ack.blobs.length}, manifests ${ack.manifests.length}, ` +
        `tag deletes ${ack.deletedTags.length}, open sessions ${ack.session ? 1 : 0}), lost ${lost.length} of them; ` +
        `after the loss: ${materialised.dirs} dirs, ${materialised.files} files (${materialised.emptyFiles} empty, data never fsync'd${materialised.emptied.length > 0 ? `: ${materialised.emptied.join(", ")}` : ""})`,
    );
    return { acknowledged, lost, unwritable, materialised };
  }

  // Both runs at once: the shipped one waits out a lock lease after its power loss (10 s).
  let shipped: Promise<RunResult>;
  let unsynced: Promise<RunResult>;
  before(() => {
    shipped = run("fsync", true);
    unsynced = run("no-dir-fsync", false);
    // Each test awaits its own; a failure must not also surface as an unhandled rejection.
    shipped.catch(() => {});
    unsynced.catch(() => {});
  });

  test("as shipped: every acknowledged push, tag delete and upload session survives", { timeout: 60_000 }, async () => {
    const { acknowledged, lost, unwritable } = await shipped;
    assert.equal(acknowledged, IMAGES * 5 + 1, "every request of the workload acknowledged");
    assert.deepEqual(lost, [], "nothing acknowledged is lost");
    assert.deepEqual(unwritable, [], "every repository takes writes again");
  });

  test("with storage.fsyncDirectories false the same run loses acknowledged pushes (the test can fail)", { timeout: 60_000 }, async () => {
    const { acknowledged, lost } = await unsynced;
    assert.ok(acknowledged > 0);
    assert.ok(lost.length > 0, "crashfs must catch renames whose directory was never fsync'd");
  });
});

if (unavailable) console.log(`power-loss test skipped: ${unavailable}`);
