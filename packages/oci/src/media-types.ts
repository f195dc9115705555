/** Media types from the OCI image-spec and Docker image manifest v2 schema 2. */
export const MEDIA_TYPES = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociEmpty: "application/vnd.oci.empty.v1+json",
  ociLayout: "application/vnd.oci.layout.header.v1+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerManifestList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  octetStream: "application/octet-stream",
} as const;

export type ManifestKind = "image" | "index";

/** The manifest media types this registry stores, and whether each is an image or an index. */
export const MANIFEST_MEDIA_TYPES: Readonly<Record<string, ManifestKind>> = {
  [MEDIA_TYPES.ociManifest]: "image",
  [MEDIA_TYPES.dockerManifest]: "image",
  [MEDIA_TYPES.ociIndex]: "index",
  [MEDIA_TYPES.dockerManifestList]: "index",
};

export function manifestKindOf(mediaType: string): ManifestKind | undefined {
  return Object.hasOwn(MANIFEST_MEDIA_TYPES, mediaType) ? MANIFEST_MEDIA_TYPES[mediaType] : undefined;
}
