import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import type { SinkConfig } from "@berth/config";
import { TransientDeliveryError } from "@berth/delivery";
import { uniqueName } from "@berth/testing";
import type { NodeConnectionOptions } from "@nats-io/transport-node";
import { createNatsSink } from "./create-nats-sink.js";
import { sampleEvent } from "./test-support/events.js";
import { startConfiguredNatsServer } from "./test-support/nats-server-config.js";
import { natsSinkConfig } from "./test-support/sink-config.js";
import { subscribe } from "./test-support/subscriber.js";
import { makeTestPki, type TestPki } from "./test-support/test-pki.js";

const attempt = (ms = 5_000) => ({ signal: AbortSignal.timeout(ms), attempt: 1 });
const PASSWORD = "pw-Zq81-never-logged";
const TOKEN = "tok-Hk27-never-logged";

/** Delivers one event through a sink and checks a subscriber (with its own access) got it. */
async function deliversTo(url: string, sink: Partial<SinkConfig>, access: Omit<NodeConnectionOptions, "servers">) {
  const subject = uniqueName("berth.auth");
  const sub = await subscribe(url, subject, access);
  const s = createNatsSink(natsSinkConfig({ address: url, channel: subject, ...sink }));
  try {
    const event = sampleEvent();
    await s.deliver(event, attempt());
    const [msg] = await sub.waitForCount(1);
    assert.equal(msg?.json<{ id: string }>().id, event.id);
  } finally {
    await s.close();
    await sub.close();
  }
}

describe("nats sink connection security", () => {
  let pki: TestPki;
  before(async () => {
    pki = await makeTestPki();
  });
  after(() => pki.remove());

  test("username/password: delivers; a wrong password fails with a clear error that does not contain it", async () => {
    const server = await startConfiguredNatsServer(`authorization { user: "berth", password: "${PASSWORD}" }\n`);
    try {
      await deliversTo(server.url, { credentials: { username: "berth", password: PASSWORD } }, { user: "berth", pass: PASSWORD });

      const wrong = `${PASSWORD}-wrong`;
      const sink = createNatsSink(
        natsSinkConfig({ address: server.url, channel: "berth.auth.x", credentials: { username: "berth", password: wrong } }),
      );
      try {
        await assert.rejects(sink.deliver(sampleEvent(), attempt()), (err: unknown) => {
          assert.ok(err instanceof TransientDeliveryError);
          assert.equal(err.reason, "auth");
          assert.match(err.message, /rejected the sink's credentials/);
          assert.ok(!err.message.includes(wrong) && !err.message.includes(PASSWORD), err.message);
          return true;
        });
      } finally {
        await sink.close();
      }
    } finally {
      await server.destroy();
    }
  });

  test("token: delivers with the token, a missing token is refused as auth", async () => {
    const server = await startConfiguredNatsServer(`authorization { token: "${TOKEN}" }\n`);
    try {
      await deliversTo(server.url, { credentials: { token: TOKEN } }, { token: TOKEN });
      const anonymous = createNatsSink(natsSinkConfig({ address: server.url, channel: "berth.auth.y" }));
      try {
        await assert.rejects(anonymous.deliver(sampleEvent(), attempt()), (err: unknown) => {
          assert.ok(err instanceof TransientDeliveryError);
          assert.equal(err.reason, "auth");
          return true;
        });
      } finally {
        await anonymous.close();
      }
    } finally {
      await server.destroy();
    }
  });

  test("TLS with the sink's CA, and mutual TLS with a client certificate", async () => {
    const server = await startConfiguredNatsServer(
      `tls {\n  cert_file: "${pki.serverCertFile}"\n  key_file: "${pki.serverKeyFile}"\n` +
        `  ca_file: "${pki.caCertFile}"\n  verify: true\n}\n`,
    );
    const tls = { caFile: pki.caCertFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile };
    try {
      await deliversTo(
        server.url,
        { tls: { caCertFile: pki.caCertFile, certFile: pki.clientCertFile, keyFile: pki.clientKeyFile } },
        { tls },
      );
      // Without the client certificate the server refuses the handshake: not delivered.
      const noCert = createNatsSink(
        natsSinkConfig({ address: server.url, channel: "berth.tls.z", tls: { caCertFile: pki.caCertFile } }),
      );
      try {
        await assert.rejects(noCert.deliver(sampleEvent(), attempt(1_000)), TransientDeliveryError);
      } finally {
        await noCert.close();
      }
    } finally {
      await server.destroy();
    }
  });

  test("TLS: a server certificate from an unknown CA is not trusted", async () => {
    const server = await startConfiguredNatsServer(
      `tls {\n  cert_file: "${pki.serverCertFile}"\n  key_file: "${pki.serverKeyFile}"\n}\n`,
    );
    const other = await makeTestPki();
    const sink = createNatsSink(
      natsSinkConfig({ address: server.url, channel: "berth.tls.u", tls: { caCertFile: other.caCertFile } }),
    );
    try {
      await assert.rejects(sink.deliver(sampleEvent(), attempt(1_000)), (err: unknown) => {
        assert.ok(err instanceof TransientDeliveryError);
        assert.equal(err.reason, "unreachable");
        return true;
      });
    } finally {
      await sink.close();
      await other.remove();
      await server.destroy();
    }
  });

  test("an unreadable credentials file is reported by path", async () => {
    const path = `/nonexistent/${uniqueName("creds")}.creds`;
    const sink = createNatsSink(
      natsSinkConfig({ address: "nats://127.0.0.1:4222", channel: "berth.creds", credentials: { file: path } }),
    );
    try {
      await assert.rejects(sink.deliver(sampleEvent(), attempt(1_000)), (err: unknown) => {
        assert.ok(err instanceof TransientDeliveryError);
        assert.equal(err.reason, "credentials");
        assert.ok(err.message.includes(path));
        return true;
      });
    } finally {
      await sink.close();
    }
  });
});
