/**
 * Which resource of the app an ARN names, whether it counts as production and why, and the
 * request the decider evaluates for it: the same ResourceModel and request context verify uses.
 */
import { ResourceModel } from '../../verify/model/production-resources';
import { UNKNOWN_ACCOUNT } from '../../verify/model/template-values';
import { Knowledge } from './knowledge';

/** What the server matched an asked ARN to. */
export interface ResourceMatch {
  /** The model evaluated: the app's resource, or an untagged stand-in for a resource outside the app. */
  readonly model: ResourceModel;
  readonly inApp: boolean;
  /** The ARN evaluated: the app's spelling (its policies name that one), with the asked object key for S3 objects. */
  readonly arn: string;
}

export interface ProductionVerdict {
  readonly production: boolean;
  /** The tag value that decided, when there is one. */
  readonly tagValue?: string;
  readonly reason: string;
}

/** partition, service, region, account, resource: the resource keeps its own colons. */
function segments(arn: string): string[] {
  const parts = arn.split(':');
  return [parts[1], parts[2], parts[3], parts[4], parts.slice(5).join(':')];
}

/** An environment-agnostic stack's ARNs carry a placeholder account (and region): any account matches it. */
function sameResource(appArn: string, asked: string): boolean {
  if (appArn === asked) return true;
  const a = segments(appArn);
  const b = segments(asked);
  return a[3] === UNKNOWN_ACCOUNT && a[0] === b[0] && a[1] === b[1] && a[4] === b[4];
}

/** The app's resource an ARN names, an S3 object of an app's bucket, or an untagged stand-in (fail closed). */
export function matchResource(k: Knowledge, asked: string): ResourceMatch {
  const direct = k.resources.find((r) => sameResource(r.arn, asked));
  if (direct) return { model: direct, inApp: true, arn: direct.arn };
  // An object inherits nothing but is authorized with its bucket's context (as verify checks objects).
  const bucket = k.resources.find((r) => r.type === 'AWS::S3::Bucket' && asked.startsWith(`${r.arn}/`));
  if (bucket) return { model: bucket, inApp: true, arn: asked };
  return {
    model: { id: '(not in this app)', type: '(unknown)', arn: asked, stack: '(not in this app)', tags: {}, bucketAbac: false, production: true },
    inApp: false,
    arn: asked,
  };
}

/** A resource given by the id the policy resource lists (`Shop/Orders`), or by ARN. */
export function findResourceRef(k: Knowledge, ref: string): ResourceMatch {
  if (!ref.startsWith('arn:')) {
    const byId = k.resources.find((r) => r.id === ref);
    if (byId) return { model: byId, inApp: true, arn: byId.arn };
  }
  return matchResource(k, ref);
}

/** Whether the resource counts as production, and why, in the words of the production model. */
export function productionOf(k: Knowledge, match: ResourceMatch): ProductionVerdict {
  const key = k.model.tagKey;
  const disposable = k.model.nonProductionValues.join(', ');
  if (!match.inApp) {
    return {
      production: true,
      reason: `it is not a resource of this app's cloud assembly, so its "${key}" tag is unknown here; unknown counts as production (fail closed); `
        + 'the answer is the one AWS gives for an untagged resource',
    };
  }
  const value = match.model.tags[key];
  if (value === undefined) {
    return { production: true, reason: `it has no "${key}" tag (on the resource or its stack); untagged counts as production (fail closed)` };
  }
  if (!match.model.production) {
    const reason = `its "${key}" tag is "${value}", one of the values that mark a resource disposable (${disposable})`;
    return { production: false, tagValue: value, reason };
  }
  return { production: true, tagValue: value, reason: `its "${key}" tag is "${value}", not one of the disposable values (${disposable})` };
}
