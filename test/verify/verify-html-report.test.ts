import * as fs from 'fs';
import * as path from 'path';
import { Browser, chromium } from 'playwright-core';
import { AgentRole } from '../../lib';
import * as iam from 'aws-cdk-lib/aws-iam';
import { IncidentStack, cli, synthTo } from './verify-fixtures';

const ARTIFACTS = path.join(__dirname, '..', '..', 'test-artifacts');

describe('the HTML report in headless Chromium', () => {
  let browser: Browser;
  let htmlFile: string;
  let code: number;

  beforeAll(async () => {
    // GIVEN the incident's plain role and a guarded AgentRole side by side on the same production resources
    const dir = synthTo((app) => {
      const incident = new IncidentStack(app, 'Incident');
      const guarded = new AgentRole(incident, 'Guarded', { agentName: 'guarded-assistant', assumedBy: new iam.AccountRootPrincipal() });
      guarded.addManagedPolicy(iam.ManagedPolicy.fromAwsManagedPolicyName('AdministratorAccess'));
    }, 'verify-html-');
    fs.mkdirSync(ARTIFACTS, { recursive: true });
    htmlFile = path.join(ARTIFACTS, 'verify-report.html');
    // WHEN verify writes the HTML report
    const run = await cli('verify', dir, '--html', htmlFile);
    code = run.code;
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

  test('renders the matrix with allowed cells for the plain role and denied cells for the guarded agent', async () => {
    expect(code).toBe(1);
    const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
    await page.goto(`file://${htmlFile}`);
    // THEN it renders: a title, the verdict banner and the matrix
    await expect(page.title()).resolves.toBe('Agent blast radius: FINDINGS');
    await expect(page.locator('#verdict').innerText()).resolves.toContain('Incident/OpsAgentRole can destroy production');
    const rows = page.locator('table.matrix tbody tr');
    await expect(rows.count()).resolves.toBe(2);

    const incidentRow = page.locator('table.matrix tr[data-agent="Incident/OpsAgentRole"]');
    const guardedRow = page.locator('table.matrix tr[data-agent="guarded-assistant"]');
    const database = '[data-resource="Incident/CustomersDb"]';
    // the plain role can destroy the database: a red cell saying so
    const allowedCell = incidentRow.locator(database);
    await expect(allowedCell.getAttribute('data-status')).resolves.toBe('allowed');
    await expect(allowedCell.innerText()).resolves.toMatch(/^CAN \(\d+\)$/);
    await expect(allowedCell.getAttribute('title')).resolves.toContain('rds:DeleteDBInstance');
    // the guarded agent, even with AdministratorAccess, cannot: a green cell
    const deniedCell = guardedRow.locator(database);
    await expect(deniedCell.getAttribute('data-status')).resolves.toBe('denied');
    await expect(deniedCell.innerText()).resolves.toBe('denied');
    await expect(guardedRow.locator('[data-resource="escalation"]').getAttribute('data-status')).resolves.toBe('denied');
    await expect(incidentRow.locator('[data-resource="escalation"]').getAttribute('data-status')).resolves.toBe('allowed');

    // and a person sees the difference: the cells are visibly painted in different colours
    await expect(allowedCell.isVisible()).resolves.toBe(true);
    await expect(deniedCell.isVisible()).resolves.toBe(true);
    // Runs in the page (the function's source is sent there): the browser's getComputedStyle, which the node typings do not declare.
    type InPage = { getComputedStyle: (e: unknown) => { backgroundColor: string } };
    const colour = (selector: typeof allowedCell) =>
      selector.evaluate((el) => (globalThis as unknown as InPage).getComputedStyle(el).backgroundColor);
    await expect(colour(allowedCell)).resolves.toBe('rgb(217, 48, 37)');
    await expect(colour(deniedCell)).resolves.toBe('rgb(24, 128, 56)');

    // the per-agent detail names what the plain role can destroy
    await expect(page.locator('section.agent[data-agent="Incident/OpsAgentRole"]').innerText()).resolves.toContain('rds:DeleteDBInstance');

    const screenshot = path.join(ARTIFACTS, 'verify-report.png');
    await page.screenshot({ path: screenshot, fullPage: true });
    expect(fs.statSync(screenshot).size).toBeGreaterThan(10_000);
    await page.close();
  });
});
