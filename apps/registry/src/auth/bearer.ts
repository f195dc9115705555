/**
 * Bearer token provider (zot's `http.auth.bearer`): `Authorization: Bearer <JWT>` issued by the
 * configured token service, verified against its certificate's key, audience = `service`.
 */
import type { KeyObject } from "node:crypto";
import { type Identity, TokenError, grantsFromClaim, verifyJwt } from "@berth/access";
import { AuthenticationRequired, bearerChallenge } from "./challenge.js";

export interface BearerProviderOptions {
  realm: string;
  service: string;
  /** Public key of the token service's signing key. */
  key: KeyObject;
}

export class BearerProvider {
  constructor(private readonly options: BearerProviderOptions) {}

  /** The identity a valid token stands for; AuthenticationRequired (invalid_token) otherwise. */
  verify(token: string, scope: string | undefined): Identity {
    try {
      const claims = verifyJwt(token, this.options.key, { audience: this.options.service });
      return { user: typeof claims.sub === "string" ? claims.sub : "", groups: [], grants: grantsFromClaim(claims.access) };
    } catch (err) {
      if (!(err instanceof TokenError)) throw err;
      throw new AuthenticationRequired(this.challenge(scope, "invalid_token"), `invalid bearer token: ${err.message}`);
    }
  }

  challenge(scope: string | undefined, error?: string): string {
    const { realm, service } = this.options;
    return bearerChallenge({ realm, service, ...(scope === undefined ? {} : { scope }), ...(error === undefined ? {} : { error }) });
  }
}
