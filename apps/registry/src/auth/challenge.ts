/**
 * 401 answers carry a `WWW-Authenticate` challenge telling the client how to authenticate:
 * Basic for htpasswd, Bearer with the token service's realm, service and the scope the request
 * needs (Docker registry token spec, "How to authenticate").
 */
import { OciError } from "@berth/oci";

export class AuthenticationRequired extends OciError {
  constructor(
    readonly challenge: string,
    message?: string,
  ) {
    super("UNAUTHORIZED", message, { detail: {} });
  }
}

export const BASIC_CHALLENGE = 'Basic realm="Berth Registry"';

export interface BearerChallengeParams {
  realm: string;
  service: string;
  /** `repository:team/app:pull,push`, `registry:catalog:*`; absent for `/v2/`. */
  scope?: string;
  /** RFC 6750 error code, e.g. `invalid_token` for a token that failed verification. */
  error?: string;
}

export function bearerChallenge(params: BearerChallengeParams): string {
  const parts = [`realm=${quote(params.realm)}`, `service=${quote(params.service)}`];
  if (params.scope !== undefined) parts.push(`scope=${quote(params.scope)}`);
  if (params.error !== undefined) parts.push(`error=${quote(params.error)}`);
  return `Bearer ${parts.join(",")}`;
}

function quote(value: string): string {
  return `"${value.replace(/["\\]/g, "\\$&")}"`;
}
