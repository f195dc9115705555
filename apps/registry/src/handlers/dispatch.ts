import type { Handler } from "../http/context.js";
import type { RouteId } from "../http/router.js";
import { getBase } from "./base.js";
import { deleteBlob, getBlob } from "./blobs.js";
import { listCatalog } from "./catalog.js";
import { deleteManifest, getManifest, putManifest } from "./manifests.js";
import { listReferrers } from "./referrers.js";
import { listTags } from "./tags.js";
import { cancelUpload, finishUpload, getUploadStatus, patchUpload, startUpload } from "./uploads.js";

type RegistryRoute = Exclude<RouteId, "metrics" | "healthz">;

/** Route × method → handler. A missing method is 405 UNSUPPORTED. */
export const HANDLERS: Record<RegistryRoute, Partial<Record<string, Handler>>> = {
  base: { GET: getBase, HEAD: getBase },
  catalog: { GET: listCatalog },
  manifest: { GET: getManifest, HEAD: getManifest, PUT: putManifest, DELETE: deleteManifest },
  blob: { GET: getBlob, HEAD: getBlob, DELETE: deleteBlob },
  "upload-start": { POST: startUpload },
  upload: { GET: getUploadStatus, PATCH: patchUpload, PUT: finishUpload, DELETE: cancelUpload },
  tags: { GET: listTags },
  referrers: { GET: listReferrers },
};
