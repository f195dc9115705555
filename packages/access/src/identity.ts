import type { AccessAction } from "@berth/config";

export type { AccessAction };

/**
 * Who made a request, as an authentication provider established it (htpasswd, a client
 * certificate, a bearer token). Absent identity = anonymous.
 */
export interface Identity {
  /** The user name: htpasswd user, certificate CN, token `sub`. Events carry it as the actor. */
  user: string;
  /** Groups from `accessControl.groups`; empty when the provider knows none. */
  groups: readonly string[];
  /**
   * Set for bearer tokens: the token service already decided what this request may do, and the
   * token's `access` claims are that decision (zot bypasses accessControl for bearer requests too).
   */
  grants?: AccessGrants;
}

/** What a bearer token allows, by the token spec's resource type, name and action. */
export interface AccessGrants {
  allows(type: string, name: string, action: string): boolean;
}
