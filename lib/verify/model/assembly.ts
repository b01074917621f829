import * as fs from 'fs';
import * as path from 'path';
import { GuardrailsError, GuardrailsErrorKind } from '../../shared/errors';
import { StackEnvironment, Template, TemplateResolver, TemplateResource, UNKNOWN_ACCOUNT, UNKNOWN_REGION } from './template-values';

/** One CloudFormation stack of the assembly: a top-level stack, a stage's stack, or a nested stack. */
export interface StackModel {
  /** Display name: the stack name, with the parent's for a nested stack (`Parent/Nested`). */
  readonly displayName: string;
  readonly env: StackEnvironment;
  /** Whether the account is known (an environment-agnostic stack gets a placeholder). */
  readonly accountKnown: boolean;
  readonly template: Template;
  /** Stack-level tags (from the manifest; a nested stack inherits its parent's). */
  readonly tags: Record<string, string>;
  readonly resolver: TemplateResolver;
  readonly templateFile: string;
  readonly parent?: StackModel;
  /** Logical ID -> construct path, from the assembly's tree.json: an app synthesized without path metadata (a plain app.synth()). */
  readonly constructPaths?: ReadonlyMap<string, string>;
}

/** The construct path of a resource: its `aws:cdk:path` metadata (written by the CDK CLI), else what tree.json says. */
export function constructPathOf(stack: StackModel, logicalId: string, resource: TemplateResource): string | undefined {
  const path = resource.Metadata?.['aws:cdk:path'];
  return typeof path === 'string' ? path : stack.constructPaths?.get(logicalId);
}

/** The stacks of a cloud assembly, nested assemblies (stages) and nested stacks included. */
export interface AssemblyModel {
  readonly directory: string;
  readonly stacks: StackModel[];
}

interface ManifestArtifact {
  readonly type: string;
  readonly environment?: string;
  readonly displayName?: string;
  readonly properties?: Record<string, any>;
}

function readJson(file: string, what: string): any {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    throw new GuardrailsError(
      GuardrailsErrorKind.BAD_ASSEMBLY,
      `cannot read ${what} ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}. Run \`cdk synth\` again.`,
    );
  }
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new GuardrailsError(
      GuardrailsErrorKind.BAD_ASSEMBLY,
      `${what} ${file} is not valid JSON (${(e as Error).message}); the cloud assembly is corrupt. Delete it and run \`cdk synth\` again.`,
    );
  }
}

function checkTemplate(template: any, file: string): Template {
  if (
    !template ||
    typeof template !== 'object' ||
    Array.isArray(template) ||
    (template.Resources !== undefined && (typeof template.Resources !== 'object' || Array.isArray(template.Resources)))
  ) {
    throw new GuardrailsError(
      GuardrailsErrorKind.BAD_ASSEMBLY,
      `template ${file} is not a CloudFormation template (expected an object with a Resources object). Run \`cdk synth\` again.`,
    );
  }
  return template as Template;
}

function environmentOf(artifact: ManifestArtifact): { account?: string; region?: string } {
  const match = /^aws:\/\/([^/]+)\/([^/]+)$/.exec(artifact.environment ?? '');
  const account = match && /^\d{12}$/.test(match[1]) ? match[1] : undefined;
  const region = match && !match[2].startsWith('unknown-') ? match[2] : undefined;
  return { account, region };
}

/**
 * Reads every stack of the cloud assembly in `directory`. Throws VerifyInputError (never a stack
 * trace) when the directory is missing, is not an assembly, or holds corrupt files.
 */
export function readAssembly(directory: string): AssemblyModel {
  const root = path.resolve(directory);
  if (fs.existsSync(root) && !fs.statSync(root).isDirectory()) {
    throw new GuardrailsError(
      GuardrailsErrorKind.BAD_ASSEMBLY,
      `no cloud assembly at ${root}: it is a file, not a directory. Pass the cdk.out directory that \`cdk synth\` writes: verify <cdk.out>.`,
    );
  }
  if (!fs.existsSync(root)) {
    throw new GuardrailsError(
      GuardrailsErrorKind.BAD_ASSEMBLY,
      `no cloud assembly at ${root}: the directory does not exist. Run \`cdk synth\` first, or pass the cdk.out directory: verify <cdk.out>.`,
    );
  }
  if (!fs.existsSync(path.join(root, 'manifest.json'))) {
    throw new GuardrailsError(
      GuardrailsErrorKind.BAD_ASSEMBLY,
      `no cloud assembly at ${root}: manifest.json is missing. Run \`cdk synth\` first, or pass the cdk.out directory: verify <cdk.out>.`,
    );
  }
  const imports = new Map<string, unknown>();
  const stacks: StackModel[] = [];
  readManifest(root, imports, stacks, new Set(), stackOutputs(stacks));
  attachConstructPaths(root, stacks);
  // Exports are resolved after every stack is known, so that one stack can import from another.
  for (const stack of stacks) {
    for (const output of Object.values(stack.template.Outputs ?? {})) {
      if (output && output.Export) {
        imports.set(String(stack.resolver.resolve(output.Export.Name)), stack.resolver.resolve(output.Value));
      }
    }
  }
  return { directory: root, stacks };
}

interface TreeNode {
  readonly path?: string;
  readonly attributes?: Record<string, unknown>;
  readonly children?: Record<string, TreeNode>;
}

/**
 * Reads the construct tree (tree.json, which `app.synth()` writes with or without the CLI) and gives each stack the
 * construct paths of its resources by logical ID: a resource belongs to the stack whose display name (its construct
 * path) is the longest prefix of its own path. A missing or unreadable tree leaves the paths unknown.
 */
function attachConstructPaths(root: string, stacks: StackModel[]): void {
  let manifest: any;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(root, 'manifest.json'), 'utf8'));
  } catch {
    return;
  }
  const treeArtifact = Object.values<ManifestArtifact>(manifest?.artifacts ?? {}).find((a) => a.type === 'cdk:tree');
  const file = treeArtifact?.properties?.file;
  if (typeof file !== 'string' || !fs.existsSync(path.join(root, file))) return;
  let tree: { tree?: TreeNode };
  try {
    tree = JSON.parse(fs.readFileSync(path.join(root, file), 'utf8'));
  } catch {
    return;
  }
  const byDisplayName = [...stacks].sort((a, b) => b.displayName.length - a.displayName.length);
  const maps = new Map<StackModel, Map<string, string>>();
  const visit = (node: TreeNode | undefined) => {
    if (!node || typeof node !== 'object') return;
    const logicalId = node.attributes?.['aws:cdk:cloudformation:logicalId'];
    if (typeof logicalId === 'string' && typeof node.path === 'string') {
      const stack = byDisplayName.find((s) => node.path!.startsWith(`${s.displayName}/`) && s.template.Resources?.[logicalId] !== undefined);
      if (stack) {
        const map = maps.get(stack) ?? new Map<string, string>();
        map.set(logicalId, node.path);
        maps.set(stack, map);
      }
    }
    for (const child of Object.values(node.children ?? {})) visit(child);
  };
  visit(tree?.tree);
  for (const [stack, map] of maps) (stack as { constructPaths?: ReadonlyMap<string, string> }).constructPaths = map;
}

/** What `Fn::GetStackOutput` reads: the output of a top-level stack of the assembly, resolved by its own resolver. */
type StackOutputs = (stackName: string, region: string | undefined, output: string) => unknown;

function stackOutputs(stacks: StackModel[]): StackOutputs {
  const resolving = new Set<string>();
  return (stackName, region, output) => {
    const inRegion = (s: StackModel) => region === undefined || s.env.region === region || s.env.region === UNKNOWN_REGION;
    const producer = stacks.find((s) => s.parent === undefined && s.env.stackName === stackName && inRegion(s));
    const value = producer?.template.Outputs?.[output]?.Value;
    if (!producer || value === undefined) return undefined;
    const key = `${producer.templateFile}|${output}`;
    // Two stacks that read each other's outputs cannot be deployed; never recurse forever on one.
    if (resolving.has(key)) return undefined;
    resolving.add(key);
    try {
      return producer.resolver.resolve(value);
    } finally {
      resolving.delete(key);
    }
  };
}

function readManifest(directory: string, imports: Map<string, unknown>, stacks: StackModel[], seen: Set<string>, outputs: StackOutputs): void {
  if (seen.has(directory)) return;
  seen.add(directory);
  const manifestFile = path.join(directory, 'manifest.json');
  const manifest = readJson(manifestFile, 'manifest');
  if (!manifest || typeof manifest !== 'object' || typeof manifest.artifacts !== 'object' || manifest.artifacts === null) {
    throw new GuardrailsError(
      GuardrailsErrorKind.BAD_ASSEMBLY,
      `manifest ${manifestFile} lists no artifacts; it is not a cloud assembly. Run \`cdk synth\` again.`,
    );
  }
  for (const [id, artifact] of Object.entries<ManifestArtifact>(manifest.artifacts)) {
    if (artifact.type === 'cdk:cloud-assembly') {
      const nested = artifact.properties?.directoryName;
      if (typeof nested === 'string') {
        readManifest(path.join(directory, nested), imports, stacks, seen, outputs);
      }
      continue;
    }
    if (artifact.type !== 'aws:cloudformation:stack') continue;
    const templateFile = artifact.properties?.templateFile;
    if (typeof templateFile !== 'string') {
      throw new GuardrailsError(
        GuardrailsErrorKind.BAD_ASSEMBLY,
        `manifest ${manifestFile}: stack ${id} names no template file. Run \`cdk synth\` again.`,
      );
    }
    const file = path.join(directory, templateFile);
    const template = checkTemplate(readJson(file, 'template'), file);
    const { account, region } = environmentOf(artifact);
    const stackName = String(artifact.properties?.stackName ?? artifact.displayName?.split('/').pop() ?? id);
    const env: StackEnvironment = { stackName, account: account ?? UNKNOWN_ACCOUNT, region: region ?? UNKNOWN_REGION, partition: 'aws' };
    const tags: Record<string, string> = {};
    for (const [k, v] of Object.entries(artifact.properties?.tags ?? {})) tags[k] = String(v);
    addStack(
      { displayName: artifact.displayName ?? stackName, env, accountKnown: account !== undefined, template, tags, templateFile: file },
      directory,
      { imports, outputs },
      stacks,
      undefined,
    );
  }
}

interface StackSeed {
  readonly displayName: string;
  readonly env: StackEnvironment;
  readonly accountKnown: boolean;
  readonly template: Template;
  readonly tags: Record<string, string>;
  readonly templateFile: string;
}

const assetFilesCache = new Map<string, Map<string, string>>();

/** Asset hash -> file, from the asset manifests of a directory (nested stack templates are file assets). */
function assetFiles(directory: string): Map<string, string> {
  let files = assetFilesCache.get(directory);
  if (!files) {
    files = new Map();
    for (const name of fs.readdirSync(directory).filter((f) => f.endsWith('.assets.json'))) {
      const manifest = readJson(path.join(directory, name), 'asset manifest');
      for (const [hash, entry] of Object.entries<any>(manifest?.files ?? {})) {
        if (typeof entry?.source?.path === 'string') files.set(hash, entry.source.path);
      }
    }
    assetFilesCache.set(directory, files);
  }
  return files;
}

/** The file of a nested stack's template: from the asset metadata, else from the asset hash in its TemplateURL. */
function nestedTemplateFile(directory: string, resolver: TemplateResolver, resource: TemplateResource): string | undefined {
  const assetPath = resource.Metadata?.['aws:asset:path'];
  if (typeof assetPath === 'string' && assetPath.endsWith('.json')) return assetPath;
  const url = resolver.resolve(resource.Properties?.TemplateURL);
  const hash = typeof url === 'string' ? /([0-9a-f]{64})\.json$/.exec(url)?.[1] : undefined;
  return hash ? assetFiles(directory).get(hash) : undefined;
}

/** A nested stack's name as the user wrote it: its construct id, without CDK's `.NestedStack` suffix. */
function nestedDisplayName(resource: TemplateResource, logicalId: string): string {
  const id = resource.Metadata?.['aws:cdk:path']?.split('/').slice(-2, -1)[0] ?? logicalId;
  return String(id).replace(/\.NestedStack$/, '');
}

function addStack(
  seed: StackSeed,
  directory: string,
  links: { imports: Map<string, unknown>; outputs: StackOutputs },
  stacks: StackModel[],
  parent: { model: StackModel; parameters: () => Record<string, unknown> } | undefined,
): StackModel {
  const imports = links.imports;
  const children = new Map<string, StackModel>();
  let parameters: Record<string, unknown> | undefined;
  const resolver = new TemplateResolver(seed.env, seed.template, {
    imports,
    get parameters() {
      parameters ??= parent ? parent.parameters() : undefined;
      return parameters;
    },
    nestedOutput: (logicalId, output) => {
      const child = children.get(logicalId);
      const value = child?.template.Outputs?.[output]?.Value;
      return child && value !== undefined ? child.resolver.resolve(value) : `unresolved:nested output ${logicalId}.${output}`;
    },
    stackOutput: links.outputs,
  });
  const model: StackModel = { ...seed, resolver, parent: parent?.model };
  stacks.push(model);
  for (const [logicalId, resource] of Object.entries(seed.template.Resources ?? {})) {
    if (resource.Type !== 'AWS::CloudFormation::Stack') continue;
    const assetPath = nestedTemplateFile(directory, resolver, resource);
    if (!assetPath) continue;
    const file = path.join(directory, assetPath);
    const template = checkTemplate(readJson(file, 'nested stack template'), file);
    const nestedName = `${seed.env.stackName}-${logicalId}`;
    const child = addStack(
      {
        displayName: `${seed.displayName}/${nestedDisplayName(resource, logicalId)}`,
        env: { ...seed.env, stackName: nestedName },
        accountKnown: seed.accountKnown,
        template,
        tags: { ...seed.tags },
        templateFile: file,
      },
      directory,
      links,
      stacks,
      {
        model,
        parameters: () => resolver.resolve(resource.Properties?.Parameters ?? {}) as Record<string, unknown>,
      },
    );
    children.set(logicalId, child);
  }
  return model;
}
