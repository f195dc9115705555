import assert from "node:assert/strict";
import { hashSync } from "bcryptjs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { basic, call, pushImage, pushManifest } from "./test-support/client.js";
import { makeImage } from "./test-support/oci-content.js";
import { type RunningRegistry, startRegistry } from "./test-support/registry-fixture.js";
import { openStorage } from "@berth/storage";
import { waitFor } from "@berth/testing";

const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";
const ADDR = /^127\.0\.0\.1:\d+$/;

describe("events at the success boundary (anonymous)", () => {
  let reg: RunningRegistry;
  before(async () => {
    reg = await startRegistry();
  });
  after(() => reg.stop());

  it("repository.created once, on the write that creates the repository", async () => {
    await pushImage(reg.url, "ev/anon", "v1", makeImage(), { "User-Agent": "test-agent/1" });
    await pushImage(reg.url, "ev/anon", "v2", makeImage(), { "User-Agent": "test-agent/1" });
    const created = reg.publisher.ofKind("repository.created");
    assert.equal(created.length, 1);
    const event = created[0]!;
    assert.equal(event.type, "zotregistry.repository.created");
    assert.equal(event.source, "zotregistry.dev");
    assert.equal(event.specversion, "1.0");
    assert.equal(event.datacontenttype, "application/json");
    assert.equal(event.data.name, "ev/anon");
    assert.equal(event.data.actor, undefined, "no actor without auth");
    assert.equal(event.data.request?.method, "POST");
    assert.match(event.data.request?.addr ?? "", ADDR);
  });

  it("image.updated per tag change with zot's fields; the manifest is the body as a string", async () => {
    reg.publisher.clear();
    const image = makeImage();
    await pushImage(reg.url, "ev/upd", "v1", image, { "User-Agent": "test-agent/2" });
    const [event] = reg.publisher.ofKind("image.updated");
    assert.ok(event);
    assert.equal(event.type, "zotregistry.image.updated");
    const { request, ...data } = event.data;
    assert.deepEqual(data, {
      name: "ev/upd",
      reference: "v1",
      digest: image.digest,
      mediaType: OCI_MANIFEST,
      manifest: image.manifest.toString("utf8"),
    });
    assert.equal(request?.method, "PUT");
    assert.equal(request?.useragent, "test-agent/2");
    assert.match(request?.addr ?? "", ADDR);

    // Same tag, same manifest again (a client retrying a push whose answer it never got, e.g.
    // because the registry crashed after storing it): emitted again, so the event cannot be lost.
    reg.publisher.clear();
    await pushManifest(reg.url, "ev/upd", "v1", image.manifest, OCI_MANIFEST);
    const [again] = reg.publisher.ofKind("image.updated");
    assert.equal(again?.data.digest, image.digest);
    assert.notEqual(again?.id, event.id);
    // Push by digest: reference = digest.
    reg.publisher.clear();
    const other = makeImage();
    await pushImage(reg.url, "ev/upd", other.digest, other);
    const [byDigest] = reg.publisher.ofKind("image.updated");
    assert.equal(byDigest?.data.reference, other.digest);
    assert.equal(byDigest?.data.digest, other.digest);
  });

  it("image.deleted on DELETE by tag and by digest", async () => {
    const image = makeImage();
    await pushImage(reg.url, "ev/del", "v1", image);
    reg.publisher.clear();
    await call(reg.url, "DELETE", "/v2/ev/del/manifests/v1");
    await call(reg.url, "DELETE", `/v2/ev/del/manifests/${image.digest}`);
    const deleted = reg.publisher.ofKind("image.deleted");
    assert.deepEqual(
      deleted.map(({ data: { request, ...rest } }) => rest),
      [
        { name: "ev/del", reference: "v1", digest: image.digest, mediaType: OCI_MANIFEST },
        { name: "ev/del", reference: image.digest, digest: image.digest, mediaType: OCI_MANIFEST },
      ],
    );
    assert.equal(deleted[0]?.data.request?.method, "DELETE");
  });

  it("no event for failed writes", async () => {
    reg.publisher.clear();
    await pushManifest(reg.url, "ev/fail", "v1", makeImage().manifest, OCI_MANIFEST);
    await call(reg.url, "DELETE", "/v2/ev/anon/manifests/nope");
    assert.deepEqual(reg.publisher.events, []);
  });

  it("a publisher that throws is never turned into a 500, and its events are handed over again once it accepts", async () => {
    reg.publisher.failWith = new Error("outbox exploded");
    try {
      const image = makeImage();
      const res = await pushImage(reg.url, "ev/pubfail", "v1", image);
      assert.equal(res.status, 201);
      assert.equal(reg.publisher.events.filter((e) => e.data.name === "ev/pubfail").length, 0);
    } finally {
      reg.publisher.failWith = undefined;
    }
    const kinds = await waitFor("the refused events, retried", () => {
      const mine = reg.publisher.events.filter((e) => e.data.name === "ev/pubfail");
      return mine.length >= 2 ? mine.map((e) => e.type.split(".").slice(1).join(".")) : undefined;
    });
    assert.deepEqual(kinds, ["repository.created", "image.updated"]);
  });
});

describe("events with htpasswd auth, lint, custom source and prefix", () => {
  let reg: RunningRegistry;
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-ev-"));
    reg = await startRegistry({
      htpasswd: `alice:${hashSync("s3cret", 4)}\n`,
      lint: { enable: true, mandatoryAnnotations: ["org.opencontainers.image.source"] },
      eventSource: "https://registry.example.com",
      typePrefix: "com.example.registry",
    });
  });
  after(async () => {
    await reg.stop();
    await rm(dir, { recursive: true, force: true });
  });

  it("carries actor.name of the authenticated user", async () => {
    const image = makeImage({ annotations: { "org.opencontainers.image.source": "https://git.example.com/x" } });
    await pushImage(reg.url, "ev/auth", "v1", image, basic("alice", "s3cret"));
    const types = reg.publisher.events.map((e) => e.type);
    assert.deepEqual(types, ["com.example.registry.repository.created", "com.example.registry.image.updated"]);
    for (const event of reg.publisher.events) {
      assert.equal(event.source, "https://registry.example.com");
      assert.deepEqual(event.data.actor, { name: "alice" });
    }
  });

  it("lint: missing mandatory annotations → MANIFEST_INVALID and image.lint_failed", async () => {
    reg.publisher.clear();
    const image = makeImage();
    const res = await pushImage(reg.url, "ev/auth", "v2", image, basic("alice", "s3cret")).catch((e: Error) => e);
    assert.ok(res instanceof Error && /manifest push 400/.test(res.message));
    assert.match(res.message, /MANIFEST_INVALID/);
    const failed = reg.publisher.ofKind("image.lint_failed");
    assert.equal(failed.length, 1);
    const { request, actor, ...data } = failed[0]!.data;
    assert.deepEqual(data, {
      name: "ev/auth",
      reference: "v2",
      digest: image.digest,
      mediaType: OCI_MANIFEST,
      manifest: image.manifest.toString("utf8"),
    });
    assert.deepEqual(actor, { name: "alice" });
    assert.equal(request?.method, "PUT");
    assert.equal(reg.publisher.ofKind("image.updated").length, 0);
    assert.equal((await call(reg.url, "GET", "/v2/ev/auth/manifests/v2", { headers: basic("alice", "s3cret") })).status, 404);
  });

  it("lint: a config label satisfies a mandatory annotation", async () => {
    const image = makeImage({ labels: { "org.opencontainers.image.source": "x" } });
    const res = await pushImage(reg.url, "ev/auth", "v3", image, basic("alice", "s3cret"));
    assert.equal(res.status, 201);
  });
});

describe("repository.created survives a crash between creating the repository and the event", () => {
  let root: string;
  let reg: RunningRegistry;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), "berth-leftover-"));
    // An earlier run created two repositories and died before either event was durable.
    const earlier = await openStorage(root);
    for (const name of ["ev/retried", "ev/leftover"]) {
      await assert.rejects(earlier.repositories.ensure(name, () => Promise.reject(new Error("killed"))));
    }
    reg = await startRegistry({ root });
  });
  after(async () => {
    await reg.stop();
    await rm(root, { recursive: true, force: true });
  });

  it("the client's retry of the push announces it, with the retry's request", async () => {
    await pushImage(reg.url, "ev/retried", "v1", makeImage(), { "User-Agent": "retry/1" });
    const created = reg.publisher.ofKind("repository.created").filter((e) => e.data.name === "ev/retried");
    assert.equal(created.length, 1);
    assert.equal(created[0]?.data.request?.useragent, "retry/1");
  });

  it("start-up announces the rest, as internally triggered events (no actor, no request), once", async () => {
    assert.deepEqual(await reg.app.announceLeftovers(), ["ev/leftover"]);
    const created = reg.publisher.ofKind("repository.created").filter((e) => e.data.name === "ev/leftover");
    assert.equal(created.length, 1);
    assert.equal(created[0]?.data.request, undefined);
    assert.equal(created[0]?.data.actor, undefined);
    assert.deepEqual(await reg.app.announceLeftovers(), []);
    await pushImage(reg.url, "ev/leftover", "v1", makeImage());
    assert.equal(reg.publisher.ofKind("repository.created").filter((e) => e.data.name === "ev/leftover").length, 1);
  });
});

