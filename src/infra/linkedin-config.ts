import { DEFAULT_LINKEDIN_VERSION, type ResolvedConfig } from '../config.js';
import type { LinkedInWorkerConfig } from '../jobs/processors/linkedin.js';
import type { LinkedInSettings } from '../providers/linkedin.js';
import { SecretBox } from './secret-box.js';

/** What the HTTP app needs for the LinkedIn connect flow, health and settings. */
export interface LinkedInAppConfig {
  settings: LinkedInSettings;
  clientId: string | undefined;
  clientSecret: string | undefined;
  envAccessToken: string | undefined;
  envOrganizationId: string | undefined;
  /** Encrypts the tokens at rest and signs the OAuth state (key from APP_SECRET). */
  secretBox: SecretBox;
}

export function linkedinSettings(config: Pick<ResolvedConfig, 'linkedin'>): LinkedInSettings {
  return {
    apiBaseUrl: config.linkedin.apiBaseUrl,
    oauthBaseUrl: config.linkedin.oauthBaseUrl,
    version: config.linkedin.version,
  };
}

export function linkedinAppConfig(
  config: Pick<ResolvedConfig, 'linkedin' | 'appSecret' | 'previousAppSecrets'>,
): LinkedInAppConfig {
  return {
    settings: linkedinSettings(config),
    clientId: config.linkedin.clientId,
    clientSecret: config.linkedin.clientSecret,
    envAccessToken: config.linkedin.accessToken,
    envOrganizationId: config.linkedin.organizationId,
    secretBox: new SecretBox([config.appSecret, ...config.previousAppSecrets]),
  };
}

/** What `linkedinHealth` (domain/linkedin.ts) needs, from the app's LinkedIn configuration if any. */
export function linkedinHealthConfig(linkedin: LinkedInAppConfig | undefined) {
  return {
    version: linkedin?.settings.version ?? DEFAULT_LINKEDIN_VERSION,
    envAccessToken: linkedin?.envAccessToken,
    envOrganizationId: linkedin?.envOrganizationId,
  };
}

export function linkedinWorkerConfig(
  config: Pick<ResolvedConfig, 'linkedin' | 'appSecret' | 'previousAppSecrets' | 'nodeEnv'>,
): LinkedInWorkerConfig {
  const app = linkedinAppConfig(config);
  return {
    settings: app.settings,
    envAccessToken: app.envAccessToken,
    envOrganizationId: app.envOrganizationId,
    oauthApp:
      app.clientId && app.clientSecret
        ? { clientId: app.clientId, clientSecret: app.clientSecret }
        : undefined,
    secretBox: app.secretBox,
    // The local fake servers of the test suite run on 127.0.0.1; nowhere else is that allowed.
    allowPrivateImageHosts: config.nodeEnv === 'test',
  };
}
