import { defineConfig } from '@playwright/test';

// End-to-end tests for energyapp-llm.
//
// The browser is the system Chromium (Debian's /usr/bin/chromium): Playwright's
// own browser download (`npx playwright install`) is not available on our
// machines. Override with E2E_CHROMIUM if it lives elsewhere.
//
// Unless E2E_BASE_URL is set, Playwright starts the already-built server via
// ../scripts/e2e-server.sh (demo mode, fresh SQLite DB, bootstrap admin) on
// 127.0.0.1:3100 and waits for /health.

const CHROMIUM = process.env.E2E_CHROMIUM ?? '/usr/bin/chromium';
const externalBaseURL = process.env.E2E_BASE_URL;
const baseURL = externalBaseURL ?? 'http://127.0.0.1:3100';
const isCI = !!process.env.CI;

export default defineConfig({
  testDir: 'tests',
  fullyParallel: false,
  workers: 1,
  forbidOnly: isCI,
  retries: isCI ? 1 : 0,
  reporter: 'list',
  timeout: 60_000,
  expect: { timeout: 10_000 },
  use: {
    baseURL,
    trace: 'retain-on-failure',
  },
  projects: [
    {
      name: 'chromium',
      use: {
        browserName: 'chromium',
        launchOptions: {
          executablePath: CHROMIUM,
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
        },
      },
    },
  ],
  webServer: externalBaseURL
    ? undefined
    : {
        command: 'bash ../scripts/e2e-server.sh',
        url: 'http://127.0.0.1:3100/health',
        reuseExistingServer: false,
        timeout: 120_000,
        stdout: 'pipe',
        stderr: 'pipe',
      },
});
