/**
 * A tiny token service as the Docker registry token spec describes one: `GET /token?service=
 * …&scope=repository:<name>:<actions>` with Basic credentials answers `{ token, access_token,
 * expires_in }`, an ES256 JWT granting the requested actions the user is allowed. Anonymous
 * requests get a token granting nothing. Tests only.
 */
import { type KeyObject, createPrivateKey, randomUUID, sign } from "node:crypto";
import { readFileSync } from "node:fs";
import { type Server, createServer } from "node:http";
import type { AddressInfo } from "node:net";

export interface TokenServiceOptions {
  /** PEM private key (P-256) whose certificate the registry trusts. */
  keyFile: string;
  service: string;
  /** user → password and the token actions (`pull`, `push`, `delete`, `*`) they may get anywhere. */
  users: Record<string, { password: string; actions: string[] }>;
}

export interface TokenService {
  realm: string;
  /** Issued tokens' requests, for assertions: `[user, scope]`. */
  issued: Array<{ user: string; scopes: string[] }>;
  /** A token with arbitrary claims, signed by the service key (or `key`). */
  sign(claims: Record<string, unknown>, key?: KeyObject): string;
  close(): Promise<void>;
}

export async function startTokenService(options: TokenServiceOptions): Promise<TokenService> {
  const key = createPrivateKey(readFileSync(options.keyFile));
  const issued: TokenService["issued"] = [];
  const signToken = (claims: Record<string, unknown>, signer: KeyObject = key) => {
    const encode = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url");
    const input = `${encode({ alg: "ES256", typ: "JWT" })}.${encode(claims)}`;
    const signature = sign("sha256", Buffer.from(input), { key: signer, dsaEncoding: "ieee-p1363" });
    return `${input}.${signature.toString("base64url")}`;
  };

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://token");
    const user = authenticate(req.headers.authorization, options.users);
    if (user === null || url.pathname !== "/token" || url.searchParams.get("service") !== options.service) {
      res.writeHead(401, { "Content-Type": "application/json" }).end('{"errors":[{"code":"UNAUTHORIZED"}]}');
      return;
    }
    const allowed = user === undefined ? [] : options.users[user]!.actions;
    const scopes = url.searchParams.getAll("scope").flatMap((s) => s.split(" "));
    const access = scopes.map((scope) => {
      const [type, name, actions] = splitScope(scope);
      // Any signed-in user may list the catalog (the registry then shows every repository).
      if (type === "registry" && user !== undefined) return { type, name, actions };
      return { type, name, actions: actions.filter((a) => allowed.includes(a) || allowed.includes("*")) };
    });
    issued.push({ user: user ?? "", scopes });
    const now = Math.floor(Date.now() / 1000);
    const token = signToken({ iss: "test-token-service", sub: user ?? "", aud: options.service, exp: now + 300, nbf: now - 5, iat: now, jti: randomUUID(), access });
    res.writeHead(200, { "Content-Type": "application/json" }).end(JSON.stringify({ token, access_token: token, expires_in: 300 }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    issued,
    sign: signToken,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** undefined = anonymous, null = bad credentials. */
function authenticate(header: string | undefined, users: TokenServiceOptions["users"]): string | undefined | null {
  if (!header) return undefined;
  const decoded = Buffer.from(header.replace(/^Basic\s+/i, ""), "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  const user = decoded.slice(0, colon);
  return colon > 0 && users[user]?.password === decoded.slice(colon + 1) ? user : null;
}

/** `repository:team/app:pull,push` → type, name, actions (names may hold `:` only for ports). */
function splitScope(scope: string): [string, string, string[]] {
  const first = scope.indexOf(":");
  const last = scope.lastIndexOf(":");
  return [scope.slice(0, first), scope.slice(first + 1, last), scope.slice(last + 1).split(",")];
}
