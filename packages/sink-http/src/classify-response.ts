/**
 * What an HTTP answer means for delivery. Transient: 408, 425, 429, 5xx (RFC 9110 §15.5.9,
 * RFC 8470 §5.2, RFC 6585 §4, §15.6); permanent: other 4xx; 410 Gone also pauses the sink.
 * 3xx is a failure: the CloudEvents webhook spec (§2.1) says a sender must not follow redirects,
 * and a receiver that moved will not move back on its own, so it is permanent.
 */
import { PermanentDeliveryError, TransientDeliveryError } from "@berth/delivery";
import { parseRetryAfter } from "./retry-after.js";

const TRANSIENT_4XX = new Set([408, 425, 429]);

/** Returns normally for 2xx; throws the typed delivery error otherwise. */
export function checkResponse(status: number, retryAfter: string | undefined, now: number = Date.now()): void {
  if (status >= 200 && status < 300) return;
  const message = `HTTP ${status}`;
  if (status >= 300 && status < 400) {
    throw new PermanentDeliveryError("http_3xx", `${message} (redirects are not followed)`);
  }
  if (status === 410) {
    throw new PermanentDeliveryError("http_410", `${message} Gone: receiver retired this endpoint`, { pauseSink: true });
  }
  if (status >= 500 || TRANSIENT_4XX.has(status)) {
    const retryAfterMs = parseRetryAfter(retryAfter, now);
    throw new TransientDeliveryError(`http_${status}`, message, retryAfterMs === undefined ? {} : { retryAfterMs });
  }
  if (status >= 400) throw new PermanentDeliveryError(`http_${status}`, message);
  // 1xx as a final status cannot happen over Node's client; treat anything else as retryable.
  throw new TransientDeliveryError(`http_${status}`, message);
}
