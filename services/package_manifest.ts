/**
 * The manifest `deno task package` writes beside the packages in the downloads folder: what
 * each file is, for which platform and version, its size and SHA-256. The server offers only
 * what the manifest lists and the folder holds at that size; the hashes it shows and sends
 * come from here, and install scripts and agents check the bytes they get against them.
 */
import * as z from "zod";
import { type PlatformId, PLATFORMS } from "../lib/platforms.ts";

/** The manifest's file name in the downloads folder. */
export const MANIFEST_FILE = "manifest.json";

/** A package file name: letters, digits, dots, dashes, underscores; no path. */
export const PACKAGE_FILE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

const platformIds = PLATFORMS.map((p) => p.id) as [PlatformId, ...PlatformId[]];

/** One package in the manifest. */
export const ManifestEntry = z.object({
  kind: z.literal("agent"),
  platform: z.enum(platformIds),
  version: z.string().regex(/^\d+\.\d+\.\d+(-[0-9A-Za-z.-]+)?$/),
  file: z.string().regex(PACKAGE_FILE_NAME),
  /** `tar.gz` and `zip` are packages with a runtime; `executable` is a single binary. */
  format: z.enum(["tar.gz", "zip", "executable"]),
  size: z.number().int().min(1),
  sha256: z.string().regex(/^[0-9a-f]{64}$/),
});
export type ManifestEntry = z.infer<typeof ManifestEntry>;

/** The whole manifest. */
export const PackageManifest = z.object({
  format: z.literal(1),
  /** The Deno runtime inside the packages, e.g. "2.9.6". */
  runtime: z.string().max(40),
  builtAt: z.string().max(40),
  packages: z.array(ManifestEntry).max(64),
});
export type PackageManifest = z.infer<typeof PackageManifest>;
