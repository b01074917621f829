import * as fs from 'fs';
import * as path from 'path';
import * as dynamodb from 'aws-cdk-lib/aws-dynamodb';
import * as iam from 'aws-cdk-lib/aws-iam';
import { Browser, Page, chromium } from 'playwright-core';
import { AgentRole, AuditTrail, AuditLockMode } from '../../lib';
import { VerifyReport } from '../../lib/verify/analysis/analysis';
import { renderHtml } from '../../lib/verify/reports/report-html';
import { IncidentStack, cli, synthTo } from './verify-fixtures';

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');
/** A construct id (it becomes the resource's name in the report) that would run script if it were rendered as HTML. */
const HOSTILE_ID = '<img src=x onerror="document.title=\'pwned\'">';

// Runs in the page (the function's source is sent there): browser globals the node typings do not declare.
type InPage = {
  getComputedStyle: (e: unknown) => { backgroundColor: string; writingMode: string; transform: string };
  document: { documentElement: { scrollWidth: number; clientWidth: number } };
};

describe('the HTML report in headless Chromium', () => {
  let browser: Browser;
  let htmlFile: string;
  let code: number;
  let report: VerifyReport;

  beforeAll(async () => {
    // GIVEN the incident's plain role and a guarded AgentRole side by side on the same production resources, the library's own
    // audit trail beside them, and a table whose construct id is an HTML injection
    const dir = synthTo((app) => {
      const incident = new IncidentStack(app, 'Incident');
      const guarded = new AgentRole(incident, 'Guarded', { agentName: 'guarded-assistant', assumedBy: new iam.AccountRootPrincipal() });
      guarded.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
      new AuditTrail(incident, 'Audit', { lockMode: AuditLockMode.GOVERNANCE });
      new dynamodb.Table(incident, HOSTILE_ID, { partitionKey: { name: 'pk', type: dynamodb.AttributeType.STRING } });
    }, 'verify-html-');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    htmlFile = path.join(ARTIFACTS, 'verify-report.html');
    // WHEN verify writes the HTML report
    const run = await cli('verify', dir, '--html', htmlFile, '--json');
    code = run.code;
    report = JSON.parse(run.stdout);
    browser = await chromium.launch({
      executablePath: '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function open(file: string, width: number): Promise<Page> {
    const page = await browser.newPage({ viewport: { width, height: 1000 } });
    await page.goto(`file://${file}`);
    return page;
  }

  test('resources are rows grouped by stack, the library components apart, agents are columns, each cell broken down by class', async () => {
    expect(code).toBe(1);
    const page = await open(htmlFile, 1400);
    // THEN it renders: a title, the verdict banner and the matrix
    await expect(page.title()).resolves.toBe('Agent blast radius: FINDINGS');
    await expect(page.locator('#verdict').innerText()).resolves.toContain('Incident/OpsAgentRole can destroy production');
    // agents are the columns
    await expect(page.locator('table.matrix thead th.agent-col').allInnerTexts()).resolves.toEqual(['Incident/OpsAgentRole', 'guarded-assistant']);
    // the user's resources are grouped by stack; the library's own components (the audit trail) are a group of their own
    const stackGroup = page.locator('table.matrix tbody[data-group="stack"]');
    await expect(stackGroup.getAttribute('data-title')).resolves.toBe('Stack Incident');
    const componentGroup = page.locator('table.matrix tbody[data-group="guardrails"]');
    const componentRows = await componentGroup.locator('tr[data-resource]').evaluateAll((rows) => rows.map((r) => (r as any).dataset.resource));
    expect(componentRows.length).toBeGreaterThan(0);
    expect(componentRows.every((id: string) => id.startsWith('Incident/Audit'))).toBe(true);
    const userRows = await stackGroup.locator('tr[data-resource]').evaluateAll((rows) => rows.map((r) => (r as any).dataset.resource));
    expect(userRows).toContain('Incident/CustomersDb');
    expect(userRows.some((id: string) => id.startsWith('Incident/Audit'))).toBe(false);

    const database = page.locator('table.matrix tr[data-resource="Incident/CustomersDb"]');
    const allowedCell = database.locator('td[data-agent="Incident/OpsAgentRole"]');
    const deniedCell = database.locator('td[data-agent="guarded-assistant"]');
    // the plain role can destroy the database: a red cell saying so, and the destroy chip names the action in its title
    await expect(allowedCell.getAttribute('data-status')).resolves.toBe('allowed');
    await expect(allowedCell.locator('.summary').innerText()).resolves.toMatch(/^CAN \(\d+\)$/);
    const destroyChip = allowedCell.locator('.chip[data-class="destructive"]');
    await expect(destroyChip.getAttribute('data-status')).resolves.toBe('allowed');
    await expect(destroyChip.getAttribute('title')).resolves.toContain('rds:DeleteDBInstance');
    await expect(allowedCell.locator('.chip[data-class="disruptive"]').getAttribute('data-status')).resolves.toBe('allowed');
    // the guarded agent, even with AdministratorAccess, can do no class: a green cell, every chip denied or not granted
    await expect(deniedCell.getAttribute('data-status')).resolves.toBe('denied');
    const guardedChips = await deniedCell.locator('.chip').evaluateAll((chips) => chips.map((c) => (c as any).dataset.status));
    expect(guardedChips.length).toBeGreaterThan(3);
    expect(guardedChips.every((s: string) => s === 'denied' || s === 'not-granted')).toBe(true);
    const escalation = page.locator('table.matrix tr[data-resource="escalation"]');
    await expect(escalation.locator('td[data-agent="guarded-assistant"]').getAttribute('data-status')).resolves.toBe('denied');
    await expect(escalation.locator('td[data-agent="Incident/OpsAgentRole"]').getAttribute('data-status')).resolves.toBe('allowed');

    // a person sees the difference: the cells are visibly painted in different colours
    await expect(allowedCell.isVisible()).resolves.toBe(true);
    const colour = (selector: typeof allowedCell) =>
      selector.evaluate((el) => (globalThis as unknown as InPage).getComputedStyle(el).backgroundColor);
    await expect(colour(allowedCell)).resolves.toBe('rgb(217, 48, 37)');
    await expect(colour(deniedCell)).resolves.toBe('rgb(24, 128, 56)');
    // agent headers are not rotated: they read horizontally and stay short
    const header = page.locator('table.matrix thead th.agent-col').first();
    await expect(header.evaluate((el) => (globalThis as unknown as InPage).getComputedStyle(el).writingMode)).resolves.toBe('horizontal-tb');
    expect((await page.locator('table.matrix thead').boundingBox())!.height).toBeLessThan(100);

    // the per-agent detail names what the plain role can destroy, with a column per class
    const detail = page.locator('section.agent[data-agent="Incident/OpsAgentRole"]');
    await expect(detail.innerText()).resolves.toContain('rds:DeleteDBInstance');
    await expect(detail.locator('table.classes thead th').count()).resolves.toBe(9);

    const screenshot = path.join(ARTIFACTS, 'verify-report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(fs.statSync(screenshot).size).toBeGreaterThan(10_000);
    await page.close();
  });

  test('fails when agent-controlled text is rendered as HTML: a hostile resource name stays text', async () => {
    const page = await open(htmlFile, 1400);
    // THEN the injected markup ran nothing and created no element; it shows literally
    await expect(page.title()).resolves.toBe('Agent blast radius: FINDINGS');
    await expect(page.locator('table.matrix img').count()).resolves.toBe(0);
    await expect(page.locator('table.matrix').innerText()).resolves.toContain('<img src=x onerror=');
    await page.close();
  });

  test('one agent fits 1280 px without scrolling sideways; a gated operation shows as "gated" naming the gate', async () => {
    // GIVEN the guarded example app (one agent; an ApprovalGate gates deleting the Orders database)
    const { buildApp } = await import('../../examples/production-app/main');
    const dir = synthTo((app) => buildApp(app), 'verify-html-gated-');
    const file = path.join(ARTIFACTS, 'verify-report-one-agent.html');
    const run = await cli('verify', dir, '--html', file);
    expect(run.code).toBe(0);
    // WHEN a person opens it in a 1280 px wide window
    const page = await open(file, 1280);
    // THEN nothing scrolls sideways
    const widths = await page.evaluate(() => [
      (globalThis as unknown as InPage).document.documentElement.scrollWidth,
      (globalThis as unknown as InPage).document.documentElement.clientWidth,
    ]);
    expect(widths[0]).toBeLessThanOrEqual(widths[1]);
    // and deleting the database is "gated" (blue), not "denied", with the gate named
    const orders = page.locator('table.matrix tr[data-resource="Production/Orders"] td[data-agent="ops-assistant"]');
    const chip = orders.locator('.chip[data-class="destructive"]');
    await expect(chip.getAttribute('data-status')).resolves.toBe('gated');
    await expect(chip.innerText()).resolves.toBe('destroy: gated');
    await expect(chip.getAttribute('title')).resolves.toMatch(/rds:DeleteDBInstance \(approval gate .*ProductionApprovals/);
    await expect(chip.evaluate((el) => (globalThis as unknown as InPage).getComputedStyle(el).backgroundColor)).resolves.toBe('rgb(26, 115, 232)');
    await page.screenshot({ path: path.join(ARTIFACTS, 'verify-report-one-agent.png'), fullPage: true });
    await page.close();
  });

  test('renders the report object as verify wrote it (JSON and HTML agree on every class cell)', () => {
    const html = renderHtml(report);
    for (const agent of report.agents) {
      for (const r of agent.resources.filter((x) => x.arn !== '*')) {
        for (const [cls, c] of Object.entries(r.byClass).filter(([, v]) => v.status !== 'none')) {
          expect(html).toContain(`data-class="${cls}" data-status="${c.status}"`);
        }
      }
    }
  });
});
