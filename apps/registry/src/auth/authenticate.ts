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
import type { BearerProvider } from "./bearer.js";
import { AuthenticationRequired, BASIC_CHALLENGE } from "./challenge.js";
import { type HtpasswdAuthenticator, parseBasicAuth } from "./htpasswd.js";
import type { LdapAuthenticator } from "./ldap.js";

export interface AuthProviders {
  htpasswd?: HtpasswdAuthenticator;
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
    if (basic && htpasswd && (await htpasswd.verify(basic.user, basic.password))) {
      return { user: basic.user, groups: this.groupsOf(basic.user) };
    }
    const directory = basic && ldap ? await ldap.verify(basic.user, basic.password) : undefined;
    if (basic && directory) {
      // Groups from the directory and from accessControl.groups both count.
      return { user: basic.user, groups: [...new Set([...directory.groups, ...this.groupsOf(basic.user)])] };
    }
    throw new AuthenticationRequired(this.challenge(scope));
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
