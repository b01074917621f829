/**
 * The consumer test's harness: packs the library the way `npm publish` would, installs the tarball
 * into a fresh `cdk init` app outside the repository and runs the tools a new user runs there.
 * Everything it writes is under one temporary folder; the checkout (its dist/ included) is not
 * touched, because the pack is built from a copy of it.
 */
import { spawnSync } from 'child_process';
import * as crypto from 'crypto';
import * as fs from 'fs';
import * as path from 'path';

export const REPO_ROOT = path.resolve(__dirname, '..', '..');

/** Packages the app installs beside the tarball, at the versions the repository already has (npm's cache holds them). */
export const APP_DEPENDENCIES = ['aws-cdk-lib', 'constructs', 'cdk-nag'] as const;
export const APP_DEV_DEPENDENCIES = ['aws-cdk', 'ts-node', 'typescript', '@types/node'] as const;

/** How cdk.json runs the app: ts-node, as `cdk init` did before it switched to tsx. */
export const APP_COMMAND = 'npx ts-node --prefer-ts-exts bin/app.ts';

export interface RunResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
  readonly ms: number;
  readonly command: string;
}

export function run(command: string, args: string[], options: { cwd: string; env?: NodeJS.ProcessEnv; timeoutMs?: number }): RunResult {
  const started = Date.now();
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: options.env ?? process.env,
    encoding: 'utf8',
    maxBuffer: 64 * 1024 * 1024,
    timeout: options.timeoutMs ?? 10 * 60 * 1000,
  });
  if (result.error) throw new Error(`${command} ${args.join(' ')} (in ${options.cwd}) could not run: ${result.error.message}`);
  return { status: result.status, stdout: result.stdout, stderr: result.stderr, ms: Date.now() - started, command: `${command} ${args.join(' ')}` };
}

export function describeRun(r: RunResult): string {
  const tail = (s: string) => (s.length > 20000 ? `…${s.slice(-20000)}` : s);
  return `$ ${r.command}\nexit ${r.status} after ${r.ms} ms\n--- stdout ---\n${tail(r.stdout)}\n--- stderr ---\n${tail(r.stderr)}`;
}

function mustSucceed(r: RunResult): RunResult {
  if (r.status !== 0) throw new Error(`command failed:\n${describeRun(r)}`);
  return r;
}

/**
 * The environment of a fresh shell, not of `npm test`: npm's lifecycle variables and the
 * repository's node_modules/.bin (which holds esbuild) are dropped; `docker` and `esbuild` on the
 * PATH are shims that record any call, so the test can prove that neither was needed.
 */
export function consumerEnv(shimDir: string, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const keep = new Set(['npm_config_cache', 'npm_config_userconfig', 'npm_config_registry', 'npm_config_cafile']);
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (/^npm_/i.test(key) && !keep.has(key.toLowerCase())) continue;
    if (key === 'INIT_CWD' || /^TS_NODE_/.test(key) || key === 'NODE_OPTIONS') continue;
    env[key] = value;
  }
  const inherited = (process.env.PATH ?? '').split(path.delimiter).filter((p) => p && !/node_modules[\\/]\.bin|node-gyp-bin/.test(p));
  env.PATH = [shimDir, ...inherited].join(path.delimiter);
  return { ...env, CDK_DISABLE_VERSION_CHECK: '1', CDK_DISABLE_CLI_TELEMETRY: 'true', ...extra };
}

/** Writes `docker` and `esbuild` shims that log their calls to `<shimDir>/calls.log` and fail. */
export function writeShims(shimDir: string): string {
  fs.mkdirSync(shimDir, { recursive: true });
  const log = path.join(shimDir, 'calls.log');
  for (const name of ['docker', 'esbuild']) {
    const file = path.join(shimDir, name);
    fs.writeFileSync(file, `#!/bin/sh\necho "${name} $*" >> '${log}'\necho "${name} is not available to this consumer app" >&2\nexit 127\n`);
    fs.chmodSync(file, 0o755);
  }
  return log;
}

/** `cdk init app --language typescript --generate-only` with the aws-cdk CLI installed in the repository (offline). */
export function cdkInit(dir: string, env: NodeJS.ProcessEnv): RunResult {
  fs.mkdirSync(dir, { recursive: true });
  const cli = path.join(REPO_ROOT, 'node_modules', 'aws-cdk', 'bin', 'cdk');
  return mustSucceed(run(process.execPath, [cli, 'init', 'app', '--language', 'typescript', '--generate-only', '--no-notices'], { cwd: dir, env }));
}

export function installedVersion(pkg: string): string {
  return JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')).version;
}

const NOT_COPIED = new Set(['node_modules', '.git', 'dist', 'cdk.out', 'test-artifacts', 'coverage', 'test', 'bench']);

/**
 * `npm pack` (prepack: tsc and the handler bundles) run on a copy of the checkout, so the pack
 * starts from an empty dist/ (no stale file can ship) and the checkout's dist/ stays as it was
 * (bin/cdk-agent-guardrails.js in the checkout keeps running the TypeScript sources).
 */
export function packLibrary(workDir: string, env: NodeJS.ProcessEnv): { tarball: string; result: RunResult } {
  const copy = path.join(workDir, 'source');
  const destination = path.join(workDir, 'pack');
  fs.cpSync(REPO_ROOT, copy, {
    recursive: true,
    filter: (src) => !NOT_COPIED.has(path.relative(REPO_ROOT, src).split(path.sep)[0]),
  });
  fs.symlinkSync(path.join(REPO_ROOT, 'node_modules'), path.join(copy, 'node_modules'), 'dir');
  fs.mkdirSync(destination, { recursive: true });
  const result = mustSucceed(run('npm', ['pack', '--pack-destination', destination], { cwd: copy, env }));
  const tarballs = fs.readdirSync(destination).filter((f) => f.endsWith('.tgz'));
  if (tarballs.length !== 1) throw new Error(`npm pack wrote ${tarballs.length} tarballs in ${destination}:\n${describeRun(result)}`);
  return { tarball: path.join(destination, tarballs[0]), result };
}

export function extractTarball(tarball: string, dir: string): string {
  fs.mkdirSync(dir, { recursive: true });
  mustSucceed(run('tar', ['-xzf', tarball, '-C', dir], { cwd: dir }));
  return path.join(dir, 'package');
}

/** The app's package.json: the template's, with the tarball and the repository's versions of the rest. */
export function writeAppPackageJson(appDir: string, tarball: string): any {
  const template = JSON.parse(fs.readFileSync(path.join(appDir, 'package.json'), 'utf8'));
  const pkg = {
    name: template.name,
    version: template.version,
    private: true,
    scripts: template.scripts,
    dependencies: {
      'cdk-agent-guardrails': `file:${tarball}`,
      ...Object.fromEntries(APP_DEPENDENCIES.map((p) => [p, installedVersion(p)])),
    },
    devDependencies: Object.fromEntries(APP_DEV_DEPENDENCIES.map((p) => [p, installedVersion(p)])),
  };
  fs.writeFileSync(path.join(appDir, 'package.json'), `${JSON.stringify(pkg, null, 2)}\n`);
  return pkg;
}

/**
 * npm 11 resolves a fresh install from full packuments, which `npm ci` in the repository never
 * cached, so `npm install --offline` cannot resolve anything. A lockfile needs no packument: this
 * one is the subset of the repository's lockfile that the app reaches (the tarball's own
 * package.json decides what it pulls in), and `npm ci --offline` takes the tarballs from the cache.
 */
export function writeAppLockfile(appDir: string, pkg: any, libraryManifest: any, tarball: string): number {
  const repoLock = JSON.parse(fs.readFileSync(path.join(REPO_ROOT, 'package-lock.json'), 'utf8')).packages as Record<string, any>;
  const packages: Record<string, any> = {
    '': { name: pkg.name, version: pkg.version, dependencies: pkg.dependencies, devDependencies: pkg.devDependencies },
    'node_modules/cdk-agent-guardrails': {
      version: libraryManifest.version,
      resolved: `file:${tarball}`,
      integrity: `sha512-${crypto.createHash('sha512').update(fs.readFileSync(tarball)).digest('base64')}`,
      license: libraryManifest.license,
      dependencies: libraryManifest.dependencies,
      peerDependencies: libraryManifest.peerDependencies,
      peerDependenciesMeta: libraryManifest.peerDependenciesMeta,
      bin: libraryManifest.bin,
      engines: libraryManifest.engines,
    },
  };
  // node's resolution over the repository's (hoisted) layout: the closure keeps the same paths
  const locate = (from: string, name: string): string | undefined => {
    let dir = from;
    for (;;) {
      const key = `${dir ? `${dir}/` : ''}node_modules/${name}`;
      if (repoLock[key]) return key;
      if (!dir) return undefined;
      const i = dir.lastIndexOf('/node_modules/');
      dir = i < 0 ? '' : dir.slice(0, i);
    }
  };
  const required = (entry: any): string[] => [
    ...Object.keys(entry.dependencies ?? {}),
    ...Object.keys(entry.peerDependencies ?? {}).filter((d) => !entry.peerDependenciesMeta?.[d]?.optional),
  ];
  const queue: Array<[string, string[], boolean]> = [
    ['', [...Object.keys(pkg.dependencies), ...Object.keys(pkg.devDependencies)].filter((n) => n !== 'cdk-agent-guardrails'), false],
    ['node_modules/cdk-agent-guardrails', required(libraryManifest), false],
  ];
  while (queue.length > 0) {
    const [from, names, optional] = queue.shift()!;
    for (const name of names) {
      const key = locate(from, name);
      if (!key) {
        if (optional) continue;
        throw new Error(`${name} (needed by ${from || 'the app'}) is not in the repository's package-lock.json`);
      }
      if (packages[key]) continue;
      const { dev: _dev, devOptional: _devOptional, peer: _peer, ...entry } = repoLock[key];
      packages[key] = entry;
      queue.push([key, required(entry), false], [key, Object.keys(entry.optionalDependencies ?? {}), true]);
    }
  }
  for (const name of [...APP_DEPENDENCIES, ...APP_DEV_DEPENDENCIES]) {
    if (packages[`node_modules/${name}`]?.version !== installedVersion(name)) {
      throw new Error(`${name}: node_modules has ${installedVersion(name)}, package-lock.json ${packages[`node_modules/${name}`]?.version}`);
    }
  }
  const lock = { name: pkg.name, version: pkg.version, lockfileVersion: 3, requires: true, packages };
  fs.writeFileSync(path.join(appDir, 'package-lock.json'), `${JSON.stringify(lock, null, 2)}\n`);
  return Object.keys(packages).length - 1;
}

/** `npm ci --offline` from the derived lockfile; else `npm install --prefer-offline` (the registry, for what the cache lacks). */
export function installApp(appDir: string, tarball: string, env: NodeJS.ProcessEnv): { method: string; result: RunResult; notes: string[] } {
  const notes: string[] = [];
  const pkg = writeAppPackageJson(appDir, tarball);
  const manifest = JSON.parse(
    fs.readFileSync(path.join(extractTarball(tarball, path.join(path.dirname(tarball), 'manifest')), 'package.json'), 'utf8'),
  );
  try {
    const count = writeAppLockfile(appDir, pkg, manifest, tarball);
    const offline = run('npm', ['ci', '--offline', '--no-audit', '--no-fund'], { cwd: appDir, env });
    if (offline.status === 0)
      return { method: `npm ci --offline (lockfile of ${count} packages derived from the repository's)`, result: offline, notes };
    notes.push(`npm ci --offline failed:\n${describeRun(offline)}`);
  } catch (e) {
    notes.push(`no offline lockfile: ${(e as Error).message}`);
  }
  fs.rmSync(path.join(appDir, 'package-lock.json'), { force: true });
  fs.rmSync(path.join(appDir, 'node_modules'), { recursive: true, force: true });
  const online = mustSucceed(run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund'], { cwd: appDir, env }));
  return { method: 'npm install --prefer-offline', result: online, notes };
}

/**
 * Turns the generated `cdk init` project into the consumer app: its cdk.json (context flags
 * untouched, validateAgainstDefaultRules on, ts-node), its tsconfig.json (without jest types, which
 * the app does not install) and bin/app.ts; the template's sample stack and jest test are removed.
 */
export function writeApp(appDir: string): { cdkJson: any; templateCdkJson: any } {
  const templateCdkJson = JSON.parse(fs.readFileSync(path.join(appDir, 'cdk.json'), 'utf8'));
  const cdkJson = {
    ...templateCdkJson,
    app: APP_COMMAND,
    context: { ...templateCdkJson.context, '@aws-cdk/core:validateAgainstDefaultRules': true },
  };
  fs.writeFileSync(path.join(appDir, 'cdk.json'), `${JSON.stringify(cdkJson, null, 2)}\n`);
  const tsconfig = JSON.parse(fs.readFileSync(path.join(appDir, 'tsconfig.json'), 'utf8'));
  tsconfig.compilerOptions.types = ['node'];
  fs.writeFileSync(path.join(appDir, 'tsconfig.json'), `${JSON.stringify(tsconfig, null, 2)}\n`);
  for (const generated of ['bin', 'lib', 'test', 'jest.config.js']) fs.rmSync(path.join(appDir, generated), { recursive: true, force: true });
  fs.mkdirSync(path.join(appDir, 'bin'));
  fs.writeFileSync(path.join(appDir, 'bin', 'app.ts'), APP_SOURCE);
  fs.writeFileSync(path.join(appDir, 'check-optional-peer.js'), WITHOUT_CDK_NAG_SOURCE);
  return { cdkJson, templateCdkJson };
}

/**
 * The consumer app. Data: a production DynamoDB table protected as the pack requires. Guardrails:
 * an agent reading that table (a cross-stack reference) and asking an approval gate to update it
 * (another one), a circuit breaker watching it and an audit trail. Both rule packs run; nothing is
 * acknowledged.
 */
export const APP_SOURCE = `#!/usr/bin/env node
import { Annotations, App, Duration, RemovalPolicy, Stack, StackProps, Tags, Validations } from 'aws-cdk-lib';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { AwsSolutionsChecks } from 'cdk-nag';
import { Construct } from 'constructs';
import {
  AgentGuardrailsChecks, AgentRole, ApprovalGate, Approver, AuditLockMode, AuditTrail, CircuitBreaker, GatedOperation,
} from 'cdk-agent-guardrails';

/** Production data: the table keeps its own last line of defence. */
class DataStack extends Stack {
  public readonly table: dynamodb.TableV2;

  constructor(scope: Construct, id: string, props?: StackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    Tags.of(this).add('environment', 'production');
    this.table = new dynamodb.TableV2(this, 'Orders', {
      partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING },
      deletionProtection: true,
      pointInTimeRecoverySpecification: { pointInTimeRecoveryEnabled: true },
      removalPolicy: RemovalPolicy.RETAIN,
    });
  }
}

interface GuardrailsStackProps extends StackProps {
  readonly data: DataStack;
}

/** The agent: guarded, gated, watched by a breaker and recorded by a trail. */
class GuardrailsStack extends Stack {
  constructor(scope: Construct, id: string, props: GuardrailsStackProps) {
    super(scope, id, { ...props, terminationProtection: true });
    const agent = new AgentRole(this, 'OpsAssistant', {
      agentName: 'ops-assistant',
      assumedBy: new iam.AccountPrincipal(this.account),
      sourceIdentityPattern: 'ops-assistant-*',
    });
    // cross-stack reference: the agent reads the production table of the Data stack
    props.data.table.grantReadData(agent);
    // cross-stack reference: changing the table goes through a human
    const securityLead = iam.Role.fromRoleName(this, 'SecurityLead', 'security-lead', { mutable: false });
    const gate = new ApprovalGate(this, 'Approvals', {
      operations: [GatedOperation.of({ service: 'dynamodb', action: 'UpdateTable', resources: [props.data.table.tableArn] })],
      approvers: [Approver.role(securityLead)],
      timeout: Duration.hours(4),
    });
    gate.grantRequest(agent);
    const breaker = new CircuitBreaker(this, 'Breaker', {
      agents: [{ agent, thresholds: { maxDestructiveCalls: 5, maxDeniedCalls: 10, window: Duration.minutes(5) } }],
    });
    // This app deploys to us-east-1, where the global services' CloudTrail events arrive: nothing to forward.
    Annotations.of(breaker).acknowledgeWarning('cdk-agent-guardrails:breaker-global-events', 'deployed to us-east-1');
    // Production logs: COMPLIANCE mode chosen on purpose (no one can delete them for a year).
    new AuditTrail(this, 'Audit', { retention: Duration.days(365), lockMode: AuditLockMode.COMPLIANCE });
  }
}

const app = new App();
const data = new DataStack(app, 'Data');
new GuardrailsStack(app, 'Guardrails', { data });
Validations.of(app).addPlugins(new AwsSolutionsChecks(app), new AgentGuardrailsChecks(app));
`;

/**
 * Run with node in the app: cdk-nag made unresolvable (MODULE_NOT_FOUND, as when it is not
 * installed), the package is imported, an AgentRole synthesized, then AgentGuardrailsChecks
 * constructed. Prints one JSON line.
 */
export const WITHOUT_CDK_NAG_SOURCE = `'use strict';
const Module = require('module');
const path = require('path');
const resolve = Module._resolveFilename;
const refused = [];
Module._resolveFilename = function (request, ...rest) {
  if (request === 'cdk-nag' || request.startsWith('cdk-nag/')) {
    refused.push(request);
    const error = new Error("Cannot find module '" + request + "'");
    error.code = 'MODULE_NOT_FOUND';
    throw error;
  }
  return resolve.call(this, request, ...rest);
};
const result = { refused };
try {
  const { App, Stack } = require('aws-cdk-lib');
  const iam = require('aws-cdk-lib/aws-iam');
  const guardrails = require('cdk-agent-guardrails');
  const app = new App({ outdir: path.join(__dirname, 'cdk.out.peer-missing') });
  const stack = new Stack(app, 'Agent');
  new guardrails.AgentRole(stack, 'OpsAssistant', { agentName: 'ops-assistant', assumedBy: new iam.AccountPrincipal(stack.account) });
  const template = app.synth().getStackByName('Agent').template;
  result.agentRoles = Object.values(template.Resources)
    .filter((r) => r.Type === 'AWS::IAM::Role' && (r.Properties.Tags || []).some((t) => t.Key === 'guardrails:agent'))
    .length;
  try {
    new guardrails.AgentGuardrailsChecks(app);
    result.checks = 'constructed';
  } catch (e) {
    result.checks = { name: e.name, code: e.code, message: e.message, fix: e.fix };
  }
} catch (e) {
  result.importError = { name: e.name, code: e.code, message: e.message, stack: e.stack };
}
console.log(JSON.stringify(result));
`;

/** A violation of the validation report (cdk.out/validation-report.json), one per construct. */
export interface Violation {
  readonly plugin: string;
  readonly rule: string;
  readonly severity: string;
  readonly path: string;
}

export function violationsOf(cdkOut: string): Violation[] | undefined {
  const file = path.join(cdkOut, 'validation-report.json');
  if (!fs.existsSync(file)) return undefined;
  const report = JSON.parse(fs.readFileSync(file, 'utf8'));
  return (report.pluginReports ?? []).flatMap((plugin: any) =>
    (plugin.violations ?? []).flatMap((v: any) =>
      (v.violatingConstructs ?? [{}]).map((c: any) => ({
        plugin: plugin.pluginName,
        rule: v.ruleName,
        severity: v.severity,
        path: c.constructPath ?? '?',
      })),
    ),
  );
}

export function stacksOf(cdkOut: string): Record<string, any> {
  const manifestFile = path.join(cdkOut, 'manifest.json');
  if (!fs.existsSync(manifestFile)) return {};
  const manifest = JSON.parse(fs.readFileSync(manifestFile, 'utf8'));
  return Object.fromEntries(Object.entries<any>(manifest.artifacts ?? {}).filter(([, a]) => a.type === 'aws:cloudformation:stack'));
}
