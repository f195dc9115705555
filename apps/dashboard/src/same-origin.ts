import type { IncomingHttpHeaders } from "node:http";
import type { NextFunction, Request, RequestHandler, Response } from "express";

/**
 * CSRF defence for every state-changing route (Berth's replay routes and Bull Board's POST/PUT/
 * PATCH API). Browsers send Basic credentials with any request to the dashboard, including ones a
 * page on another site makes, so a mutating request is refused (403) when the browser says it
 * comes from elsewhere: `Sec-Fetch-Site` other than same-origin, or an `Origin` (else `Referer`)
 * whose host is not the `Host` this request was sent to. Browsers always send `Origin` on
 * cross-origin POSTs; requests with none of these headers come from scripts (curl, the CLI),
 * which cannot be made to act by a visited page, and pass.
 * (OWASP CSRF cheat sheet, "Verifying Origin with standard headers"; Fetch Metadata.)
 */
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function sameOriginOnly(): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const reason = SAFE_METHODS.has(req.method) ? undefined : crossSiteReason(req.headers);
    if (reason === undefined) next();
    else res.status(403).json({ error: `cross-site request refused (${reason})` });
  };
}

/** Why the request is not from the dashboard's own pages, or undefined when nothing says so. */
export function crossSiteReason(headers: IncomingHttpHeaders): string | undefined {
  const site = headers["sec-fetch-site"];
  if (site !== undefined && site !== "same-origin" && site !== "none") return `Sec-Fetch-Site: ${site}`;
  const host = headers.host;
  for (const name of ["origin", "referer"] as const) {
    const value = headers[name];
    if (value === undefined) continue;
    return host !== undefined && hostOf(value) === host.toLowerCase() ? undefined : `${name} is not this dashboard`;
  }
  return undefined;
}

function hostOf(url: string): string | undefined {
  try {
    return new URL(url).host.toLowerCase();
  } catch {
    // `Origin: null` (sandboxed frames, some redirects) and garbage are never same-origin.
    return undefined;
  }
}
