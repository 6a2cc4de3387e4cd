// The ECR API's machine-readable specification: botocore's service model (Apache-2.0),
// reduced to operations, shapes and constraints by scripts/extract-ecr-model.mjs.
import raw from './model.json' with { type: 'json' };

export type ShapeType = 'structure' | 'list' | 'map' | 'string' | 'integer' | 'long' | 'boolean' | 'timestamp' | 'blob' | 'double' | 'float';

export interface Shape {
  type: ShapeType;
  required?: string[];
  min?: number;
  max?: number;
  pattern?: string;
  enum?: string[];
  /** structure: member name -> shape name */
  members?: Record<string, string>;
  /** list: the member shape */
  member?: string;
  /** map: key and value shapes */
  key?: string;
  value?: string;
  exception?: boolean;
  fault?: boolean;
  httpStatusCode?: number;
}

export interface Operation {
  input?: string;
  output?: string;
  errors: string[];
  deprecated?: boolean;
}

export interface EcrModel {
  metadata: { apiVersion: string; jsonVersion: string; protocol: string; serviceId: string; signingName: string; targetPrefix: string; uid: string };
  operations: Record<string, Operation>;
  shapes: Record<string, Shape>;
}

export const MODEL: EcrModel = raw as unknown as EcrModel;

/** `AmazonEC2ContainerRegistry_V20150921`: the X-Amz-Target prefix. */
export const TARGET_PREFIX = MODEL.metadata.targetPrefix;

export function shape(name: string): Shape {
  const s = MODEL.shapes[name];
  if (!s) throw new Error(`ECR model has no shape ${name}`);
  return s;
}

/** The HTTP status of a modelled exception (400 unless the model says otherwise; 500 for faults). */
export function exceptionStatus(name: string): number | undefined {
  const s = MODEL.shapes[name];
  return s?.exception ? (s.httpStatusCode ?? (s.fault ? 500 : 400)) : undefined;
}
