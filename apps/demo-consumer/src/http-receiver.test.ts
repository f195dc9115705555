import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { after, before, test } from "node:test";
import type { ReceivedEvent } from "./event-line.js";
import { eventLine } from "./event-line.js";
import { createHttpReceiver } from "./http-receiver.js";

const received: ReceivedEvent[] = [];
const server = createHttpReceiver({
  basicAuth: { username: "hook", password: "s3cret" },
  onEvent: (e) => received.push(e),
});
let url = "";
const auth = `Basic ${Buffer.from("hook:s3cret").toString("base64")}`;

before(async () => {
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/events`;
});
after(() => server.close());

test("binary-mode delivery is read from ce- headers and the data body", async () => {
  const res = await fetch(url, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/json", "ce-id": "e1", "ce-type": "zotregistry.image.updated" },
    body: JSON.stringify({ name: "library/alpine", reference: "latest", actor: { name: "alice" } }),
  });
  assert.equal(res.status, 204);
  const last = received.at(-1)!;
  assert.deepEqual([last.id, last.type, last.data.name], ["e1", "zotregistry.image.updated", "library/alpine"]);
  assert.match(eventLine(last), /zotregistry\.image\.updated\s+library\/alpine:latest\s+id=e1\s+actor=alice/);
});

test("structured-mode delivery is read from the event JSON", async () => {
  const res = await fetch(url, {
    method: "POST",
    headers: { authorization: auth, "content-type": "application/cloudevents+json" },
    body: JSON.stringify({ id: "e2", type: "zotregistry.image.deleted", data: { name: "a/b", reference: "sha256:ab" } }),
  });
  assert.equal(res.status, 204);
  assert.match(eventLine(received.at(-1)!), /a\/b@sha256:ab/);
});

test("a delivery without the expected credentials is refused", async () => {
  const before = received.length;
  const res = await fetch(url, { method: "POST", headers: { "content-type": "application/json" }, body: "{}" });
  assert.equal(res.status, 401);
  assert.equal(received.length, before);
});

test("an event without a reference prints the repository alone", () => {
  const line = eventLine({ via: "nats", id: "e3", type: "zotregistry.repository.created", data: { name: "demo/app" } });
  assert.match(line, /repository\.created\s+demo\/app\s+id=e3/);
});
