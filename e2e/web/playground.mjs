// Drives the maas web app in headless Debian Chromium (playwright-core) the way
// a user does: sign in with a pasted token, pick the project, deploy an
// endpoint from the dialog (when MAAS_CREATE_MODEL is set), read its keys,
// chat in the playground with streaming and check the usage line, then open
// the usage page and download its CSV. Saves a PNG of each step in SHOTS_DIR.
//
// Env: MAAS_URL (e.g. http://127.0.0.1:8080), MAAS_TOKEN (principal token),
// MAAS_PROJECT, and MAAS_ENDPOINT (an existing endpoint) or MAAS_CREATE_MODEL
// (a catalog model name to deploy as a new endpoint). Optional:
// MAAS_NEW_PROJECT (create a project with the dialog first), SHOTS_DIR
// (default ./out), CHROMIUM (default /usr/bin/chromium), CHAT_TIMEOUT_MS.
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

const need = (k) => {
  const v = process.env[k];
  if (!v) { console.error(`playground.mjs: set ${k}`); process.exit(2); }
  return v;
};
const base = need('MAAS_URL').replace(/\/+$/, '');
const token = need('MAAS_TOKEN');
const project = need('MAAS_PROJECT');
const createModel = process.env.MAAS_CREATE_MODEL || '';
let endpoint = process.env.MAAS_ENDPOINT || '';
if (!endpoint && !createModel) { console.error('playground.mjs: set MAAS_ENDPOINT or MAAS_CREATE_MODEL'); process.exit(2); }
const shots = process.env.SHOTS_DIR || 'out';
const chatTimeout = Number(process.env.CHAT_TIMEOUT_MS || 180000);
mkdirSync(shots, { recursive: true });

const fail = (msg) => { throw new Error(msg); };
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking',
    '--disable-component-update', '--disable-sync'],
});
const problems = [];
try {
  const page = await browser.newPage({ viewport: { width: 1280, height: 860 } });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => { if (m.type() === 'error') problems.push(`console: ${m.text()}`); });
  const shot = async (name) => {
    await page.screenshot({ path: path.join(shots, `${name}.png`) });
    console.log(`saved ${path.join(shots, name)}.png`);
  };

  // Sign in through the dialog the app opens when it has no token.
  await page.goto(`${base}/catalog`);
  await page.getByLabel('Principal token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).last().click();
  await page.locator('.model-card').first().waitFor({ timeout: 15000 });
  if (await page.getByText(token).count()) fail('the token is shown on the page');
  await shot('catalog');

  // Pick the project in the top bar (after creating one from the dialog, when
  // MAAS_NEW_PROJECT names it: in the first hub listed).
  const picker = page.locator('#project-select');
  await picker.waitFor();
  const newProject = process.env.MAAS_NEW_PROJECT || '';
  if (newProject) {
    await picker.selectOption('+new');
    await page.getByLabel('Project name').fill(newProject);
    await page.getByRole('button', { name: 'Create' }).click();
    await page.locator(`#project-select option[value="${newProject}"]`).waitFor({ state: 'attached', timeout: 15000 });
    if (await picker.inputValue() !== newProject) fail(`new project ${newProject} is not selected`);
  }
  if (await picker.evaluate((el) => el.tagName) === 'SELECT') await picker.selectOption(project);
  else { await picker.fill(project); await picker.press('Enter'); }
  await page.getByRole('link', { name: 'Endpoints' }).click();
  await page.locator('.page-title', { hasText: 'Serverless endpoints' }).waitFor();

  if (createModel) {
    endpoint = `e2e-web-${Date.now().toString(36)}`;
    await page.getByRole('button', { name: 'New endpoint' }).first().click();
    const option = page.getByLabel('Model').locator(`option[value="${createModel}"]`);
    await option.waitFor({ state: 'attached' });
    if (await option.isDisabled()) fail(`model ${createModel} cannot be deployed here: ${await option.textContent()}`);
    await page.getByLabel('Model').selectOption(createModel);
    await page.getByLabel('Endpoint name').fill(endpoint);
    await shot('create-dialog');
    await page.getByRole('button', { name: 'Deploy' }).click();
    const row = page.locator('tr', { hasText: endpoint });
    await row.locator('.badge', { hasText: /^(Succeeded|Failed)$/ }).first().waitFor({ timeout: 120000 });
    if (await row.locator('.badge', { hasText: 'Failed' }).count()) fail(`endpoint ${endpoint} failed: ${await row.textContent()}`);
  }
  const row = page.locator('tr', { hasText: endpoint });
  await row.waitFor({ timeout: 15000 });
  await shot('endpoints');

  // Keys: two 32-character keys, revealed on demand.
  await row.getByRole('button', { name: 'Keys' }).click();
  const primary = page.getByLabel('Primary key', { exact: true });
  await primary.waitFor();
  if (await primary.getAttribute('type') !== 'password') fail('keys are not masked');
  const key = await primary.inputValue();
  if (key.length !== 32) fail(`primary key has ${key.length} characters, want 32`);
  await shot('keys');
  await page.keyboard.press('Escape');

  // Playground: stream a reply and check the stats line.
  await row.getByRole('button', { name: 'Try it' }).click();
  await page.locator('.page-title', { hasText: 'Chat playground' }).waitFor();
  await page.getByText(/^Model: /).waitFor({ timeout: 15000 });
  await page.getByLabel('Max tokens').fill('16');
  await page.getByLabel('Message').fill('Say hello in five words.');
  await page.getByRole('button', { name: 'Send' }).click();
  await page.locator('.stat-k', { hasText: 'completion tokens' }).waitFor({ timeout: chatTimeout });
  const errors = await page.locator('.bubble-error').count();
  if (errors) fail(`chat failed: ${await page.locator('.bubble-error').first().textContent()}`);
  const answer = (await page.locator('.bubble-assistant .bubble-text').last().textContent()) || '';
  const stats = (await page.locator('.stats').textContent()) || '';
  console.log(`answer: ${JSON.stringify(answer)}\nstats: ${stats}`);
  if (!answer.trim()) fail('empty answer');
  for (const want of ['time to first token', 'prompt tokens', 'completion tokens', 'cost']) {
    if (!stats.includes(want)) fail(`stats lack "${want}": ${stats}`);
  }
  await shot('playground');

  // Usage page shows the endpoint.
  await page.getByRole('link', { name: 'Usage' }).click();
  // The ledger writes usage in batches: refresh until the endpoint's row shows.
  const usageRow = page.locator('td', { hasText: endpoint }).first();
  for (let i = 0; ; i++) {
    try {
      await usageRow.waitFor({ timeout: 1000 });
      break;
    } catch (err) {
      if (i >= 20) fail(`usage has no row for ${endpoint} after ${i} refreshes`);
      await page.getByRole('button', { name: 'Refresh' }).click();
    }
  }
  await shot('usage');
  const [download] = await Promise.all([
    page.waitForEvent('download', { timeout: 15000 }),
    page.getByRole('button', { name: 'Download CSV' }).click(),
  ]);
  const csv = readFileSync(await download.path(), 'utf8');
  const [header, ...lines] = csv.trim().split(/\r?\n/);
  if (!/^endpoint,requests,/.test(header)) fail(`CSV header: ${header}`);
  if (!lines.some((l) => l.startsWith(`${endpoint},`))) fail(`CSV lacks a row for ${endpoint}:\n${csv}`);
  console.log(`csv: ${download.suggestedFilename()} with ${lines.length} rows`);

  if (problems.length) fail(problems.join('\n'));
  console.log('ok: web playground end to end');
} finally {
  await browser.close();
}
