/**
 * The MCP server as an agent runtime starts it: the real CLI entry (`node bin/cdk-agent-guardrails.js
 * mcp ...`, which runs the TypeScript sources in a checkout) spawned by the SDK's real
 * `StdioClientTransport`, spoken to by the SDK's real `Client`.
 */
import * as path from 'path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport, getDefaultEnvironment } from '@modelcontextprotocol/sdk/client/stdio.js';

const ROOT = path.join(__dirname, '..', '..');
const BIN = path.join(ROOT, 'bin', 'cdk-agent-guardrails.js');

export interface ToolAnswer {
  readonly text: string;
  readonly isError: boolean;
  readonly structured: any;
}

export interface McpSession {
  readonly client: Client;
  /** What the server wrote to stderr so far. */
  stderr(): string;
  call(name: string, args?: Record<string, unknown>): Promise<ToolAnswer>;
  close(): Promise<void>;
}

/** Starts `cdk-agent-guardrails mcp` with the arguments and extra environment, and connects a client. */
export async function startMcp(args: readonly string[], env: Record<string, string> = {}): Promise<McpSession> {
  const transport = new StdioClientTransport({
    command: process.execPath,
    args: [BIN, 'mcp', ...args],
    cwd: ROOT,
    // No AWS credentials or profile from the developer's machine: only what the test gives.
    env: { ...getDefaultEnvironment(), AWS_REGION: 'us-east-1', AWS_EC2_METADATA_DISABLED: 'true', ...env },
    stderr: 'pipe',
  });
  let stderr = '';
  transport.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString('utf8');
  });
  const client = new Client({ name: 'cdk-agent-guardrails-test', version: '1.0.0' });
  await client.connect(transport);
  return {
    client,
    stderr: () => stderr,
    async call(name, callArgs = {}) {
      const result: any = await client.callTool({ name, arguments: callArgs });
      return { text: result.content.map((c: any) => c.text).join('\n'), isError: result.isError === true, structured: result.structuredContent };
    },
    close: () => client.close(),
  };
}
