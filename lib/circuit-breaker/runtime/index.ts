/**
 * The circuit breaker's Lambda handler: EventBridge delivers each matching CloudTrail management
 * event of a watched agent. Any error is thrown, so that Lambda retries the asynchronous invocation
 * and, when the retries run out, sends it to the on-failure destination (the breaker's dead-letter
 * queue, which alarms): an event is never silently dropped.
 */
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { IAMClient } from '@aws-sdk/client-iam';
import { SNSClient } from '@aws-sdk/client-sns';
import { BREAKER_CONFIG_ENV, parseBreakerConfig } from './breaker-config';
import { BreakerProcessor, CloudTrailEvent, ProcessResult } from './processor';

let processor: BreakerProcessor | undefined;

function instance(): BreakerProcessor {
  if (!processor) {
    const config = parseBreakerConfig(process.env[BREAKER_CONFIG_ENV]);
    processor = new BreakerProcessor(config, { dynamodb: new DynamoDBClient({}), iam: new IAMClient({}), sns: new SNSClient({}) });
  }
  return processor;
}

export async function handler(event: CloudTrailEvent): Promise<ProcessResult> {
  const result = await instance().process(event);
  if (result.outcome !== 'ignored' && result.outcome !== 'counted') {
    console.log(JSON.stringify({ breaker: result.outcome, agent: result.agentName, counts: result.counts }));
  }
  return result;
}

/** Drops the cached processor (tests change the environment between cases). */
export function resetForTests(): void {
  processor = undefined;
}
