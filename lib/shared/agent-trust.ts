/**
 * What makes a role an agent's by its trust policy, the same for the synth-time checks, the guard
 * and verify. No CDK: verify loads it.
 */

/**
 * AWS services that run AI agents with the role they assume: Amazon Bedrock (agents, flows,
 * knowledge bases), Bedrock AgentCore (agent runtimes, gateways, code interpreters), Amazon Q.
 */
export const AGENT_SERVICE_PRINCIPALS: readonly string[] = Object.freeze([
  'bedrock.amazonaws.com',
  'bedrock-agentcore.amazonaws.com',
  'q.amazonaws.com',
  'qbusiness.amazonaws.com',
]);

/** The actions of a trust policy statement that let its principals assume the role (`*` included). */
export const ASSUME_ROLE_ACTIONS = /^sts:(AssumeRole|AssumeRoleWithWebIdentity|AssumeRoleWithSAML|\*)$|^\*$/i;
