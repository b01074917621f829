/**
 * The guardrails as a Model Context Protocol server: an agent asks before it acts, and is told
 * what AWS will decide, from the same models and evaluator as `cdk-agent-guardrails verify`.
 * Tools: check_action, describe_resource, request_approval, approval_status, breaker_status.
 * Resource: guardrails://policy. Every bad input is a tool error (`isError`) that says what was
 * wrong, the value received (inert) and the fix; nothing the agent sends can crash the server.
 */
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod/v3';
import { ApprovalOptions, approvalStatus, requestApproval, requestedText, statusText } from './private/approvals';
import { BreakerOptions, breakerStatus, breakerText } from './private/breaker';
import { checkActionAnswer, checkActionText } from './private/check-action';
import { describeAnswer, describeText } from './private/describe-resource';
import { Knowledge, KnowledgeOptions, KnowledgeSource } from './private/knowledge';
import { policyText } from './private/policy-text';
import { toolErrorText } from './private/tool-input';

export type { KnowledgeOptions as GuardrailsMcpKnowledgeOptions } from './private/knowledge';

export interface GuardrailsMcpServerOptions extends KnowledgeOptions {
  /** What a gate request states as the session's source identity. @default the agent's name */
  readonly sourceIdentity?: string;
}

/** The server's version, as it introduces itself. */
const VERSION = '0.1.0';

const INSTRUCTIONS = 'These tools tell you what the AWS guardrails of this app allow you to do, exactly as AWS will decide it. '
  + 'Read guardrails://policy at the start of a session. Call check_action before any change in AWS (write, delete, stop, scale, '
  + 'network, permission or tag change) and describe_resource before working on a resource. A denied answer is final: do not retry '
  + 'or look for another path; if an approval gate can do it, call request_approval and follow it with approval_status.';

const TOOLS = {
  check_action: 'Ask before you act. Tells you whether you, the agent this server speaks for, may call one AWS API action on one '
    + 'resource, as AWS will decide it: allowed or denied, by which guardrail and policy statement, whether the resource counts as '
    + 'production and why, and, when a human approval gate can perform it, which gate and exactly how to request it. Call it before '
    + 'any write, delete, stop, scale, network, permission or tag change. `action` is one IAM action such as dynamodb:DeleteTable; '
    + '`resource` is the ARN you would act on ("*" only for an action without a resource type); `context` is optional and accepts only '
    + 'the production tag your own request sets (a creation or a retag, e.g. {"aws:RequestTag/environment": "dev"}). A denied answer is '
    + 'final: do not retry it or work around it; follow the Next line.',
  describe_resource: 'Describe one resource before you work on it: whether it is production or disposable and why (its tag), '
    + 'which guardrails protect it, what you may do to it by class of action (read, change, take out of service, change its network '
    + 'or traffic, destroy, delete data, change tags), and what needs a human through an approval gate. `resource` is an ARN, or a '
    + 'resource id that guardrails://policy lists (such as Shop/Orders). Read-only: it changes nothing.',
  request_approval: 'Ask a human to approve an operation you may not perform yourself. Starts the approval gate\'s workflow with your own '
    + 'AWS credentials and returns the request id, exactly what the approvers will see (operation, resource, parameters, your reason, '
    + 'and the digest they approve) and how long they have. If approved, the gate performs exactly this request; you never perform it '
    + 'yourself. Use the gate, operation, resource and parameters that check_action names. `parameters` are the API parameters the '
    + 'gate sends (they must name the same resource); `reason` tells the approvers in a sentence or two what you need and why. It '
    + 'destroys nothing by itself; whether the operation happens is a person\'s decision.',
  approval_status: 'Follow a request you made with request_approval: pending, performed, rejected, timed out, refused or failed, '
    + 'who approved when that is known, and what to do next. Nothing is performed unless the status is performed. Read-only.',
  breaker_status: 'Whether the circuit breaker has quarantined you, and your counts of destructive, denied and write calls against '
    + 'its thresholds in the current window. Every denied call counts; once quarantined, every call you make is denied until a person '
    + 'resets the breaker, so stop and ask. Read-only.',
} as const;

const statement = z.object({
  guardrail: z.string(), policy: z.string(), statement: z.string(), effect: z.enum(['Allow', 'Deny']), in: z.string(),
});
const route = z.object({
  gate: z.string(), requestable: z.boolean(), operation: z.string(), parameters: z.record(z.string()).optional(),
  timeoutSeconds: z.number().optional(), requiredApprovals: z.number().optional(), howToAsk: z.string().optional(),
});

const CHECK_OUTPUT = {
  decision: z.enum(['allowed', 'denied', 'unknown']),
  agent: z.string(),
  action: z.string(),
  resource: z.string(),
  mode: z.enum(['offline', 'live']),
  reason: z.string(),
  statements: z.array(statement),
  production: z.object({ production: z.boolean().nullable(), inApp: z.boolean(), resourceId: z.string().optional(), reason: z.string() }),
  approval: z.array(route),
  next: z.string(),
  assumptions: z.array(z.string()),
};

const DESCRIBE_OUTPUT = {
  resource: z.string(),
  resourceId: z.string().optional(),
  type: z.string(),
  inApp: z.boolean(),
  production: z.boolean(),
  reason: z.string(),
  agent: z.string(),
  mode: z.enum(['offline', 'live']),
  classes: z.array(z.object({
    class: z.string(), words: z.string(), checked: z.number(), allowed: z.array(z.string()), deniedBy: z.array(z.string()),
  })),
  protections: z.array(z.string()),
  needsHuman: z.array(route),
};

export interface GuardrailsMcpServer {
  readonly server: McpServer;
  /** The knowledge behind the answers (loaded lazily, reloaded when the assembly changes). */
  readonly knowledge: KnowledgeSource;
  close(): Promise<void>;
}

/** Runs one tool: its answer, or a tool error with what was wrong, the value received and the fix. */
async function answer(run: () => Promise<{ text: string; structured?: object }>): Promise<CallToolResult> {
  try {
    const { text, structured } = await run();
    return { content: [{ type: 'text', text }], ...(structured ? { structuredContent: structured as Record<string, unknown> } : {}) };
  } catch (e) {
    return { content: [{ type: 'text', text: toolErrorText(e) }], isError: true };
  }
}

/** Builds the MCP server for one agent; connect it to a transport (stdio in the CLI). */
export function createGuardrailsMcpServer(
  options: GuardrailsMcpServerOptions,
  clients: ApprovalOptions & Partial<BreakerOptions> = {},
): GuardrailsMcpServer {
  const knowledge = new KnowledgeSource(options);
  const server = new McpServer({ name: 'cdk-agent-guardrails', version: VERSION }, { instructions: INSTRUCTIONS });
  const approvals: ApprovalOptions = { ...clients, sourceIdentity: options.sourceIdentity ?? clients.sourceIdentity };
  const breakers: BreakerOptions = { region: options.region, ...clients };
  const withKnowledge = (run: (k: Knowledge) => Promise<{ text: string; structured?: object }>) => answer(async () => run(await knowledge.get()));
  // Offline answers come from local files only; live ones ask IAM.
  const openWorld = options.live;
  const text = (s: string) => z.string().describe(s);

  server.registerTool('check_action', {
    title: 'May I? Check one action against the guardrails',
    description: TOOLS.check_action,
    inputSchema: {
      action: text('One IAM action, service:Action, as IAM spells it (dynamodb:DeleteTable). No wildcards.'),
      resource: text('The ARN of the resource you would act on; "*" only for an action that acts on no resource type.'),
      context: z.record(z.string(), z.unknown()).optional()
        .describe('Optional. Only {"aws:RequestTag/<production tag key>": value}: the tag your own request sets (a creation or a retag).'),
    },
    outputSchema: CHECK_OUTPUT,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: openWorld },
  }, (args) => withKnowledge(async (k) => {
    const a = await checkActionAnswer(k, args);
    return { text: checkActionText(k, a), structured: a };
  }));

  server.registerTool('describe_resource', {
    title: 'Describe a resource: production or not, protections, what you may do',
    description: TOOLS.describe_resource,
    inputSchema: { resource: text('An ARN, or a resource id listed by guardrails://policy (Stack/Construct).') },
    outputSchema: DESCRIBE_OUTPUT,
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: openWorld },
  }, (args) => withKnowledge(async (k) => {
    const a = await describeAnswer(k, args);
    return { text: describeText(k, a), structured: a };
  }));

  server.registerTool('request_approval', {
    title: 'Ask a human to approve a gated operation',
    description: TOOLS.request_approval,
    inputSchema: {
      gate: text('The approval gate, as check_action or guardrails://policy names it (Shop/Approvals/Workflow).'),
      operation: text('The gated operation, service:Action (dynamodb:DeleteTable).'),
      resource: text('The ARN of the resource the operation acts on.'),
      parameters: z.record(z.string(), z.unknown()).describe('The API parameters the gate sends if approved; they must name the same resource.'),
      reason: text('Why, for the approvers: one or two sentences (at most 1000 characters).'),
    },
    // Starting a request adds one; it changes and destroys nothing (a person decides whether the operation runs).
    annotations: { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: true },
  }, (args) => withKnowledge(async (k) => ({ text: requestedText(await requestApproval(k, args, approvals)) })));

  server.registerTool('approval_status', {
    title: 'Follow an approval request',
    description: TOOLS.approval_status,
    inputSchema: { requestId: text('The requestId that request_approval returned.') },
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }, (args) => withKnowledge(async (k) => {
    const s = await approvalStatus(k, args, approvals);
    return { text: statusText(s), structured: s };
  }));

  server.registerTool('breaker_status', {
    title: 'Am I quarantined? Circuit breaker status',
    description: TOOLS.breaker_status,
    inputSchema: {},
    annotations: { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
  }, () => withKnowledge(async (k) => {
    const s = await breakerStatus(k, breakers);
    return { text: breakerText(s), structured: s };
  }));

  server.registerResource('guardrails-policy', 'guardrails://policy', {
    title: 'Your guardrails in plain words',
    description: 'What this agent may and may not do in this app: the rules, the production resources, the approval gates and the breaker. '
      + 'Load it at the start of a session.',
    mimeType: 'text/markdown',
  }, async (uri) => {
    let body: string;
    try {
      body = await policyText(await knowledge.get());
    } catch (e) {
      body = `The guardrails could not be read, so nothing is known to be allowed: treat every change as denied.\n${toolErrorText(e)}`;
    }
    return { contents: [{ uri: uri.href, mimeType: 'text/markdown', text: body }] };
  });

  return {
    server,
    knowledge,
    close: async () => {
      await server.close();
      knowledge.close();
    },
  };
}
