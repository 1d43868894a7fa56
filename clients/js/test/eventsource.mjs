// The README's native-EventSource recipe in Debian's chromium (driven by playwright-core),
// next to a plain EventSource left to reconnect on its own, across a server restart.
// Usage: node test/eventsource.mjs <page-url> <server-url> <token> <collection> <recipe.js>
// Prints one JSON line once both have the first change, then waits for a line
// "restarted" on stdin and prints one JSON line with what each got afterwards.
import { readFile } from 'node:fs/promises';
import { createInterface } from 'node:readline';
import { launchChromium } from './chromium.mjs';

const [pageUrl, baseUrl, token, collection, recipeFile] = process.argv.slice(2);
const input = createInterface({ input: process.stdin });
const lines = input[Symbol.asyncIterator]();
const browser = await launchChromium();
const logs = [];
try {
  const page = await browser.newPage();
  page.on('console', (message) => logs.push(`${message.type()}: ${message.text()}`));
  page.on('pageerror', (error) => logs.push(`pageerror: ${error.message}`));
  await page.goto(pageUrl);
  await page.addScriptTag({ content: await readFile(recipeFile, 'utf8') });
  await page.evaluate(
    async ([base, token, collection]) => {
      window.recipe = [];
      window.followChanges(base, token, collection, (change) => window.recipe.push(change.seq));
      // The same stream with a ticket, left to EventSource's own reconnect.
      window.naive = [];
      const answer = await fetch(`${base}/v1/auth/ticket`, {
        method: 'POST',
        headers: { Authorization: `Bearer ${token}` },
      });
      const { ticket } = await answer.json();
      const query = new URLSearchParams({ collection, since: '0', ticket });
      window.naiveSource = new EventSource(`${base}/v1/stream?${query}`);
      window.naiveSource.addEventListener('change', (event) =>
        window.naive.push(JSON.parse(event.data).seq),
      );
    },
    [baseUrl, token, collection],
  );
  await page.waitForFunction(() => window.recipe.length >= 1 && window.naive.length >= 1, null, {
    timeout: 20_000,
  });
  console.log(JSON.stringify(await page.evaluate(() => ({ recipe: window.recipe, naive: window.naive }))));
  const { value } = await lines.next();
  if (value !== 'restarted') throw new Error(`expected "restarted", got ${value}`);
  await page.waitForFunction(() => window.recipe.length >= 2, null, { timeout: 30_000 });
  // Long enough for the plain EventSource's own retry (retry: 2000) to have run.
  await page.waitForTimeout(5_000);
  console.log(
    JSON.stringify(
      await page.evaluate(() => ({
        recipe: window.recipe,
        naive: window.naive,
        naiveState: window.naiveSource.readyState,
      })),
    ),
  );
} catch (error) {
  console.log(JSON.stringify({ error: String(error), logs }));
  process.exitCode = 1;
} finally {
  input.close();
  await browser.close();
}
