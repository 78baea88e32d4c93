import { test, expect, type Page } from '@playwright/test';
import { login, waitForHydration } from './fixtures';

// Every main page at a phone width and a laptop width, light and dark: no horizontal
// overflow, the main controls visible, and a screenshot kept for people to look at
// (end2end/test-results/screens/).

const WIDTHS = [375, 1280];
const SCHEMES = ['light', 'dark'] as const;

async function noHorizontalOverflow(page: Page) {
  const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
  expect(overflow, 'the page is not wider than the screen').toBeLessThanOrEqual(1);
}

for (const width of WIDTHS) {
  for (const scheme of SCHEMES) {
    test(`login, chat and admin views at ${width}px, ${scheme}`, async ({ page }) => {
      await page.setViewportSize({ width, height: 800 });
      await page.emulateMedia({ colorScheme: scheme });
      const shot = (name: string) =>
        page.screenshot({ path: `test-results/screens/${name}-${width}-${scheme}.png`, fullPage: false });

      await page.goto('/login');
      await waitForHydration(page);
      await expect(page.getByTestId('login-submit')).toBeVisible();
      await noHorizontalOverflow(page);
      await shot('login');

      await login(page);
      await expect(page.getByTestId('composer-input')).toBeVisible();
      await page.getByTestId('composer-input').fill(`[sim echo] ## Resumen\n\n- **Consumo**: 420 kWh\n\n\`\`\`sql\nselect 1;\n\`\`\``);
      await page.getByTestId('composer-send').click();
      await expect(page.locator('.markdown h2').last()).toBeVisible({ timeout: 15_000 });
      await noHorizontalOverflow(page);
      await shot('chat');
      const chatUrl = page.url();

      // The conversation's settings panel.
      await page.getByTestId('settings-toggle').click();
      await expect(page.getByTestId('settings-panel')).toBeVisible();
      await expect(page.getByTestId('settings-model').locator('option[value="llama3.2:1b"]')).toHaveCount(1);
      await noHorizontalOverflow(page);
      await shot('chat-settings');
      await page.getByTestId('settings-toggle').click();
      await expect(page.getByTestId('settings-panel')).toBeHidden();

      if (width < 720) {
        // On a phone the conversations fold away behind a button.
        const list = page.getByTestId('conversation-list');
        await expect(list).toBeHidden();
        await page.getByTestId('sidebar-toggle').click();
        await expect(list).toBeVisible();
        await shot('chat-sidebar');
        await page.getByTestId('conversation-item').first().click();
        await expect(list).toBeHidden();
      }

      for (const view of ['users', 'conversations', 'usage', 'api-keys', 'audit', 'backends']) {
        await page.goto(`/admin/${view}`);
        await waitForHydration(page);
        await expect(page.getByTestId('admin-layout')).toBeVisible();
        await shot(`admin-${view}`);
      }

      // The same chat in English.
      // (The short-lived access token of the test server may have expired by now: the page
      // then restores the session and loads again, so wait for the chat itself.)
      await page.goto('/');
      await expect(page.getByTestId('new-chat')).toBeVisible();
      await waitForHydration(page);
      const chooseLanguage = async (lang: string) => {
        // On a phone the picker sits with the folded conversations.
        if (width < 720) await page.getByTestId('sidebar-toggle').click();
        await page.getByTestId('language-picker').selectOption(lang);
        await expect(page.locator('html')).toHaveAttribute('lang', lang);
        await waitForHydration(page);
      };
      await chooseLanguage('en');
      await waitForHydration(page);
      await page.goto(chatUrl);
      await waitForHydration(page);
      await expect(page.locator('.markdown h2').last()).toBeVisible({ timeout: 15_000 });
      await noHorizontalOverflow(page);
      await shot('chat-en');
      await chooseLanguage('es');
    });
  }
}
