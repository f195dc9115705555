import { OciError } from "@berth/oci";
import { firstAfter } from "@berth/storage";

/**
 * `n` / `last` pagination of tag and catalog listings (distribution-spec "Listing Tags"):
 * entries lexically after `last`, at most `n`; a `Link: <…>; rel="next"` when more remain.
 */
export interface Page {
  items: string[];
  /** The Link header value when there is a next page. */
  link?: string;
}

export const MAX_PAGE_SIZE = 10_000;

export function paginate(sorted: readonly string[], query: URLSearchParams, basePath: string): Page {
  const last = query.get("last") ?? undefined;
  const nParam = query.get("n");
  let n: number | undefined;
  if (nParam !== null) {
    if (!/^\d{1,9}$/.test(nParam)) {
      throw new OciError("UNSUPPORTED", "invalid pagination parameter n", { status: 400, detail: { n: nParam.slice(0, 50) } });
    }
    n = Math.min(Number(nParam), MAX_PAGE_SIZE);
  }
  const from = last === undefined ? 0 : firstAfter(sorted, last);
  if (n === undefined) return { items: sorted.slice(from) };
  const items = sorted.slice(from, from + n);
  const page: Page = { items };
  const tail = items[items.length - 1];
  if (from + n < sorted.length && tail !== undefined) {
    page.link = `<${basePath}?n=${n}&last=${encodeURIComponent(tail)}>; rel="next"`;
  }
  return page;
}
