import assert from "node:assert/strict";
import { randomBytes } from "node:crypto";
import { mkdtemp, open, rm, writeFile } from "node:fs/promises";
import { type ClientRequest, type IncomingMessage, type Server, type ServerResponse, createServer, get } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, describe, it } from "node:test";
import { waitFor } from "@berth/testing";
import { largeBuffersOut, sendFileRange } from "./blob-sender.js";

/** Larger than two 512 KiB chunks, and not a multiple of them, so buffers are reused mid-transfer. */
const DATA = randomBytes(3 * 1024 * 1024 + 12345);

describe("sendFileRange over a real HTTP server", () => {
  let dir: string;
  let server: Server;
  let base: string;
  const outcomes: (Error | "ok")[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), "berth-blob-sender-"));
    await writeFile(join(dir, "blob"), DATA);
    // Larger than what loopback socket buffers absorb, so a client that never reads stalls its transfer.
    await writeFile(join(dir, "big"), Buffer.alloc(32 * 1024 * 1024, 1));
    server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
      const big = req.url?.startsWith("/big/");
      const [start, end] = (req.url ?? "").replace("/big", "").slice(1).split("-").map(Number) as [number, number];
      const handle = await open(join(dir, big ? "big" : "blob"), "r");
      res.writeHead(200, { "Content-Length": end - start + 1 });
      try {
        await sendFileRange(handle, res, start, end);
        res.end();
        outcomes.push("ok");
      } catch (err) {
        outcomes.push(err as Error);
        res.destroy();
      } finally {
        await handle.close();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
    await rm(dir, { recursive: true, force: true });
  });

  function fetchBytes(path: string, { slow = false } = {}): Promise<Buffer> {
    return new Promise((resolve, reject) => {
      get(`${base}${path}`, (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (c: Buffer) => {
          chunks.push(c);
          // A slow reader: the sender must wait for the socket (backpressure) and lose nothing.
          if (slow) {
            res.pause();
            setImmediate(() => res.resume());
          }
        });
        res.on("end", () => resolve(Buffer.concat(chunks)));
        res.on("error", reject);
      }).on("error", reject);
    });
  }

  it("sends the whole file and ranges across chunk boundaries byte for byte", async () => {
    const all = await Promise.all([
      fetchBytes(`/0-${DATA.length - 1}`),
      fetchBytes(`/0-${DATA.length - 1}`, { slow: true }),
      fetchBytes(`/524280-1048600`),
      fetchBytes(`/${DATA.length - 7}-${DATA.length - 1}`),
    ]);
    assert.ok(all[0]!.equals(DATA));
    assert.ok(all[1]!.equals(DATA));
    assert.ok(all[2]!.equals(DATA.subarray(524280, 1048601)));
    assert.ok(all[3]!.equals(DATA.subarray(DATA.length - 7)));
  });

  it("stops with an error when the client goes away, and later transfers are intact", async () => {
    outcomes.length = 0;
    await new Promise<void>((resolve) => {
      const req = get(`${base}/0-${DATA.length - 1}`, (res) => res.once("data", () => req.destroy()));
      req.on("error", () => undefined);
      req.on("close", () => resolve());
    });
    // The aborted transfer settles with an error (it never reports success).
    await waitFor("the aborted transfer to settle", () => outcomes.length > 0);
    assert.equal(outcomes.length, 1);
    assert.ok(outcomes[0] instanceof Error);
    const again = await fetchBytes(`/0-${DATA.length - 1}`);
    assert.ok(again.equals(DATA));
  });

  it("stalled transfers hold at most the large-buffer allowance, and give it back when their clients leave", async () => {
    outcomes.length = 0;
    const size = 32 * 1024 * 1024;
    const requests: ClientRequest[] = [];
    let most = 0;
    // 24 clients that read nothing: each transfer ramps up, then waits on a full socket for good.
    for (let i = 0; i < 24; i++) {
      const req = get(`${base}/big/0-${size - 1}`, (res) => res.pause());
      req.on("error", () => undefined);
      requests.push(req);
    }
    await waitFor("transfers to hold large buffers", () => {
      most = Math.max(most, largeBuffersOut());
      return largeBuffersOut() > 0;
    });
    for (const req of requests) req.destroy();
    await waitFor("every transfer to settle", () => {
      most = Math.max(most, largeBuffersOut());
      return outcomes.length === requests.length;
    });
    assert.ok(most <= 16, `at most the allowance out at once: ${most}`);
    assert.ok(outcomes.every((o) => o instanceof Error));
    assert.equal(largeBuffersOut(), 0, "aborted transfers gave their large buffers back");
  });
});
