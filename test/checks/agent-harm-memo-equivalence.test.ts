/**
 * Issue 16: the rule pack memoizes decisions per synthesized policy documents within one run, and asks only
 * the actions some Allow names. Both must change no decision: on the 100-agent bench app, every agent's
 * findings equal those of a fresh, unmemoized decider asking every check (what verify itself does).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App, Stack } from 'aws-cdk-lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import * as s3 from 'aws-cdk-lib/aws-s3';
import { buildHundredAgentApp } from '../../bench/checks.bench';
import { analyseAgentSync } from '../../lib/verify/analysis/analysis';
import { OfflineDecider } from '../../lib/verify/deciders/offline-decider';
import { ProductionHarmScan } from '../../lib/verify/analysis/harm-scan';
import { findAgents, otherRoles } from '../../lib/verify/model/agents';
import { findApprovalGates } from '../../lib/verify/model/approval-gates';
import { readAssembly } from '../../lib/verify/model/assembly';
import { DEFAULT_PRODUCTION_MODEL, findResources } from '../../lib/verify/model/production-resources';

test('fails when memoizing or skipping unnamed actions changes a finding: the 100-agent app decides the same both ways', () => {
  // GIVEN the bench's 100-agent app, synthesized
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'memo-equivalence-'));
  buildHundredAgentApp(new App({ outdir })).synth();
  const assembly = readAssembly(outdir);
  const agents = findAgents(assembly);
  expect(agents).toHaveLength(100);
  const model = DEFAULT_PRODUCTION_MODEL;
  const base = {
    assembly: outdir,
    mode: 'offline' as const,
    production: findResources(assembly, model).production,
    notAssessed: {},
    gates: findApprovalGates(assembly),
    model,
  };
  const relabel = { key: model.tagKey, value: model.nonProductionValues[0] };
  const memoized = new OfflineDecider(relabel, true);
  // the rule pack's scan: one decider for the run, decisions shared between agents by the statements that can apply
  const scan = new ProductionHarmScan(base.production, new OfflineDecider(relabel, true));
  let findings = 0;
  for (const agent of agents) {
    const input = { ...base, agents: [agent], otherRoleArns: otherRoles(assembly, [agent]) };
    // WHEN the pack's way (memoized, named actions only) and verify's way (fresh decider, every check) decide it
    const fast = analyseAgentSync(agent, { ...input, decider: memoized, productionResourcesOnly: true }, []);
    const full = analyseAgentSync(agent, { ...input, decider: new OfflineDecider(relabel) }, []);
    // THEN the findings on production resources of the app are identical, statement names included
    expect(fast.harms).toEqual(full.harms);
    expect(scan.harmsOf(agent)).toEqual(full.harms);
    findings += fast.harms.length;
  }
  // and the app does have findings to compare (the plain roles with s3:* on "*")
  expect(findings).toBeGreaterThan(100);
  fs.rmSync(outdir, { recursive: true, force: true });
});

/** Agents whose statements share positions and actions but not their meaning, and the readings pruning must get right. */
function trickyApp(outdir: string): void {
  const app = new App({ outdir });
  const stack = new Stack(app, 'Tricky', { env: { account: '123456789012', region: 'us-east-1' } });
  new s3.Bucket(stack, 'Prod', { bucketName: 'prod-bucket', versioned: true });
  const bucket = 'arn:aws:s3:::prod-bucket';
  const agent = (id: string, statement: iam.PolicyStatement, boundary?: iam.ManagedPolicy) =>
    new iam.Role(stack, id, { assumedBy: new iam.ServicePrincipal('bedrock.amazonaws.com'), permissionsBoundary: boundary }).addToPolicy(statement);
  // the same action at the same place: plain, and only where the resource is tagged dev (never on production)
  agent('Plain', new iam.PolicyStatement({ actions: ['s3:DeleteBucket'], resources: [bucket] }));
  agent(
    'OnlyDev',
    new iam.PolicyStatement({
      actions: ['s3:DeleteBucket'],
      resources: [bucket],
      conditions: { StringEquals: { 'aws:ResourceTag/environment': 'dev' } },
    }),
  );
  // NotAction and NotResource allows
  agent('NotAction', new iam.PolicyStatement({ notActions: ['iam:*'], resources: ['*'] }));
  agent('NotResource', new iam.PolicyStatement({ actions: ['s3:DeleteBucket'], notResources: ['arn:aws:s3:::other'] }));
  // s3:* under a boundary that allows everything but s3:DeleteBucket
  const allButDelete = new iam.PolicyStatement({ notActions: ['s3:DeleteBucket'], resources: ['*'] });
  const boundary = new iam.ManagedPolicy(stack, 'Boundary', { statements: [allButDelete] });
  agent('Bounded', new iam.PolicyStatement({ actions: ['s3:*'], resources: ['*'] }), boundary);
  app.synth();
}

test('fails when sharing decisions between agents or pruning statements changes a finding, in either order of the agents', () => {
  // GIVEN agents whose statements differ only in a condition at the same place, NotAction, NotResource, a NotAction boundary
  const outdir = fs.mkdtempSync(path.join(os.tmpdir(), 'memo-tricky-'));
  trickyApp(outdir);
  const assembly = readAssembly(outdir);
  const agents = findAgents(assembly);
  expect(agents).toHaveLength(5);
  const model = DEFAULT_PRODUCTION_MODEL;
  const production = findResources(assembly, model).production;
  const base = { assembly: outdir, mode: 'offline' as const, production, notAssessed: {}, gates: findApprovalGates(assembly), model };
  const relabel = { key: model.tagKey, value: model.nonProductionValues[0] };
  const key = (harms: Array<{ class: string; resource: string; action: string }>) => harms.map((h) => `${h.class} ${h.resource} ${h.action}`).sort();
  const fullOf = new Map(
    agents.map((agent) => [
      agent.name,
      analyseAgentSync(agent, { ...base, agents: [agent], otherRoleArns: otherRoles(assembly, [agent]), decider: new OfflineDecider(relabel) }, [])
        .harms,
    ]),
  );
  for (const order of [agents, [...agents].reverse()]) {
    // WHEN one scan decides them all, sharing decisions, in this order
    const scan = new ProductionHarmScan(production, new OfflineDecider(relabel, true));
    for (const agent of order) {
      // THEN each agent's findings equal verify's full path
      expect(key(scan.harmsOf(agent))).toEqual(key(fullOf.get(agent.name)!));
    }
  }
  // AND the app holds both kinds: agents that can delete the bucket and agents that cannot
  const harmful = agents.filter((a) => fullOf.get(a.name)!.some((h) => h.action.toLowerCase() === 's3:deletebucket')).map((a) => a.name);
  expect(harmful.some((n) => /Plain/.test(n)) && harmful.some((n) => /NotResource/.test(n)) && harmful.some((n) => /NotAction/.test(n))).toBe(true);
  expect(harmful.some((n) => /OnlyDev|Bounded/.test(n))).toBe(false);
  fs.rmSync(outdir, { recursive: true, force: true });
});
