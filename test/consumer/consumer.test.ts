/**
 * What a new user does: `cdk init app --language typescript`, install the published package (here
 * the tarball `npm pack` builds), write two stacks with AgentRole, ApprovalGate, CircuitBreaker and
 * AuditTrail, run both rule packs, `cdk synth`, then `npx cdk-agent-guardrails verify cdk.out`.
 * Everything runs in a temporary folder outside the repository, offline, without esbuild or Docker.
 * Set KEEP_CONSUMER_APP=1 to keep the folder for inspection, CONSUMER_TARBALL=<file.tgz> to use a
 * tarball packed before instead of running `npm pack`.
 */
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';
import {
  APP_COMMAND,
  cdkInit,
  consumerEnv,
  describeRun,
  extractTarball,
  installApp,
  packLibrary,
  run,
  RunResult,
  stacksOf,
  Violation,
  violationsOf,
  writeApp,
  writeShims,
} from './consumer-app';

jest.setTimeout(15 * 60 * 1000);

const FIXTURE = path.join(__dirname, 'fixtures', 'cdk-init.cdk.json');

/**
 * Flags of the `cdk init` template whose value the library's behaviour depends on. A new CLI that
 * changes one of them changes what new users synthesize: the fixture (and the library) must follow.
 */
const LIBRARY_FLAGS: Readonly<Record<string, string>> = {
  '@aws-cdk/core:defaultCrossStackReferences':
    'how cross-stack ARNs in agent policies are rendered (Fn::GetStackOutput, Fn::ImportValue): verify must resolve them',
  '@aws-cdk/core:validateAgainstDefaultRules': "CloudFormation validation findings fail synth: the constructs' templates must be clean",
  '@aws-cdk/core:annotationsInValidationReport': "where the constructs' annotations and the rule packs' findings are reported",
  '@aws-cdk/core:explicitStackTags': 'whether stack tags (environment = production/dev) reach the manifest that ProductionScope and verify read',
  '@aws-cdk/aws-iam:minimizePolicies': 'the shape of agent policies that AgentGuardrails-AG3 and verify analyse',
  '@aws-cdk/core:enablePartitionLiterals': 'partition literal vs AWS::Partition in the ARNs verify resolves',
  '@aws-cdk/core:aspectPrioritiesMutating': 'the order of mutating aspects (GuardAgents) against the rule packs',
};

const timings: Record<string, number> = {};
const keep = process.env.KEEP_CONSUMER_APP === '1';

describe('the cdk init template', () => {
  let workDir: string;
  let installed: any;
  let fixture: any;
  beforeAll(() => {
    // GIVEN the cdk.json that `cdk init app --language typescript` writes with the installed aws-cdk CLI
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-init-flags-'));
    const init = cdkInit(path.join(workDir, 'consumer-app'), consumerEnv(path.join(workDir, 'shims')));
    timings['cdk init (flags)'] = init.ms;
    installed = JSON.parse(fs.readFileSync(path.join(workDir, 'consumer-app', 'cdk.json'), 'utf8'));
    // AND the copy kept in the repository
    fixture = JSON.parse(fs.readFileSync(FIXTURE, 'utf8'));
  });
  afterAll(() => {
    if (!keep && workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('keeps the values of the flags the library depends on', () => {
    // WHEN the flags the library depends on are read from both
    const pick = (cdkJson: any) => Object.fromEntries(Object.keys(LIBRARY_FLAGS).map((flag) => [flag, cdkJson.context?.[flag]]));
    const drift = Object.keys({ ...installed.context, ...fixture.context })
      .filter((flag) => JSON.stringify(installed.context?.[flag]) !== JSON.stringify(fixture.context?.[flag]))
      .map((flag) => `${flag}: fixture ${JSON.stringify(fixture.context?.[flag])}, installed CLI ${JSON.stringify(installed.context?.[flag])}`);
    if (drift.length > 0) console.log(`cdk init flags that differ from ${path.relative(process.cwd(), FIXTURE)}:\n${drift.join('\n')}`);
    // THEN they have the values the fixture records (the CLI changed a default: update the fixture and check the library)
    expect(pick(installed)).toEqual(pick(fixture));
    // AND every one of them is set by the template (a flag the template dropped falls back to its unconfigured default)
    for (const flag of Object.keys(LIBRARY_FLAGS)) expect([flag, flag in installed.context]).toEqual([flag, true]);
  });
});

describe('a consumer app with the packed library', () => {
  let workDir: string;
  let appDir: string;
  let env: NodeJS.ProcessEnv;
  let shimLog: string;
  let tarball: string;
  let packageDir: string;
  let cdkJson: any;
  let templateCdkJson: any;
  let synth: RunResult;
  let cdkOut: string;
  let setupError: Error | undefined;
  /** The tests after the first need the packed, installed app; the first one reports why it is missing. */
  const ready = () => {
    if (setupError) throw new Error('the app could not be packed or installed: see the first test of this block');
  };

  beforeAll(() => {
    try {
      setUp();
    } catch (e) {
      setupError = e as Error;
    }
  });

  function setUp(): void {
    workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'cdk-agent-guardrails-consumer-'));
    console.log(`consumer app folder: ${workDir}${keep ? ' (kept)' : ''}`);
    shimLog = writeShims(path.join(workDir, 'shims'));
    env = consumerEnv(path.join(workDir, 'shims'));
    appDir = path.join(workDir, 'consumer-app');

    // GIVEN a project generated by `cdk init app --language typescript`
    timings['cdk init'] = cdkInit(appDir, env).ms;
    // AND the library packed as npm publish would (prepack: tsc and the handler bundles)
    if (process.env.CONSUMER_TARBALL) {
      // a tarball packed before (to iterate on the app without rebuilding the library)
      tarball = path.join(workDir, path.basename(process.env.CONSUMER_TARBALL));
      fs.copyFileSync(process.env.CONSUMER_TARBALL, tarball);
    } else {
      const packed = packLibrary(workDir, env);
      tarball = packed.tarball;
      timings['npm pack'] = packed.result.ms;
    }
    packageDir = extractTarball(tarball, path.join(workDir, 'tarball'));
    // AND the app written over the template: two stacks, both rule packs, ts-node
    ({ cdkJson, templateCdkJson } = writeApp(appDir));
    // AND the tarball installed with the other dependencies, offline
    const install = installApp(appDir, tarball, env);
    timings['npm install'] = install.result.ms;
    console.log(`installed with ${install.method}${install.notes.length ? `\n${install.notes.join('\n')}` : ''}`);

    // WHEN the app is synthesized as a user does
    synth = run('npx', ['--no', 'cdk', 'synth', '--quiet', '--no-notices'], { cwd: appDir, env });
    timings['cdk synth'] = synth.ms;
    cdkOut = path.join(appDir, 'cdk.out');
  }

  afterAll(() => {
    console.log(`consumer test timings (ms): ${JSON.stringify(timings)}`);
    if (!keep && workDir) fs.rmSync(workDir, { recursive: true, force: true });
  });

  test('npm pack builds the library and the tarball installs into the cdk init app', () => {
    // THEN every step before synth succeeded (a lib/ that does not compile fails here)
    if (setupError) throw setupError;
    expect(fs.existsSync(path.join(appDir, 'node_modules', 'cdk-agent-guardrails', 'package.json'))).toBe(true);
  });

  test("the app runs with the cdk init template's context flags, validateAgainstDefaultRules on, through ts-node", () => {
    ready();
    // THEN the context is the template's, untouched but for CloudFormation validation as errors
    expect(cdkJson.context).toEqual({ ...templateCdkJson.context, '@aws-cdk/core:validateAgainstDefaultRules': true });
    expect(cdkJson.app).toBe(APP_COMMAND);
    expect(cdkJson.context['@aws-cdk/core:defaultCrossStackReferences']).toBe(templateCdkJson.context['@aws-cdk/core:defaultCrossStackReferences']);
  });

  test('the tarball ships the compiled library and the prebuilt Lambda bundles, and installs without esbuild', () => {
    ready();
    // THEN the package holds dist/lib and one bundle per handler
    expect(fs.existsSync(path.join(packageDir, 'dist', 'lib', 'index.js'))).toBe(true);
    expect(fs.existsSync(path.join(packageDir, 'dist', 'lib', 'index.d.ts'))).toBe(true);
    const bundles = fs.readdirSync(path.join(packageDir, 'dist', 'assets'));
    expect(bundles.length).toBeGreaterThan(0);
    for (const bundle of bundles) expect(fs.readdirSync(path.join(packageDir, 'dist', 'assets', bundle))).toEqual(['index.js']);
    // AND the app has neither esbuild nor any esbuild platform package
    const modules = path.join(appDir, 'node_modules');
    expect(fs.existsSync(path.join(modules, 'esbuild'))).toBe(false);
    expect(fs.existsSync(path.join(modules, '@esbuild'))).toBe(false);
    expect(fs.existsSync(path.join(modules, 'cdk-agent-guardrails', 'dist', 'assets'))).toBe(true);
  });

  test('synth passes AwsSolutionsChecks, AgentGuardrailsChecks and CloudFormation validation: exit 0, both stacks', () => {
    ready();
    // THEN synth exits 0 with no finding of any pack
    const violations = violationsOf(cdkOut);
    const listed = (violations ?? []).map((v: Violation) => `${v.severity} ${v.rule} at ${v.path} (${v.plugin})`);
    if (synth.status !== 0 || listed.length > 0) {
      console.log(
        listed.length > 0
          ? `cdk synth (exit ${synth.status}) reported ${listed.length} finding(s) in cdk.out/validation-report.json:\n${listed.join('\n')}`
          : `cdk synth failed:\n${describeRun(synth)}`,
      );
    }
    expect(listed).toEqual([]);
    expect(synth.status).toBe(0);
    // AND the assembly holds both stacks, the Guardrails stack depending on the Data stack
    const stacks = stacksOf(cdkOut);
    expect(Object.keys(stacks).sort()).toEqual(['Data', 'Guardrails']);
    expect(stacks.Guardrails.dependencies).toEqual(expect.arrayContaining(['Data']));
  });

  test('the Lambda functions use the bundles of the tarball, unchanged: same files, same asset hashes, nothing built at synth', () => {
    ready();
    // GIVEN the asset hashes CDK computes for the tarball's bundles wherever they are (here, extracted elsewhere)
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const { FileSystem } = require(path.join(appDir, 'node_modules', 'aws-cdk-lib'));
    const bundles = fs.readdirSync(path.join(packageDir, 'dist', 'assets'));
    const expected = Object.fromEntries(bundles.map((b) => [FileSystem.fingerprint(path.join(packageDir, 'dist', 'assets', b)) as string, b]));
    // WHEN the functions of the synthesized templates are read
    const functions = Object.keys(stacksOf(cdkOut)).flatMap((stack) => {
      const template = JSON.parse(fs.readFileSync(path.join(cdkOut, `${stack}.template.json`), 'utf8'));
      return Object.values<any>(template.Resources)
        .filter((r) => r.Type === 'AWS::Lambda::Function')
        .map((r) => ({ stack, r }));
    });
    // THEN there are the gate's and the breaker's functions
    expect(functions.length).toBeGreaterThanOrEqual(2);
    const used = new Set<string>();
    for (const { r } of functions) {
      const hash = String(r.Properties.Code.S3Key).replace(/\.zip$/, '');
      // AND each is a prebuilt bundle of the tarball, not bundled at synth
      expect([r.Metadata['aws:cdk:path'], expected[hash] !== undefined]).toEqual([r.Metadata['aws:cdk:path'], true]);
      expect(r.Metadata['aws:asset:path']).toBe(`asset.${hash}`);
      expect(r.Metadata['aws:asset:is-bundled']).toBe(false);
      used.add(hash);
    }
    // AND the gate's and the breaker's bundles are used (the collector and break-glass bundles only serve features this app
    // does not configure), and each asset directory holds exactly the tarball's index.js
    expect([...used].map((hash) => expected[hash]).sort()).toEqual(['approval-handler', 'breaker-handler']);
    for (const hash of used) {
      const assetDir = path.join(cdkOut, `asset.${hash}`);
      expect(fs.readdirSync(assetDir)).toEqual(['index.js']);
      expect(
        fs.readFileSync(path.join(assetDir, 'index.js')).equals(fs.readFileSync(path.join(packageDir, 'dist', 'assets', expected[hash], 'index.js'))),
      ).toBe(true);
    }
    // AND neither Docker nor esbuild was called
    expect(fs.existsSync(shimLog) ? fs.readFileSync(shimLog, 'utf8') : '').toBe('');
  });

  test('npx cdk-agent-guardrails verify cdk.out finds the app clean (exit 0)', () => {
    ready();
    // GIVEN the assembly of the app (synth must have written both stacks)
    expect(Object.keys(stacksOf(cdkOut)).sort()).toEqual(['Data', 'Guardrails']);
    // WHEN verify runs on it
    const verify = run('npx', ['--no', 'cdk-agent-guardrails', 'verify', 'cdk.out'], { cwd: appDir, env });
    timings['verify'] = verify.ms;
    if (verify.status !== 0)
      console.log(`verify failed${synth.status !== 0 ? ' (on the assembly of a synth that failed: see above)' : ''}:\n${describeRun(verify)}`);
    // THEN the agent can destroy nothing in production, across stacks included
    expect(verify.status).toBe(0);
    expect(verify.stdout).toMatch(/ops-assistant/);
    expect(verify.stdout).toMatch(/Data\/Orders/);
  });

  test('without cdk-nag, AgentRole works and AgentGuardrailsChecks says to install cdk-nag', () => {
    ready();
    // WHEN the package is used in the app with cdk-nag unresolvable
    const result = run(process.execPath, ['check-optional-peer.js'], { cwd: appDir, env });
    timings['without cdk-nag'] = result.ms;
    // (stderr may carry CDK's own validation warnings about the role; nothing about cdk-nag)
    if (result.status !== 0) console.log(describeRun(result));
    expect(result.status).toBe(0);
    expect(result.stderr).not.toMatch(/cdk-nag|MODULE_NOT_FOUND/);
    const outcome = JSON.parse(result.stdout.trim().split('\n').pop()!);
    // THEN importing the package and synthesizing an AgentRole works
    expect(outcome.importError).toBeUndefined();
    expect(outcome.agentRoles).toBe(1);
    // AND the pack fails with a GuardrailsError telling to install cdk-nag, not a bare MODULE_NOT_FOUND
    expect(outcome.checks).toEqual(expect.objectContaining({ name: 'GuardrailsError' }));
    expect(`${outcome.checks.message} ${outcome.checks.fix ?? ''}`).toMatch(/install/i);
    expect(`${outcome.checks.message} ${outcome.checks.fix ?? ''}`).toMatch(/cdk-nag/);
    expect(outcome.checks.code).not.toBe('MODULE_NOT_FOUND');
    // AND the hook did refuse cdk-nag (the check ran without it)
    expect(outcome.refused).toContain('cdk-nag');
  });
});
