import type * as lambda from 'aws-cdk-lib/aws-lambda';
import { invalidProps } from './errors';

/** The handlers are bundled for Node.js 20 and later: any other runtime would fail at the first event. */
export function nodeRuntimeOf(runtime: lambda.Runtime, construct: string): lambda.Runtime {
  const major = /^nodejs(\d+)\.x$/.exec(runtime.name)?.[1];
  if (!major || Number(major) < 20) {
    throw invalidProps(
      `${construct}.LambdaRuntime`,
      `${construct}: lambdaRuntime must be a Node.js runtime of version 20 or later (received ${runtime.name}).`,
      {
        received: runtime.name,
        fix: 'Pass lambda.Runtime.NODEJS_22_X (the default) or a later Node.js runtime.',
      },
    );
  }
  return runtime;
}
