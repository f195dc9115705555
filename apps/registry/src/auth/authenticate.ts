/**
 * Authentication: turns a request's credentials into an Identity, whichever provider applies —
 * `Authorization: Basic` (htpasswd, then LDAP), `Authorization: Bearer` (token service), or, without an
 * Authorization header, a verified client certificate (mTLS: its CN is the user, as in zot).
 * No credentials = anonymous (undefined); bad credentials = 401 with the challenge to retry.
 * Deciding what an identity may do is the Authorizer's job (@berth/access), not this module's.
 */
import type { IncomingMessage } from "node:http";
import type { TLSSocket } from "node:tls";
import type { Identity } from "@berth/access";
import { type FailureLimiter, HashPoolBusyError, type Htpasswd, parseBasicAuth } from "@berth/htpasswd";
import { OciError } from "@berth/oci";
import type { BearerProvider } from "./bearer.js";
import { AuthenticationRequired, BASIC_CHALLENGE } from "./challenge.js";
import type { LdapAuthenticator } from "./ldap.js";

export interface AuthProviders {
  htpasswd?: Htpasswd;
  /** Failed Basic logins per client address (htpasswd and LDAP alike); past the limit: 429. */
  limiter?: FailureLimiter;
  /** Tried after htpasswd for Basic credentials, as zot does. */
  ldap?: LdapAuthenticator;
  bearer?: BearerProvider;
  /** The listener verifies client certificates (http.tls.cacert). */
  clientCertificates?: boolean;
}

export class Authenticator {
  constructor(
    private readonly providers: AuthProviders,
    private readonly groupsOf: (user: string) => string[],
  ) {}

  /** Some provider is configured: anonymous requests are then the exception, not the rule. */
  get configured(): boolean {
    const { htpasswd, ldap, bearer, clientCertificates } = this.providers;
    return htpasswd !== undefined || ldap !== undefined || bearer !== undefined || clientCertificates === true;
  }

  /** `scope` names what the request needs, for a Bearer challenge (`repository:x:pull`). */
  async authenticate(req: IncomingMessage, scope: string | undefined): Promise<Identity | undefined> {
    const { htpasswd, ldap, bearer } = this.providers;
    const header = req.headers.authorization;
    // Credentials nobody here can check are not an error: an open or certificate-only registry
    // serves clients that send them anyway (a stored login).
    if (header === undefined || header === "" || (!htpasswd && !ldap && !bearer)) return this.clientCertificate(req);
    const token = /^Bearer\s+(\S+)\s*$/i.exec(header)?.[1];
    if (token !== undefined && bearer) return bearer.verify(token, scope);
    const basic = parseBasicAuth(header);
    // containers/image answers a Basic challenge with empty credentials when it has none.
    if (basic?.user === "" && basic.password === "") return this.clientCertificate(req);
    if (basic) {
      const identity = await this.basic(req, basic.user, basic.password);
      if (identity) return identity;
    }
    throw new AuthenticationRequired(this.challenge(scope));
  }

  /**
   * Basic credentials: htpasswd, then LDAP. Remembered logins pass without bcrypt, so an address
   * refused for failed attempts still serves its users who logged in before; anything else is
   * checked against the limiter first, so a refused address costs no bcrypt or directory bind.
   */
  private async basic(req: IncomingMessage, user: string, password: string): Promise<Identity | undefined> {
    const { htpasswd, ldap, limiter } = this.providers;
    if (htpasswd?.remembers(user, password)) return { user, groups: this.groupsOf(user) };
    const address = req.socket.remoteAddress ?? "";
    const wait = limiter?.retryAfterSeconds(address) ?? 0;
    if (wait > 0) throw tooMany(wait, "too many failed logins from this address");
    if (htpasswd && (await verifyOrBusy(htpasswd, user, password, req))) return { user, groups: this.groupsOf(user) };
    const directory = ldap ? await ldap.verify(user, password) : undefined;
    if (directory) {
      // Groups from the directory and from accessControl.groups both count.
      return { user, groups: [...new Set([...directory.groups, ...this.groupsOf(user)])] };
    }
    limiter?.recordFailure(address);
    return undefined;
  }

  /** The challenge of a 401: Bearer when a token service is configured, else Basic. */
  challenge(scope: string | undefined): string {
    return this.providers.bearer ? this.providers.bearer.challenge(scope) : BASIC_CHALLENGE;
  }

  private clientCertificate(req: IncomingMessage): Identity | undefined {
    if (!this.providers.clientCertificates) return undefined;
    const socket = req.socket as TLSSocket;
    if (!socket.authorized) return undefined;
    const cn = socket.getPeerCertificate().subject?.CN;
    const user = Array.isArray(cn) ? cn[0] : cn;
    return user ? { user, groups: this.groupsOf(user) } : undefined;
  }
}

/**
 * A check whose client hangs up while it waits for a bcrypt thread is dropped (the rejection
 * carries ECONNABORTED, which the error mapper treats as a client gone): a flood of guesses that
 * disconnect costs no bcrypt.
 */
async function verifyOrBusy(htpasswd: Htpasswd, user: string, password: string, req: IncomingMessage): Promise<boolean> {
  const left = new AbortController();
  const onClose = () => left.abort();
  req.socket.once("close", onClose);
  try {
    return await htpasswd.verify(user, password, left.signal);
  } catch (err) {
    if (err instanceof HashPoolBusyError) throw tooMany(1, "too many logins being checked");
    throw err;
  } finally {
    req.socket.off("close", onClose);
  }
}

/** 429 with `Retry-After` (the error mapper sets the header from `detail.retryAfter`). */
function tooMany(seconds: number, message: string): OciError {
  return new OciError("TOOMANYREQUESTS", message, { detail: { retryAfter: seconds } });
}
