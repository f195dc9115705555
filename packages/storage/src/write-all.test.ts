/**
 * Short writes (issue 14's review: the NFS tag-log append ignored a partial write, leaving a hole
 * where a record belonged): every byte lands at its place, whatever each write call takes, and a
 * write that takes nothing is an error rather than an endless loop. Real files; the writer takes
 * at most a few bytes per call, as a file on a network filesystem or under a signal may.
 */
import assert from "node:assert/strict";
import { write } from "node:fs";
import { mkdtemp, open, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { after, before, test } from "node:test";
import { promisify } from "node:util";
import { ShortWriteError, writeAll } from "./write-all.js";

const writeFd = promisify(write);
let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), "berth-write-all-"));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test("a positional write that the file takes a few bytes at a time lands whole, after what was there", async () => {
  const path = join(dir, "log");
  const file = await open(path, "w+");
  try {
    await file.write("header\n");
    const record = Buffer.from("a record of forty-odd bytes, give or take\n");
    let calls = 0;
    await writeAll(
      (offset, length, position) => {
        calls++;
        return writeFd(file.fd, record, offset, Math.min(length, 5), position);
      },
      record,
      7,
    );
    assert.equal(calls, Math.ceil(record.length / 5));
    assert.equal(await readFile(path, "utf8"), `header\n${record}`);
  } finally {
    await file.close();
  }
});

test("a write that takes nothing is an error naming how far it got", async () => {
  const data = Buffer.from("0123456789");
  let calls = 0;
  const stuck = async () => ({ bytesWritten: calls++ === 0 ? 4 : 0 });
  await assert.rejects(writeAll(stuck, data, 0), (err: Error) => err instanceof ShortWriteError && /4 of 10 bytes/.test(err.message));
});
