import { createHash, timingSafeEqual } from "node:crypto";
import type { NextFunction, Request, RequestHandler, Response } from "express";

/**
 * HTTP Basic authentication (RFC 7617) for the whole dashboard. Verifiers are checked in constant
 * time (a configured password) or by @berth/htpasswd (bcrypt off the event loop, unknown users at
 * the same cost, successes remembered for Bull Board's polling).
 */
export type Verifier = (user: string, password: string) => Promise<boolean>;

const REALM = 'Basic realm="berth dashboard", charset="UTF-8"';

function digest(text: string): Buffer {
  return createHash("sha256").update(text).digest();
}

/** A single user from the config (`dashboard.auth.username` / `password`). */
export function passwordVerifier(username: string, password: string): Verifier {
  const expected = digest(`${username}\0${password}`);
  return async (user, pass) => timingSafeEqual(digest(`${user}\0${pass}`), expected);
}

function credentials(req: Request): { user: string; pass: string } | undefined {
  const header = req.headers.authorization;
  if (!header) return undefined;
  const [scheme, token] = header.split(" ", 2);
  if (scheme?.toLowerCase() !== "basic" || !token) return undefined;
  const decoded = Buffer.from(token, "base64").toString("utf8");
  const colon = decoded.indexOf(":");
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), pass: decoded.slice(colon + 1) };
}

export function basicAuth(verify: Verifier): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const given = credentials(req);
    const deny = () => res.status(401).set("WWW-Authenticate", REALM).type("text/plain").send("authentication required\n");
    if (!given) {
      deny();
      return;
    }
    verify(given.user, given.pass).then(
      (ok) => (ok ? next() : deny()),
      (err) => next(err),
    );
  };
}
