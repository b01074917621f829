/**
 * Issue 16: the rule pack memoizes decisions per synthesized policy documents within one run, and asks only
 * the actions some Allow names. Both must change no decision: on the 100-agent bench app, every agent's
 * findings equal those of a fresh, unmemoized decider asking every check (what verify itself does).
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import { App } from 'aws-cdk-lib';
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
