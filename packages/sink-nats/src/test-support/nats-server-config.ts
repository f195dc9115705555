import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type OwnServer, startNatsServer } from "@berth/testing";

/**
 * An own nats-server started with a config file (auth, TLS…) written to a temp dir; `config` is
 * the server's config syntax. Destroying it removes the file too.
 */
export async function startConfiguredNatsServer(config: string): Promise<OwnServer> {
  const dir = await mkdtemp(join(tmpdir(), "berth-nats-conf-"));
  const file = join(dir, "nats.conf");
  await writeFile(file, config);
  const server = await startNatsServer({ jetstream: false, extraArgs: ["-c", file] });
  return {
    ...server,
    async destroy() {
      await server.destroy();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
