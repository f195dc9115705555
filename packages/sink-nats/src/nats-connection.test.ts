import assert from "node:assert/strict";
import { after, before, describe, test } from "node:test";
import { TransientDeliveryError } from "@berth/delivery";
import { freePort, type OwnServer, startNatsServer, uniqueName, waitFor } from "@berth/testing";
import { NatsConnector } from "./nats-connection.js";
import { natsSinkConfig } from "./test-support/sink-config.js";
import { startTcpProxy, type TcpProxy } from "./test-support/tcp-proxy.js";

interface Connz {
  connections?: { name?: string }[];
}

/** Closing must leave nothing open: a connection left redialling keeps the worker process alive. */
describe("nats connector close", () => {
  let server: OwnServer;
  let monitorPort: number;
  let proxy: TcpProxy;

  before(async () => {
    monitorPort = await freePort();
    server = await startNatsServer({ extraArgs: ["-m", String(monitorPort)] });
    proxy = await startTcpProxy(server.port);
  });
  after(async () => {
    await proxy?.close();
    await server?.destroy();
  });

  /** Names of the server's open (or, with `closed`, recently closed) client connections. */
  async function connectionNames(state: "open" | "closed"): Promise<string[]> {
    const res = await fetch(`http://127.0.0.1:${monitorPort}/connz?state=${state}&limit=1024`);
    const body = (await res.json()) as Connz;
    return (body.connections ?? []).map((c) => c.name ?? "");
  }

  function connector(name: string): NatsConnector {
    const sink = natsSinkConfig({ name, address: proxy.url, channel: uniqueName("berth.close"), timeoutMs: 2_000 });
    return new NatsConnector(sink, { connectionName: name });
  }

  test("close while the link is down and the client redials: the connection ends closed", async () => {
    proxy.setMode("pass");
    const name = uniqueName("close-redialling");
    const c = connector(name);
    const nc = await c.connection(AbortSignal.timeout(5_000));
    try {
      await waitFor("server lists the connection", async () => (await connectionNames("open")).includes(name));
      proxy.setMode("refuse");
      await waitFor("link down", () => c.disconnected);

      await c.close();
      // A drain started while redialling is failed by the next redial without closing; the
      // connection then redialled forever (heartbeat + dial-delay timers held the process).
      assert.equal(nc.isClosed(), true, "the redialling connection is closed, not left reconnecting");
      await assert.rejects(c.connection(AbortSignal.timeout(1_000)), TransientDeliveryError);
    } finally {
      if (!nc.isClosed()) await nc.close();
      proxy.setMode("pass");
    }
  });

  test("close while the first connect is in flight: that connection is closed before close settles", async () => {
    proxy.setMode("hang");
    const name = uniqueName("close-connecting");
    const c = connector(name);
    const seen = proxy.accepted;
    const pending = assert.rejects(c.connection(new AbortController().signal), TransientDeliveryError);
    await waitFor("connect attempt reached the proxy", () => proxy.accepted > seen);

    const closing = c.close();
    // Released, the held handshake completes: the connect succeeds only after close was called.
    proxy.setMode("pass");
    await closing;
    await pending;

    await waitFor("server saw the late connection and saw it closed", async () =>
      (await connectionNames("closed")).includes(name),
    );
    assert.ok(!(await connectionNames("open")).includes(name), "no connection of the closed sink is open");
  });
});
