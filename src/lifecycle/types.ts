/**
 * The lifecycle engine's inputs and outputs. The engine (policy.ts: parse and validate
 * ECR's JSON; evaluate.ts: decide what expires) is pure: the same code serves the
 * preview, the dry run and the real run, so they cannot disagree.
 */

/** One manifest of a repository, as the engine sees it. */
export interface LifecycleImage {
  digest: string;
  /** The manifest's tags in this repository (empty: untagged). */
  tags: string[];
  pushedAt: Date;
  /** Last recorded pull; absent when never pulled. */
  lastPulledAt?: Date;
  mediaType: string;
  artifactType?: string;
  /** Digests of the child manifests an image index names (empty for an image manifest). */
  children: string[];
  /** The subject's digest when this manifest is a referrer (signature, SBOM, attestation). */
  subject?: string;
  /** Bytes of the manifest and the blobs it references, for previews and reports. */
  size: number;
}

export type TagStatus = 'tagged' | 'untagged' | 'any';
export type CountType = 'imageCountMoreThan' | 'sinceImagePushed' | 'sinceImagePulled';

/** A validated rule, in ECR's shape. */
export interface LifecycleRule {
  rulePriority: number;
  description?: string;
  selection: {
    tagStatus: TagStatus;
    tagPrefixList?: string[];
    tagPatternList?: string[];
    countType: CountType;
    countUnit?: 'days';
    countNumber: number;
  };
  action: { type: 'expire' };
}

export interface LifecyclePolicy {
  rules: LifecycleRule[];
}

/** Why one manifest goes. */
export interface Expiry {
  digest: string;
  /** Tags it had; what the preview shows. */
  tags: string[];
  pushedAt: Date;
  /** The rule that expired it, or the unit it went with (an index's child, a subject's referrer). */
  rulePriority: number;
  /** Set when the manifest goes only because the unit it belongs to goes. */
  withDigest?: string;
  size: number;
}
