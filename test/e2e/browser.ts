/** The browser every e2e test drives: Debian's chromium, headless, WebGL on SwiftShader (no GPU here). */
import { chromium, type BrowserContext } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export function launchChromium(userDataDir: string, viewport: { width: number; height: number }): Promise<BrowserContext> {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    viewport,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      // WebGL without a GPU: ANGLE on SwiftShader's software Vulkan.
      '--use-angle=swiftshader',
      '--enable-unsafe-swiftshader',
    ],
  });
}
